"""Differentially private twins from OpenDP measurements (select, measure, generate).

Every contact with the real data is an OpenDP measurement (``synth.dp.measure``); cut
points and categories come from the public schema (``synth.dp.domain``), the pairs to
measure from public information (``synth.dp.plan``), and rows are generated from the
noisy marginals alone (``synth.dp.generate``), which is post-processing.
"""

from synth.dp.plan import DP_SYNTHESIZERS, DPPlan, make_plan
from synth.dp.synthesizer import DPMarginals

__all__ = ["DP_SYNTHESIZERS", "DPMarginals", "DPPlan", "make_plan"]
