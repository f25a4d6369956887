"""Cells chosen under DP: where to cut a number, and which categories deserve their own cell.

Equal-width bins over public bounds fail on real columns: a money column whose typical
value is 0 and whose bound is 100,000 puts nearly everyone in one bin. Cut points must not
be read from the data either. So each such column is first counted, with OpenDP noise from a
small declared share of the budget, on a fine *public* grid (linear, plus logarithmic for
wide non-negative ranges, plus a cell for exactly 0); the noisy counts then decide, as
post-processing:

- the bins: contiguous runs of fine cells holding about equal noisy mass;
- a point mass: 0 keeps a cell of its own when its noisy share is large enough;
- the shape within each bin: decoding picks a fine cell by its noisy count, then a value
  uniformly within it, so values are not piled at bin edges;
- for a categorical column with many levels, which levels are frequent enough to keep
  apart; the rest share one cell and are decoded by their own noisy counts.

The fine grid depends only on the policy's bounds and categories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth.dp.domain import Domain, as_number, bound_number, values_as_column
from synth.schema import ColumnSchema

#: Cells of the fine grid (each of its linear and logarithmic parts).
FINE_CELLS = 64
#: A point mass keeps its own cell when its noisy share of the column is at least this.
POINT_MASS_SHARE = 0.02
_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class FineGrid:
    """A public grid over a numeric or temporal column: [point mass] + value cells [+ missing]."""

    column: ColumnSchema
    edges: tuple[float, ...]
    point_mass: float | None
    has_null: bool

    @property
    def offset(self) -> int:
        return 1 if self.point_mass is not None else 0

    @property
    def value_cells(self) -> int:
        return len(self.edges) - 1

    @property
    def size(self) -> int:
        return self.offset + self.value_cells + (1 if self.has_null else 0)

    def encode(self, series: pd.Series) -> np.ndarray:
        """Fine cell of each value (a per-row map)."""
        values = as_number(series, self.column)
        missing = np.isnan(values)
        inner = np.asarray(self.edges[1:-1], dtype="float64")
        cells = np.searchsorted(inner, np.nan_to_num(values, nan=self.edges[0]), side="right") + self.offset
        if self.point_mass is not None:
            cells = np.where(values == self.point_mass, 0, cells)
        if self.has_null:
            cells = np.where(missing, self.size - 1, cells)
        return cells.astype("int64")


def fine_grid(column: ColumnSchema) -> FineGrid:
    """The public fine grid of a bounded numeric or temporal column."""
    lower, upper = (bound_number(b, column) for b in column.bounds)  # type: ignore[union-attr]
    if column.is_temporal:
        step = _NS_PER_DAY if column.kind == "date" else 1.0
        edges = np.linspace(lower, upper + step, FINE_CELLS + 1)
        if column.kind == "date":  # whole days per cell
            edges = np.unique(np.round((edges - lower) / _NS_PER_DAY) * _NS_PER_DAY + lower)
        return FineGrid(column, tuple(float(e) for e in edges), None, column.nullable)
    point_mass = 0.0 if lower <= 0 <= upper else None
    if column.kind == "integer":
        low, high = math.ceil(lower), math.floor(upper)
        if high - low + 1 <= 2 * FINE_CELLS:  # one cell per whole number
            edges = np.arange(low - 0.5, high + 1.0, 1.0)
        else:
            edges = np.unique(np.floor(_mixed_edges(low, high)) + 0.5)
            edges = np.unique(np.concatenate([[low - 0.5], edges[(edges > low) & (edges < high)], [high + 0.5]]))
    else:
        edges = _mixed_edges(lower, upper)
    return FineGrid(column, tuple(float(e) for e in edges), point_mass, column.nullable)


def _mixed_edges(lower: float, upper: float) -> np.ndarray:
    """Linear cells, plus logarithmic ones when a non-negative range spans many orders of magnitude."""
    edges = np.linspace(lower, upper, FINE_CELLS + 1)
    if lower >= 0 and upper >= 1000 * max(lower, 1.0):
        start = max(lower, upper * 1e-5, 1.0)
        edges = np.concatenate([edges, np.geomspace(start, upper, FINE_CELLS + 1)])
    return np.unique(edges)


@dataclass(frozen=True)
class BinnedDomain:
    """Bins of a numeric or temporal column chosen from noisy fine counts.

    Cells: [point mass, if kept] + one per bin [+ missing]. ``groups`` are (start, stop)
    ranges of the grid's value cells; ``weights`` are the clipped noisy fine counts.
    """

    grid: FineGrid
    groups: tuple[tuple[int, int], ...]
    keeps_point_mass: bool
    weights: tuple[float, ...]

    @property
    def column(self) -> ColumnSchema:
        return self.grid.column

    @property
    def has_null(self) -> bool:
        return self.grid.has_null

    @property
    def edges(self) -> tuple[float, ...]:
        """Bin edges (for readers that want the cut points)."""
        grid = self.grid.edges
        return tuple(grid[start] for start, _ in self.groups) + (grid[self.groups[-1][1]],)

    @property
    def size(self) -> int:
        return int(self.keeps_point_mass) + len(self.groups) + (1 if self.has_null else 0)

    def encode(self, series: pd.Series) -> np.ndarray:
        fine = self.grid.encode(series)
        return self._merged_cell()[fine]

    def decode(self, cells: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """A fine cell by its noisy weight within the bin, then a value uniformly within it."""
        grid, offset = self.grid, int(self.keeps_point_mass)
        edges = np.asarray(grid.edges, dtype="float64")
        weights = np.asarray(self.weights, dtype="float64")
        values = np.full(len(cells), np.nan)
        if self.keeps_point_mass:
            values[cells == 0] = grid.point_mass
        for group, (start, stop) in enumerate(self.groups):
            where = np.flatnonzero(cells == group + offset)
            if not len(where):
                continue
            within = weights[grid.offset + start: grid.offset + stop]
            p = within / within.sum() if within.sum() > 0 else np.full(stop - start, 1.0 / (stop - start))
            fine = start + rng.choice(stop - start, size=len(where), p=p)
            values[where] = edges[fine] + rng.random(len(where)) * (edges[fine + 1] - edges[fine])
        return _typed(values, self.column)

    def _merged_cell(self) -> np.ndarray:
        """Fine cell → merged cell (a point mass not kept joins the bin that holds its value)."""
        grid, offset = self.grid, int(self.keeps_point_mass)
        table = np.zeros(grid.size, dtype="int64")
        for group, (start, stop) in enumerate(self.groups):
            table[grid.offset + start: grid.offset + stop] = group + offset
        if grid.point_mass is not None:
            if self.keeps_point_mass:
                table[0] = 0
            else:
                holder = int(np.searchsorted(np.asarray(grid.edges[1:-1]), grid.point_mass, side="right"))
                table[0] = table[grid.offset + holder]
        if grid.has_null:
            table[-1] = self.size - 1
        return table


def binned_domain(grid: FineGrid, noisy: np.ndarray, bins: int) -> BinnedDomain:
    """Bins of about equal noisy mass (post-processing of the fine counts)."""
    counts = np.clip(np.asarray(noisy, dtype="float64"), 0, None)
    values = counts[grid.offset: grid.offset + grid.value_cells]
    total = values.sum() + (counts[0] if grid.point_mass is not None else 0.0)
    keeps = grid.point_mass is not None and total > 0 and counts[0] / total >= POINT_MASS_SHARE
    if not keeps and grid.point_mass is not None:
        holder = int(np.searchsorted(np.asarray(grid.edges[1:-1]), grid.point_mass, side="right"))
        values = values.copy()
        values[holder] += counts[0]
    groups = _equal_mass_groups(values, bins)
    return BinnedDomain(grid, groups, bool(keeps), tuple(float(c) for c in counts))


def _equal_mass_groups(values: np.ndarray, bins: int) -> tuple[tuple[int, int], ...]:
    cells = len(values)
    if cells <= bins:
        return tuple((i, i + 1) for i in range(cells))
    total = values.sum()
    if total <= 0:
        cuts = np.linspace(0, cells, bins + 1).round().astype(int)
        return tuple((int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:]) if b > a)
    cumulative = np.cumsum(values) / total
    targets = np.arange(1, bins) / bins
    cuts = np.unique(np.clip(np.searchsorted(cumulative, targets, side="left") + 1, 1, cells - 1))
    bounds = [0, *cuts.tolist(), cells]
    return tuple((a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a)


@dataclass(frozen=True)
class GroupedDomain:
    """A categorical column whose rare levels share one cell, chosen from noisy level counts.

    Cells: one per group [+ missing]; ``weights`` are the clipped noisy counts per level.
    """

    levels: Domain
    groups: tuple[tuple[int, ...], ...]
    weights: tuple[float, ...]

    @property
    def column(self) -> ColumnSchema:
        return self.levels.column

    @property
    def has_null(self) -> bool:
        return self.levels.has_null

    @property
    def categories(self) -> tuple[object, ...] | None:
        return self.levels.categories

    @property
    def edges(self) -> None:
        return None

    @property
    def size(self) -> int:
        return len(self.groups) + (1 if self.has_null else 0)

    def encode(self, series: pd.Series) -> np.ndarray:
        table = np.zeros(self.levels.size, dtype="int64")
        for group, members in enumerate(self.groups):
            table[list(members)] = group
        if self.has_null:
            table[-1] = self.size - 1
        return table[self.levels.encode(series)]

    def decode(self, cells: np.ndarray, rng: np.random.Generator) -> pd.Series:
        level_cells = np.full(len(cells), self.levels.size - 1 if self.has_null else 0, dtype="int64")
        weights = np.asarray(self.weights, dtype="float64")
        for group, members in enumerate(self.groups):
            where = np.flatnonzero(cells == group)
            if not len(where):
                continue
            within = weights[list(members)]
            p = within / within.sum() if within.sum() > 0 else np.full(len(members), 1.0 / len(members))
            level_cells[where] = np.asarray(members)[rng.choice(len(members), size=len(where), p=p)]
        return self.levels.decode(level_cells, rng)


def grouped_domain(levels: Domain, noisy: np.ndarray, max_levels: int) -> GroupedDomain:
    """The ``max_levels - 1`` levels with the largest noisy counts apart, the rest together."""
    count = len(levels.categories or ())
    counts = np.clip(np.asarray(noisy, dtype="float64")[:count], 0, None)
    order = np.argsort(-counts, kind="stable")
    frequent = sorted(order[: max_levels - 1].tolist())
    rest = tuple(sorted(order[max_levels - 1:].tolist()))
    groups = tuple((i,) for i in frequent) + ((rest,) if rest else ())
    return GroupedDomain(levels, groups, tuple(float(c) for c in np.clip(noisy, 0, None)))


def policy_cut_domain(column: ColumnSchema, cuts: list[object]) -> Domain:
    """Bins at the data owner's public cut points (tax bands, benefit rates), used exactly.

    A cut ``c`` starts a new bin at ``c``; for integers the edge sits at ``c - 0.5`` so
    every bin holds whole numbers.
    """
    lower, upper = (bound_number(b, column) for b in column.bounds)  # type: ignore[union-attr]
    points = sorted(bound_number(c, column) for c in cuts)
    if column.kind == "integer":
        lower, upper = math.ceil(lower) - 0.5, math.floor(upper) + 0.5
        points = [p - 0.5 for p in points]
    inner = [p for p in points if lower < p < upper]
    return Domain(column, tuple(float(e) for e in [lower, *inner, upper]), None, column.nullable)


def _typed(values: np.ndarray, column: ColumnSchema) -> pd.Series:
    """As the column holds them; integers whole, since their fine cells hold whole numbers."""
    return pd.Series(np.round(values)) if column.kind == "integer" else values_as_column(values, column)
