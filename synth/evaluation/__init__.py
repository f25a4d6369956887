"""How good and how safe a twin is: fidelity, empirical privacy, utility."""

from synth.evaluation.results import Evaluation, FidelityResult, PrivacyResult, QualityResult, UtilityResult

__all__ = ["Evaluation", "FidelityResult", "PrivacyResult", "QualityResult", "UtilityResult"]
