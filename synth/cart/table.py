"""The sequential-tree synthesizer for one table (synthpop's ``cart`` method).

Columns are visited in order. The first is drawn from its real values; each next one from
the leaf of a tree fitted on the columns before it (synth.cart.leaves). Given a *context*
(columns that are not synthesized here but known for every row, such as a person's
household), every tree also sees the context, which is how related tables are built
(synth.cart.dataset).

    >>> import pandas as pd
    >>> from synth.schema import ColumnSchema, TableSchema
    >>> table = TableSchema("people", (ColumnSchema("age", "integer", bounds=(0, 120)),
    ...                                ColumnSchema("sex", "categorical", categories=("f", "m"))))
    >>> real = pd.DataFrame({"age": [30, 41, 52, 63] * 25, "sex": ["f", "m"] * 50})
    >>> model = CARTSynthesizer(table, seed=1).fit(real)
    >>> twin = model.sample(10, seed=7)
    >>> list(twin.columns), len(twin)
    (['age', 'sex'], 10)
    >>> model.sample(10, seed=7).equals(twin)
    True

A fitted model holds real values in its leaves: it is as sensitive as the data and is
saved only inside the vault (``save`` writes a file only its owner can read).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from synth.cart.columns import ColumnCodec
from synth.cart.leaves import LeafSampler
from synth.cart.storage import load_model, save_model
from synth.errors import SynthesisError
from synth.schema import ColumnSchema, TableSchema

#: The fewest real rows a leaf holds. synthpop uses 5 (rpart's minbucket); 25 met every privacy target
#: of the fidelity benchmark on public tables (copies below chance, DCR protection >= 0.9) at
#: no cost in fidelity (docs/twins.md).
DEFAULT_MIN_LEAF = 25
#: Trees learn their partition on at most this many rows; every row is still a donor.
DEFAULT_MAX_FIT_ROWS = 200_000
#: Rounds of redrawing rows that reproduce a real unique row before leaving them out.
_UNIQUE_ROUNDS = 25


class CARTSynthesizer:
    """Sequential classification and regression trees, fitted column by column.

    Args:
        table: the public schema of the table; its modelled, non-key columns are synthesized.
        visit_order: the order columns are drawn in (all modelled non-key columns, each once);
            default: see ``default_visit_order``.
        min_leaf: the fewest real rows a leaf may hold (disclosure control; larger means
            fewer near-copies and a coarser twin).
        smoothing: smooth numeric values that fewer than ``min_leaf`` real rows share.
        protect_uniques: redraw any twin row that equals a real row unique in the training data.
        max_fit_rows: rows each tree learns its partition from (all rows stay donors).
        seed: seeds the trees' tie-breaking and the sampling default.
        verbose: show a progress bar per column.
    """

    def __init__(self, table: TableSchema, *, visit_order: Sequence[str] | None = None,
                 min_leaf: int = DEFAULT_MIN_LEAF, smoothing: bool = True, protect_uniques: bool = True,
                 max_fit_rows: int | None = DEFAULT_MAX_FIT_ROWS, seed: int = 0, verbose: bool = False) -> None:
        if not isinstance(min_leaf, int) or min_leaf < 1:
            raise SynthesisError(f"min_leaf must be a whole number of at least 1, not {min_leaf!r}. "
                                 f"Fix: set synthesis.parameters.min_leaf (default {DEFAULT_MIN_LEAF}).")
        self.table = table
        self.columns = _synthesized_columns(table)
        self.visit_order = check_visit_order(visit_order, [c.name for c in self.columns], table.name) \
            if visit_order is not None else default_visit_order(self.columns)
        self.min_leaf = min_leaf
        self.smoothing = smoothing
        self.protect_uniques = protect_uniques
        self.max_fit_rows = max_fit_rows
        self.seed = seed
        self.verbose = verbose
        self._codecs = {c.name: ColumnCodec(c) for c in self.columns}
        self._samplers: list[LeafSampler] = []
        self._context_columns: tuple[str, ...] = ()
        self._unique_rows = np.empty(0, dtype=np.uint64)
        self._fitted_rows = 0
        self._redrawn = 0
        #: What the last sample did about real unique rows: rows redrawn, rows left out.
        self.last_sampling: dict[str, int] = {}

    # ----------------------------------------------------------------- fit
    def fit(self, data: pd.DataFrame, context: np.ndarray | None = None) -> CARTSynthesizer:
        """Learn one tree per column from the real rows.

        Args:
            data: the real table (its modelled columns; other columns are ignored).
            context: optional float matrix, one row per row of ``data``, of known predictors.

        Raises:
            SynthesisError: too few rows for the minimum leaf, a column missing from the data,
                a column with no value at all, or a category outside the policy's list.
        """
        if len(data) < 2 * self.min_leaf:
            raise SynthesisError(
                f"table '{self.table.name}' has fewer training rows than twice the minimum leaf size "
                f"(min_leaf = {self.min_leaf}): every leaf would be a handful of real people. "
                "Fix: provide more rows, or lower synthesis.parameters.min_leaf.")
        codes = self._encode(data)
        context = _as_context(context, len(data))
        self._context_columns = tuple(f"context_{i}" for i in range(context.shape[1]))
        self._samplers = []
        bar = tqdm(self.visit_order, desc=f"fit {self.table.name}", unit="column", disable=not self.verbose)
        for position, name in enumerate(bar):
            predictors = np.hstack([context, codes[:, :position]]) if position or context.shape[1] else None
            sampler = LeafSampler(categorical=self._codecs[name].is_categorical, min_leaf=self.min_leaf,
                                  smoothing=self.smoothing and self._codecs[name].is_smoothable,
                                  seed=self.seed + position, max_fit_rows=self.max_fit_rows,
                                  bounds=self._codecs[name].encoded_bounds())
            self._samplers.append(sampler.fit(predictors, codes[:, position]))
        bar.close()
        self._unique_rows = _unique_row_hashes(codes) if self.protect_uniques else np.empty(0, dtype=np.uint64)
        self._fitted_rows = len(data)
        return self

    # -------------------------------------------------------------- sample
    def sample(self, num_rows: int | None = None, *, seed: int | None = None) -> pd.DataFrame:
        """Draw a twin of ``num_rows`` rows (default: as many as were fitted), reproducibly."""
        rows = self._fitted_rows if num_rows is None else num_rows
        frame, _ = self.sample_for_context(_as_context(None, rows), seed=seed)
        return frame

    def sample_for_context(self, context: np.ndarray, *, seed: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
        """One row per context row, and which context rows got one.

        A row that still reproduces a real unique row after every redraw is left out when
        the row has a context (a person of a given household); without a context it is
        replaced by a fresh row, so the count holds.
        """
        if not self._samplers and self.visit_order:
            raise SynthesisError("the synthesizer is not fitted. Fix: call fit() before sample().")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        context = _as_context(context, len(context))
        codes, kept = self._draw_protected(context, rng)
        self.last_sampling = {"rows": len(context), "redrawn": self._redrawn, "left_out": len(context) - len(kept)}
        if context.shape[1] == 0 and len(kept) < len(context):
            extra, _ = self.sample_for_context(context[: len(context) - len(kept)], seed=int(rng.integers(2**32)))
            return pd.concat([self._decode(codes), extra], ignore_index=True), np.arange(len(context))
        return self._decode(codes), kept

    def _draw(self, context: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        codes = np.empty((len(context), len(self.visit_order)), dtype=np.float64)
        for position, sampler in enumerate(self._samplers):
            predictors = np.hstack([context, codes[:, :position]])
            codes[:, position] = sampler.sample(predictors, rng)
        return codes

    def _draw_protected(self, context: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw rows, redrawing those that reproduce a real row unique in the training data
        (synthpop's ``rm.replicated.uniques``, but redrawing rather than removing)."""
        codes = self._draw(context, rng)
        self._redrawn = 0
        if not len(self._unique_rows):
            return codes, np.arange(len(codes))
        pending = np.flatnonzero(self._replicates_unique(codes))
        self._redrawn = len(pending)
        for _ in range(_UNIQUE_ROUNDS):
            if not len(pending):
                break
            codes[pending] = self._draw(context[pending], rng)
            pending = pending[self._replicates_unique(codes[pending])]
        kept = np.setdiff1d(np.arange(len(codes)), pending)
        return codes[kept], kept

    def _replicates_unique(self, codes: np.ndarray) -> np.ndarray:
        return np.isin(_row_hashes(self._finished_codes(codes)), self._unique_rows)

    # ------------------------------------------------------------- helpers
    def _encode(self, data: pd.DataFrame) -> np.ndarray:
        missing = [name for name in self.visit_order if name not in data.columns]
        if missing:
            raise SynthesisError(f"table '{self.table.name}' has no column(s) {', '.join(missing)}. "
                                 "Fix: check the policy's column names against the data.")
        codes = np.column_stack([self._codecs[name].encode(data[name]) for name in self.visit_order]) \
            if self.visit_order else np.empty((len(data), 0))
        empty = [name for i, name in enumerate(self.visit_order) if np.isnan(codes[:, i]).all()]
        if empty:
            raise SynthesisError(
                f"table '{self.table.name}': column(s) {', '.join(empty)} have no value in any training row, so "
                "there is nothing to learn. Fix: remove them from the policy, or mark them `identifier: drop`.")
        return codes

    def _finished_codes(self, codes: np.ndarray) -> np.ndarray:
        """Codes as the twin will hold them (rounded, within bounds), for comparing with real rows."""
        return np.column_stack([self._codecs[name].encode(self._codecs[name].decode(codes[:, i]))
                                for i, name in enumerate(self.visit_order)]) if self.visit_order else codes

    def _decode(self, codes: np.ndarray) -> pd.DataFrame:
        decoded = {name: self._codecs[name].decode(codes[:, i]) for i, name in enumerate(self.visit_order)}
        return pd.DataFrame({c.name: decoded[c.name] for c in self.columns}, index=pd.RangeIndex(len(codes)))

    # ------------------------------------------------------------ save/load
    def save(self, path: str | Path) -> None:
        """Write the fitted model, readable by its owner only (it holds real values)."""
        save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> CARTSynthesizer:
        """Read what ``save`` wrote: only ever a file the vault wrote itself (it is a pickle)."""
        return load_model(cls, path)

    def get_parameters(self) -> dict[str, Any]:
        """The settings, as SDV's synthesizers report theirs."""
        return {"visit_order": list(self.visit_order), "min_leaf": self.min_leaf, "smoothing": self.smoothing,
                "protect_uniques": self.protect_uniques, "max_fit_rows": self.max_fit_rows, "seed": self.seed}


