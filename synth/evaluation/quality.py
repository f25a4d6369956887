"""Fidelity: SDMetrics' quality report (column shapes, pair trends, and for related
tables cardinality and inter-table trends), on a stated sample."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from sdv.evaluation import evaluate_quality
from sdv.metadata import Metadata
from sdv.utils import get_random_subset

from synth.evaluation.results import QualityResult
from synth.schema import DatasetSchema


def measure_quality(real: dict[str, pd.DataFrame], twin: dict[str, pd.DataFrame], metadata: Metadata,
                    schema: DatasetSchema, main_table: str, max_rows: int, seed: int) -> QualityResult:
    """Score a twin's fidelity with SDMetrics on at most ``max_rows`` rows of the main table.

    Tables larger than ``max_rows`` are sampled (related tables by whole parent rows, so
    that cardinality stays true); the sample size is recorded in the result.
    """
    real_sample = _subset(real, metadata, schema, main_table, max_rows, seed)
    twin_sample = _subset(twin, metadata, schema, main_table, max_rows, seed + 1)
    report = evaluate_quality(real_sample, twin_sample, metadata, verbose=False)
    properties = {
        str(row["Property"]): _number(row["Score"]) for _, row in report.get_properties().iterrows()
    }
    available = [v for v in properties.values() if v is not None]
    score = sum(available) / len(available) if available else None
    note = ""
    if properties.get("Column Pair Trends") is None:
        note = ("Column pair trends could not be scored (SDMetrics returns no score when no pair of "
                "columns is strongly correlated); the overall score averages the other properties.")
    return QualityResult(
        score=score,
        properties=properties,
        column_shapes=_records(report.get_details("Column Shapes")),
        pair_trends=_records(report.get_details("Column Pair Trends")),
        rows_compared=len(real_sample[main_table]),
        note=note,
    )


def _subset(tables: dict[str, pd.DataFrame], metadata: Metadata, schema: DatasetSchema, main_table: str,
            max_rows: int, seed: int) -> dict[str, pd.DataFrame]:
    modelled = {name: frame[[c.name for c in schema.table(name).modelled_columns]] for name, frame in tables.items()}
    if len(modelled[main_table]) <= max_rows:
        return modelled
    if len(modelled) == 1:
        return {main_table: modelled[main_table].sample(n=max_rows, random_state=seed)}
    import numpy as np

    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        return get_random_subset(modelled, metadata, main_table, max_rows, verbose=False)
    finally:
        np.random.set_state(state)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records = []
    for row in frame.to_dict(orient="records"):
        records.append({str(k): (_number(v) if isinstance(v, float) else v) for k, v in row.items()})
    return records
