"""Turn sampled rows into a twin: public bounds, clean types, fresh keys, fake identifiers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.identifiers import add_fake_identifiers
from synth.schema import ColumnSchema, DatasetSchema, TableSchema


def finish_twin(sampled: dict[str, pd.DataFrame], schema: DatasetSchema,
                real: dict[str, pd.DataFrame] | None, seed: int) -> dict[str, pd.DataFrame]:
    """Apply the public schema to sampled tables.

    Numbers and dates are clipped to the policy's bounds (never to the real extremes),
    integers rounded, keys renumbered 1..n (so no real key value survives) with foreign
    keys following, and fake identifiers added.
    """
    twin = {name: _apply_types(sampled[name].reset_index(drop=True), schema.table(name)) for name in sampled}
    renumber_keys(twin, schema)
    for offset, table in enumerate(schema.tables):
        real_table = real.get(table.name) if real is not None else None
        twin[table.name] = add_fake_identifiers(twin[table.name], table, real_table, seed + 7919 * offset)
    return twin


def _apply_types(frame: pd.DataFrame, table: TableSchema) -> pd.DataFrame:
    out = frame.copy()
    for column in table.modelled_columns:
        if column.name in out:
            out[column.name] = _typed(out[column.name], column)
    return out


def _typed(series: pd.Series, column: ColumnSchema) -> pd.Series:
    if column.is_numeric and column.bounds is not None:
        values = pd.to_numeric(series, errors="coerce").astype("float64").clip(*column.bounds)
        if column.kind == "integer":
            values = np.round(values)
            return values.astype("Int64") if values.isna().any() else values.astype("int64")
        return values
    if column.is_temporal and column.bounds is not None:
        lower, upper = (pd.Timestamp(b) for b in column.bounds)
        stamps = pd.to_datetime(series, errors="coerce").astype("datetime64[ns]").clip(lower, upper)
        return stamps.dt.normalize() if column.kind == "date" else stamps
    if column.kind == "boolean":
        return series.astype("boolean")
    if column.kind == "categorical":
        return series.astype(object)
    return series


def renumber_keys(twin: dict[str, pd.DataFrame], schema: DatasetSchema) -> None:
    """Keys 1..n in every table, foreign keys following (no real key value survives)."""
    mappings: dict[str, dict[object, int]] = {}
    for table in schema.tables:
        if table.primary_key is None or table.name not in twin:
            continue
        old = twin[table.name][table.primary_key]
        mappings[table.name] = dict(zip(old, range(1, len(old) + 1)))
        twin[table.name][table.primary_key] = np.arange(1, len(old) + 1, dtype="int64")
    for rel in schema.relationships:
        if rel.child in twin and rel.parent in mappings:
            mapped = twin[rel.child][rel.child_key].map(mappings[rel.parent])
            twin[rel.child][rel.child_key] = mapped.astype("Int64" if mapped.isna().any() else "int64")
