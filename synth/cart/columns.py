"""How one column looks to the trees: numbers in, the column's own values out.

Trees split on numbers, so every column gets a numeric code: categories (and booleans) by
their position in the policy's public list, numbers as themselves, dates as days and
datetimes as seconds since 1970. Missing values are NaN, which scikit-learn's trees route
as a state of their own. Decoding turns codes drawn from a leaf back into the column's
type, rounded and kept within the policy's public bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth.errors import SynthesisError
from synth.schema import ColumnSchema

_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")
_UNIT_SECONDS = {"date": 86_400.0, "datetime": 1.0}


@dataclass(frozen=True)
class ColumnCodec:
    """Encodes one modelled column as float codes and decodes codes back to values."""

    column: ColumnSchema

    @property
    def name(self) -> str:
        return self.column.name

    @property
    def is_categorical(self) -> bool:
        return self.column.kind in ("categorical", "boolean")

    @property
    def is_smoothable(self) -> bool:
        """Continuous values can be smoothed; categories, booleans and dates of one day cannot be."""
        return self.column.kind in ("integer", "float", "date", "datetime")

    @property
    def levels(self) -> tuple[str, ...]:
        """The public category list (booleans: False, True)."""
        if self.column.kind == "boolean":
            return ("False", "True")
        return tuple(self.column.categories or ())

    def encode(self, values: pd.Series) -> np.ndarray:
        """Float codes, NaN for missing.

        Raises:
            SynthesisError: a category outside the policy's public list (names the column, never the value).
        """
        kind = self.column.kind
        if self.is_categorical:
            return self._encode_categories(values)
        if kind in _UNIT_SECONDS:
            stamps = pd.to_datetime(values, errors="coerce").to_numpy(dtype="datetime64[ns]")
            seconds = (stamps - _EPOCH).astype("timedelta64[s]").astype("float64")
            seconds[np.isnat(stamps)] = np.nan
            return seconds / _UNIT_SECONDS[kind]
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    def decode(self, codes: np.ndarray) -> pd.Series:
        """Values of the column's type from float codes (NaN → missing)."""
        kind = self.column.kind
        missing = np.isnan(codes)
        if self.is_categorical:
            levels = np.array(self.levels, dtype=object)
            out = np.empty(len(codes), dtype=object)
            out[~missing] = levels[codes[~missing].astype(np.int64)]
            out[missing] = None
            if kind == "boolean":
                return pd.Series(out, name=self.name).map({"True": True, "False": False}).astype("boolean")
            return pd.Series(out, name=self.name, dtype=object)
        codes = self._within_bounds(codes)
        if kind in _UNIT_SECONDS:
            whole = np.round(codes) if kind == "date" else np.round(codes, 6)
            seconds = np.where(missing, 0, whole * _UNIT_SECONDS[kind]).astype(np.int64)
            stamps = _EPOCH + seconds.astype("timedelta64[s]").astype("timedelta64[ns]")
            stamps[missing] = np.datetime64("NaT")
            return pd.Series(stamps, name=self.name)
        if kind == "integer":
            rounded = np.round(codes)
            if missing.any():
                return pd.Series(pd.array(np.where(missing, 0, rounded).astype(np.int64), dtype="Int64"),
                                 name=self.name).mask(missing)
            return pd.Series(rounded.astype(np.int64), name=self.name)
        return pd.Series(codes, name=self.name, dtype="float64")

    def _encode_categories(self, values: pd.Series) -> np.ndarray:
        levels = self.levels
        as_text = values.astype(object).where(values.notna(), None)
        as_text = as_text.map(lambda v: None if v is None else str(v))
        codes = as_text.map({level: float(i) for i, level in enumerate(levels)})
        unknown = as_text.notna() & codes.isna()
        if unknown.any():
            raise SynthesisError(
                f"column '{self.name}' holds {int(unknown.sum())} values outside the policy's category list. "
                "Fix: add the missing categories to the policy (from public knowledge) or correct the data.")
        return codes.to_numpy(dtype="float64", na_value=np.nan)

    def encoded_bounds(self) -> tuple[float, float] | None:
        """The policy's public bounds as codes (None for categories or unbounded columns)."""
        if self.column.bounds is None or self.is_categorical:
            return None
        lower, upper = (float(self.encode(pd.Series([bound]))[0]) for bound in self.column.bounds)
        return lower, upper

    def _within_bounds(self, codes: np.ndarray) -> np.ndarray:
        bounds = self.encoded_bounds()
        return codes if bounds is None else np.clip(codes, *bounds)
