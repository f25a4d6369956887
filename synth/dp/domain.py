"""Public discretisation: cut points from the policy's bounds, categories from the policy.

Nothing here reads the real data to decide a bin or a category. Values are mapped to
cell indices row by row (a stable, per-row map that does not change privacy loss);
the counting itself is done by OpenDP (synth.dp.measure).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth.errors import SynthesisError
from synth.schema import ColumnSchema

_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class Domain:
    """How one column is discretised.

    Attributes:
        column: the public column schema.
        edges: bin edges (numeric and temporal columns; numbers, or nanoseconds since the epoch).
        categories: the public categories (categorical and boolean columns).
        has_null: one extra cell (the last) for missing values.
    """

    column: ColumnSchema
    edges: tuple[float, ...] | None
    categories: tuple[object, ...] | None
    has_null: bool

    @property
    def size(self) -> int:
        values = len(self.edges) - 1 if self.edges is not None else len(self.categories or ())
        return values + (1 if self.has_null else 0)

    def encode(self, series: pd.Series) -> np.ndarray:
        """Cell index of each value (a per-row map; values outside the public set fall in the nearest cell)."""
        null_cell = self.size - 1
        if self.edges is not None:
            values = as_number(series, self.column)
            inner = np.asarray(self.edges[1:-1], dtype="float64")
            cells = np.searchsorted(inner, np.nan_to_num(values, nan=self.edges[0]), side="right")
            missing = np.isnan(values)
        else:
            lookup = {str(c): i for i, c in enumerate(self.categories or ())}
            missing = series.isna().to_numpy()
            cells = np.array([lookup.get(str(v), 0) for v in series.astype(object)], dtype="int64")
        if self.has_null:
            cells = np.where(missing, null_cell, cells)
        return cells.astype("int64")

    def decode(self, cells: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Values for cell indices: uniform within a bin for numbers and dates, the category otherwise."""
        missing = cells == self.size - 1 if self.has_null else np.zeros(len(cells), dtype=bool)
        if self.edges is not None:
            edges = np.asarray(self.edges, dtype="float64")
            safe = np.minimum(cells, len(edges) - 2)
            values = edges[safe] + rng.random(len(cells)) * (edges[safe + 1] - edges[safe])
            values[missing] = np.nan
            return values_as_column(values, self.column)
        categories = np.array(list(self.categories or ()) + [None], dtype=object)
        out = categories[np.where(missing, len(categories) - 1, np.minimum(cells, len(categories) - 2))]
        if self.column.kind == "boolean":
            return pd.Series([None if v is None else str(v).lower() in ("true", "1") for v in out], dtype="boolean")
        return pd.Series(out, dtype=object)


def column_domain(column: ColumnSchema, bins: int) -> Domain:
    """The public discretisation of a modelled column.

    Raises:
        SynthesisError: a numeric or temporal column has no public bounds, or a categorical
            column no public categories (they would have to be read from the data).
    """
    if column.is_numeric or column.is_temporal:
        if column.bounds is None:
            raise SynthesisError(f"column '{column.name}' ({column.kind}) has no public bounds, and a DP twin may "
                                 "not read them from the data. Fix: give the column bounds: [lower, upper] in "
                                 "the policy.")
        lower, upper = (bound_number(b, column) for b in column.bounds)
        if not upper > lower:
            raise SynthesisError(f"column '{column.name}' has empty bounds {column.bounds}. Fix: lower < upper.")
        if column.kind == "integer":
            # Whole integers per bin (edges on half-integers), so rounding a decoded value never
            # moves it to the next bin: at most `bins` bins of ceil(values / bins) integers each.
            width = math.ceil((math.floor(upper) - math.ceil(lower) + 1) / bins)
            edges = np.append(np.arange(math.ceil(lower) - 0.5, math.floor(upper) + 0.5, width), math.floor(upper) + 0.5)
        else:
            edges = np.linspace(lower, upper, bins + 1)
        return Domain(column, tuple(float(e) for e in edges), None, column.nullable)
    if column.kind == "boolean":
        return Domain(column, None, (False, True), column.nullable)
    if column.kind == "categorical":
        if not column.categories:
            raise SynthesisError(f"column '{column.name}' has no public categories, and a DP twin may not read "
                                 "them from the data. Fix: list categories: in the policy.")
        return Domain(column, None, tuple(column.categories), column.nullable)
    raise SynthesisError(f"column '{column.name}' of type {column.kind} cannot be modelled by a DP twin. "
                         "Fix: mark it as an identifier (drop or fake) or use an id type.")


def values_as_column(values: np.ndarray, column: ColumnSchema) -> pd.Series:
    """Decoded numbers as the column holds them: dates and datetimes from nanoseconds, else floats."""
    if column.is_temporal:
        stamps = pd.to_datetime(pd.Series(values).round(), unit="ns")
        return stamps.dt.normalize() if column.kind == "date" else stamps
    return pd.Series(values)


def bound_number(value: object, column: ColumnSchema) -> float:
    if column.is_temporal:
        return float(pd.Timestamp(value).value)  # type: ignore[arg-type]
    return float(value)  # type: ignore[arg-type]


def as_number(series: pd.Series, column: ColumnSchema) -> np.ndarray:
    if column.is_temporal:
        stamps = pd.to_datetime(series, errors="coerce").astype("datetime64[ns]")
        values = stamps.astype("int64").to_numpy().astype("float64")
        values[stamps.isna().to_numpy()] = np.nan
        return values
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()


__all__ = ["Domain", "as_number", "bound_number", "column_domain", "dt", "values_as_column"]