def default_visit_order(columns: Sequence[ColumnSchema]) -> list[str]:
    """Categories first, fewest levels first, then numbers and dates in policy order.

    Coarse columns drawn early give later trees a good context to split on; a column
    drawn first comes from its marginal alone, which is exact for a category.
    """
    categorical = [c for c in columns if c.kind in ("categorical", "boolean")]
    other = [c for c in columns if c.kind not in ("categorical", "boolean")]
    categorical.sort(key=lambda c: len(c.categories or ("False", "True")))
    return [c.name for c in categorical + other]


def check_visit_order(order: Sequence[str], columns: Sequence[str], table: str) -> list[str]:
    """The visit order as a list, or a SynthesisError that names missing, repeated and unknown columns."""
    order = list(order)
    problems = []
    unknown = [name for name in order if name not in columns]
    repeated = sorted({name for name in order if order.count(name) > 1})
    absent = [name for name in columns if name not in order]
    if unknown:
        problems.append(f"names columns that are not modelled: {', '.join(unknown)}")
    if repeated:
        problems.append(f"repeats {', '.join(repeated)}")
    if absent:
        problems.append(f"misses {', '.join(absent)}")
    if problems:
        raise SynthesisError(f"the visit order of table '{table}' " + "; ".join(problems) +
                             f". Fix: list each of these columns exactly once: {', '.join(columns)}.")
    return order


def _synthesized_columns(table: TableSchema) -> list[ColumnSchema]:
    return [c for c in table.modelled_columns if c.kind not in ("id", "text")]


def _as_context(context: np.ndarray | None, rows: int) -> np.ndarray:
    if context is None:
        return np.empty((rows, 0), dtype=np.float64)
    return np.asarray(context, dtype=np.float64).reshape(rows, -1)


def _row_hashes(codes: np.ndarray) -> np.ndarray:
    filled = np.where(np.isnan(codes), -1.0e300, codes)
    return pd.util.hash_pandas_object(pd.DataFrame(filled), index=False).to_numpy()


def _unique_row_hashes(codes: np.ndarray) -> np.ndarray:
    hashes = _row_hashes(codes)
    values, counts = np.unique(hashes, return_counts=True)
    return values[counts == 1]
