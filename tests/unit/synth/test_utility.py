"""Train-on-twin, test-on-real utility (synth.evaluation.utility)."""

from __future__ import annotations

import pandas as pd

from synth.evaluation.utility import measure_utility
from synth.schema import DatasetSchema


def test_a_twin_holding_a_class_once_is_still_scored(schema: DatasetSchema, claims: pd.DataFrame) -> None:
    # A small DP twin can hold one category a single time; early stopping's stratified
    # validation split needs two of each, so that fit runs without it.
    train, holdout = claims.iloc[:1100], claims.iloc[1100:]
    twin = claims.iloc[:400].copy()
    twin["benefit_type"] = "pip"
    twin.iloc[0, twin.columns.get_loc("benefit_type")] = "jsa"
    result = measure_utility(train, holdout, twin, schema.tables[0], "benefit_type", 2000, 7)
    assert 0 <= result.twin_score <= 1 and result.real_score > result.twin_score
    assert result.test_rows == len(holdout.dropna(subset=["benefit_type"]))
