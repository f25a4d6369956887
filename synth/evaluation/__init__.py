"""How good and how safe a twin is: fidelity, empirical privacy, utility."""

from synth.evaluation.results import Evaluation, PrivacyResult, QualityResult, UtilityResult

__all__ = ["Evaluation", "PrivacyResult", "QualityResult", "UtilityResult"]
