"""Differentially private twins from OpenDP measurements (select, measure, generate).

Every contact with the real data is an OpenDP measurement (``synth.dp.measure``): the
1-way marginals, the MST-style choice of pairs, the pairs' 2-way marginals. Cut points and
categories come from the public schema (``synth.dp.domain``); the plan and its price from
public information (``synth.dp.plan``, ``synth.dp.loss``); rows are generated from the
noisy marginals alone, made consistent by Private-PGM (``synth.dp.estimate``,
``synth.dp.generate``), which is post-processing.
"""

from synth.dp.plan import DPPlan, make_plan
from synth.dp.synthesizer import DPMarginals
from synth.spec import DP_SYNTHESIZERS

__all__ = ["DP_SYNTHESIZERS", "DPMarginals", "DPPlan", "make_plan"]
