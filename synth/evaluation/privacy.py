"""Empirical privacy checks: exact copies, distance to closest record, identifier leaks.

These measure what a twin gives away; they are not a formal guarantee (only a
differentially private twin has one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sdmetrics.single_table import DCROverfittingProtection

from synth.evaluation.results import PrivacyResult
from synth.identifiers import SINGLING_OUT_PROVIDERS
from synth.metadata import metadata_dict
from synth.schema import DatasetSchema, TableSchema

#: DCR compares every twin row with every real row: quadratic, so it runs on a sample.
DCR_MAX_ROWS = 3000


def measure_privacy(train: pd.DataFrame, holdout: pd.DataFrame, twin: pd.DataFrame, real_full: pd.DataFrame,
                    schema: DatasetSchema, table: str, seed: int) -> PrivacyResult:
    """Privacy checks of one table of a twin.

    Args:
        train: the real rows the synthesizer learned from.
        holdout: real rows it never saw, from the same population.
        twin: the finished twin table (with fake identifiers).
        real_full: the real table with its identifiers, for the leak check.
    """
    table_schema = schema.table(table)
    columns = _compared_columns(table_schema)
    copies = _exact_copies(train[columns], twin[columns])
    # Unseen real rows that equal a training row: how often copies happen by chance alone
    # (common profiles, few columns). Only copies beyond that count against the twin.
    chance = _exact_copies(train[columns], holdout[columns]) / len(holdout) if len(holdout) else 0.0
    rate = copies / len(twin) if len(twin) else 0.0
    dcr, closer, dcr_rows = _dcr(train[columns], holdout[columns], twin[columns], schema, table, seed)
    leak_columns = [c.name for c in table_schema.columns
                    if c.identifier == "fake" and c.fake_as in SINGLING_OUT_PROVIDERS]
    leaks = sum(int(twin[c].dropna().astype(str).isin(set(real_full[c].dropna().astype(str))).sum())
                for c in leak_columns)
    dropped = [c.name for c in table_schema.columns if c.identifier == "drop"]
    leaks += sum(len(twin) for c in dropped if c in twin.columns)  # a dropped column must not be there at all
    return PrivacyResult(
        exact_copy_rate=rate,
        exact_copies=copies,
        chance_copy_rate=chance,
        excess_copy_rate=max(0.0, rate - chance),
        twin_rows_checked=len(twin),
        dcr_protection=dcr,
        dcr_closer_to_training=closer,
        dcr_rows=dcr_rows,
        identifier_leaks=leaks,
        identifier_columns_checked=leak_columns + dropped,
        dropped_identifiers=dropped,
        table=table,
    )


def _compared_columns(table: TableSchema) -> list[str]:
    """Modelled columns other than keys: keys are renumbered in a twin, so never match."""
    return [c.name for c in table.modelled_columns if c.kind != "id"]


def _exact_copies(train: pd.DataFrame, twin: pd.DataFrame) -> int:
    """Twin rows equal in every compared column to some training row."""
    if not len(train.columns):
        return 0
    train_hashes = set(pd.util.hash_pandas_object(_canonical(train), index=False).to_numpy())
    twin_hashes = pd.util.hash_pandas_object(_canonical(twin), index=False).to_numpy()
    return int(np.isin(twin_hashes, np.fromiter(train_hashes, dtype=np.uint64)).sum())


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    # Integers may be int64 in one frame and Int64 in the other; compare values, not dtypes.
    out = {}
    for name, series in frame.items():
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            out[name] = series.astype("float64")
        else:
            out[name] = series.astype(str)
    return pd.DataFrame(out)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """NumPy dtypes for SDMetrics: nullable integers as floats, nullable booleans as objects."""
    out = frame.copy()
    for name, series in out.items():
        if isinstance(series.dtype, pd.Int64Dtype):
            out[name] = series.astype("float64")
        elif isinstance(series.dtype, pd.BooleanDtype):
            out[name] = series.astype(object).where(series.notna(), None)
    return out


def _dcr(train: pd.DataFrame, holdout: pd.DataFrame, twin: pd.DataFrame, schema: DatasetSchema, table: str,
         seed: int) -> tuple[float | None, float | None, int]:
    rows = min(DCR_MAX_ROWS, len(train), len(holdout), len(twin))
    if rows < 10 or not len(train.columns):
        return None, None, 0
    table_metadata = metadata_dict(schema)["tables"][table]
    columns = {name: spec for name, spec in table_metadata["columns"].items() if name in train.columns}
    result = DCROverfittingProtection.compute_breakdown(
        real_training_data=_plain(train.sample(n=rows, random_state=seed)),
        synthetic_data=_plain(twin.sample(n=rows, random_state=seed + 1)),
        real_validation_data=_plain(holdout.sample(n=rows, random_state=seed + 2)),
        metadata={"columns": columns},
        table_name=None,
    )
    closer = result.get("synthetic_data_percentages", {}).get("closer_to_training")
    score = result.get("score")
    return (None if score is None or np.isnan(score) else float(score),
            None if closer is None else float(closer), rows)
