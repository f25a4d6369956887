"""From a validated query to Polars plans: the DP plan that OpenDP releases, and the same
computation done exactly (for the free preview on a twin).

Both share one preparation, so the twin preview and the DP answer estimate the same thing:

* **Rows.** Filters are applied first. Rows whose statistic column is null (or NaN) are
  left out of every statistic on that column, as Polars' own ``sum``/``mean``/``quantile``
  leave them out; a ``count`` with a column counts its non-null rows. Rows with a null in
  a filtered column never pass the filter.
* **Clamping.** Numeric values are clipped to the query's bounds (or the policy's), so a
  DP sum or mean estimates the sum or mean of the *clamped* values.
* **Groups.** Keys come from the policy, joined onto the aggregate (OpenDP's
  ``with_keys``): every public category gets a row, even one the data does not have, so
  no answer reveals that a category is absent, and no delta is spent on key selection.
* **Histograms.** Numeric columns are cut on public cut points after clamping, so values
  beyond the bounds land in the first or last bin.

DP sums run on integers. OpenDP charges float sums for the rounding error a sum of up to
``max_length`` floats can make, which at a public ``max_length`` of a billion rows costs
hundreds of times the noise; integer sums are exact. Floats are therefore scaled by a
power of two, truncated to integers, summed, and scaled back: the resolution is about
``bound * 2**-32`` (for bounds of ±2,000,000, about 0.0005), and the truncation changes a
sum by less than one resolution step per row. A mean sums values centred on the bounds'
midpoint, which halves the noise when the bounds are far from zero.

OpenDP needs a public upper bound on the rows of a table (``Margin.max_length``):
:data:`MAX_ROWS`. The engine refuses to open a table with more rows than that.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

import numpy as np
import opendp.prelude as dp
import polars as pl

from lab.policies.model import ColumnPolicy
from lab.vault.query_spec import EPSILON_DECIMAL_PLACES, ValidatedQuery, category_kind

#: Public upper bound on the rows of any table the vault serves (OpenDP's ``max_length``).
MAX_ROWS = 1_000_000_000
#: Most candidates a quantile chooses among (the grid over the bounds).
MAX_QUANTILE_CANDIDATES = 1001
_SUM_LIMIT = 2**62  # |integer bound| * MAX_ROWS must stay below this (OpenDP refuses overflow)
_PRICE_QUANTUM = Decimal(1).scaleb(-EPSILON_DECIMAL_PLACES)

COUNT, SUM, QUANTILE = "_count", "_sum", "_quantile"


@dataclass(frozen=True)
class DPPlan:
    """A query as a Polars plan over OpenDP's ``.dp`` expressions, with how to read its output.

    Attributes:
        plan: the plan, built on an empty frame with the table's schema.
        outputs: names of the released columns (``_count``, ``_sum``, ``_quantile``).
        sum_scale: released ``_sum`` values are the (centred) sum times this factor.
        sum_offset: for a mean, the midpoint the summed values were centred on.
        candidates: for a quantile, the grid the released value is chosen from.
    """

    plan: pl.LazyFrame
    outputs: tuple[str, ...]
    sum_scale: float = 1.0
    sum_offset: float = 0.0
    candidates: tuple[float, ...] = ()


def polars_dtype(column: ColumnPolicy) -> pl.DataType:
    """The type a column has in the vault's frames, from its policy (never from the file)."""
    if column.type == "integer":
        return pl.Int64()
    if column.type == "float":
        return pl.Float64()
    if column.type == "boolean":
        return pl.Boolean()
    if column.type == "date":
        return pl.Date()
    if column.type == "datetime":
        return pl.Datetime("us")
    if column.type == "categorical":
        return {"string": pl.String(), "integer": pl.Int64(), "boolean": pl.Boolean()}[category_kind(column)]
    return pl.String()


def typed_frame(frame: pl.LazyFrame, columns: dict[str, ColumnPolicy], strict: bool = True) -> pl.LazyFrame:
    """The queryable columns of a table, cast to their policy types."""
    return frame.select([pl.col(name).cast(polars_dtype(column), strict=strict) for name, column in columns.items()])


def key_frame(query: ValidatedQuery) -> pl.LazyFrame | None:
    """Every combination of the query's public keys, in the policy's order (None without grouping)."""
    if not query.by:
        return None
    dtypes = [pl.String() if query.bins is not None and group.column == query.column else _key_dtype(group.keys)
              for group in query.by]
    rows = list(itertools.product(*(group.keys for group in query.by)))
    return pl.LazyFrame(rows, schema={g.column: t for g, t in zip(query.by, dtypes)}, orient="row")


def prepare(frame: pl.LazyFrame, query: ValidatedQuery) -> pl.LazyFrame:
    """Filters, null exclusion and histogram binning: the rows every statistic is computed on."""
    conditions = [_filter_expr(f.column, f.column_type, f.op, f.values) for f in query.filters]
    if query.column is not None:
        conditions.append(pl.col(query.column).is_not_null())
        if query.column_type == "float":
            conditions.append(pl.col(query.column).is_not_nan())
    if conditions:
        frame = frame.filter(functools.reduce(operator.and_, conditions))
    if query.bins is not None:
        lower, upper = query.bins.edges[0], query.bins.edges[-1]
        binned = (pl.col(query.column).cast(pl.Float64).clip(lower, upper)
                  .cut(list(query.bins.edges[1:-1]), labels=list(query.bins.labels), left_closed=True)
                  .cast(pl.String).alias(query.column))
        frame = frame.with_columns(binned)
    return frame


def dp_plan(empty: pl.LazyFrame, query: ValidatedQuery) -> DPPlan:
    """The OpenDP plan of a query, on an empty frame with the table's schema."""
    frame = prepare(empty, query)
    statistic = query.statistic
    if statistic in ("count", "histogram"):
        aggs, outputs, extra = [dp.len(signed=True).alias(COUNT)], (COUNT,), {}
    elif statistic in ("sum", "mean"):
        center = statistic == "mean"
        value, bounds, scale, offset = _integer_values(query, center=center)
        aggs = [value.dp.sum(bounds).alias(SUM)]
        outputs = (SUM,)
        if center:
            aggs.append(dp.len(signed=True).alias(COUNT))
            outputs = (SUM, COUNT)
        extra = {"sum_scale": scale, "sum_offset": offset}
    else:
        candidates = quantile_candidates(query)
        value = pl.col(query.column)
        aggs = [value.dp.quantile(query.q, list(candidates)).alias(QUANTILE)]
        outputs, extra = (QUANTILE,), {"candidates": candidates}
    keys = key_frame(query)
    if keys is None:
        plan = frame.select(aggs)
    else:
        plan = keys.join(frame.group_by([g.column for g in query.by]).agg(aggs),
                         on=[g.column for g in query.by], how="left", nulls_equal=True)
    return DPPlan(plan=plan, outputs=outputs, **extra)


def exact_plan(frame: pl.LazyFrame, query: ValidatedQuery) -> pl.LazyFrame:
    """The same statistic computed exactly with Polars (no noise): the twin preview."""
    frame = prepare(frame, query)
    statistic = query.statistic
    if statistic in ("count", "histogram"):
        agg = pl.len().alias(COUNT)
    elif statistic in ("sum", "mean"):
        lower, upper = query.bounds
        value = pl.col(query.column).cast(pl.Float64).clip(lower, upper)
        agg = (value.sum() if statistic == "sum" else value.mean()).alias(SUM)
    else:
        agg = pl.col(query.column).quantile(query.q, interpolation="nearest").alias(QUANTILE)
    keys = key_frame(query)
    if keys is None:
        return frame.select(agg)
    columns = [g.column for g in query.by]
    joined = keys.join(frame.group_by(columns).agg(agg), on=columns, how="left", nulls_equal=True)
    return joined.with_columns(pl.col(COUNT).fill_null(0)) if statistic in ("count", "histogram") else \
        joined.with_columns(pl.col(SUM).fill_null(0.0)) if statistic == "sum" else joined


def quantile_candidates(query: ValidatedQuery) -> tuple[float, ...]:
    """The public grid a DP quantile picks from: every integer of the bounds when there are
    at most :data:`MAX_QUANTILE_CANDIDATES`, else that many evenly spaced points."""
    lower, upper = query.bounds
    if query.column_type == "integer":
        if upper - lower < MAX_QUANTILE_CANDIDATES:
            return tuple(range(int(lower), int(upper) + 1))
        return tuple(int(v) for v in np.unique(np.round(np.linspace(lower, upper, MAX_QUANTILE_CANDIDATES))))
    return tuple(float(v) for v in np.unique(np.linspace(lower, upper, MAX_QUANTILE_CANDIDATES)))


def quantile_fraction(q: float) -> tuple[int, int]:
    """The fraction ``num/den`` OpenDP 0.16 scores a ``q``-quantile with, at ``MAX_ROWS``.

    OpenDP uses the exact binary fraction of ``q`` when its denominator is small enough for
    ``max_length * den`` to fit 64 bits, else ``den = (2**64 - 1) // max_length``.
    """
    exact = Fraction(q)
    limit = (2**64 - 1) // MAX_ROWS
    if exact.denominator < limit:
        return exact.numerator, exact.denominator
    return round(q * limit), limit


def make_measurement(domain: dp.Domain, plan: pl.LazyFrame, scale: float) -> dp.Measurement:
    """OpenDP's measurement of a plan with a given noise scale (pure DP, symmetric distance)."""
    return dp.m.make_private_lazyframe(domain, dp.symmetric_distance(), dp.max_divergence(), plan,
                                       global_scale=scale)


def calibrate(domain: dp.Domain, plan: pl.LazyFrame, d_in: int, target: float) -> tuple[dp.Measurement, float]:
    """The measurement whose privacy loss is as close to ``target`` as possible without exceeding it.

    Every mechanism the engine uses has a loss inversely proportional to the noise scale,
    so one probe at scale 1 gives the scale; float rounding may leave the loss one ulp
    above the target, which a few tiny nudges of the scale remove. (``query.resolve()``
    finds the same scale by binary search, about a hundred times slower.)

    Returns:
        The measurement and its loss, as OpenDP's map reports it for ``d_in``.
    """
    scale = make_measurement(domain, plan, 1.0).map(d_in) / target
    for attempt in range(48):
        measurement = make_measurement(domain, plan, scale)
        loss = measurement.map(d_in)
        if loss <= target:
            return measurement, loss
        scale *= 1 + 2.0 ** (attempt - 52)  # a few ulps first, more if that was not enough
    raise ArithmeticError("could not calibrate the noise scale to the requested epsilon")


def float_at_most(value: Decimal) -> float:
    """The largest float not above ``value``: the budget OpenDP may use without overspending."""
    result = float(value)
    if Decimal(result) > value:
        result = math.nextafter(result, -math.inf)
    return result


def decimal_at_least(value: float) -> Decimal:
    """A float privacy loss as a Decimal, rounded *up* to the ledger's 12 places."""
    return Decimal(value).quantize(_PRICE_QUANTUM, rounding=ROUND_CEILING)


def _integer_values(query: ValidatedQuery, center: bool) -> tuple[pl.Expr, tuple[int, int], float, float]:
    """The summed column as integers: (expression, integer bounds, scale, offset)."""
    lower, upper = query.bounds
    column = pl.col(query.column)
    if query.column_type == "boolean":
        offset = 0.5 if center else 0.0
        if not center:
            return column.cast(pl.Int64).fill_null(0), (0, 1), 1.0, 0.0
        # Centred booleans are -1/+1 halves: scale 2 keeps them integers.
        return column.cast(pl.Int64).fill_null(0) * 2 - 1, (-1, 1), 2.0, offset
    offset = (lower + upper) / 2 if center else 0.0
    low, high = lower - offset, upper - offset
    magnitude = max(abs(low), abs(high))
    scale = 2.0 ** math.floor(math.log2(_SUM_LIMIT / (magnitude * MAX_ROWS)))
    if query.column_type == "integer" and not center and scale >= 1:
        return column.fill_null(int(lower)).clip(int(lower), int(upper)), (int(lower), int(upper)), 1.0, 0.0
    if query.column_type == "integer" and center and scale >= 2 and (lower + upper) % 2 == 0:
        # Integer bounds with an integer midpoint: centred integers are still integers.
        value = column.fill_null(int(lower)).clip(int(lower), int(upper)) - int(offset)
        return value, (int(low), int(high)), 1.0, offset
    clipped = column.cast(pl.Float64).fill_null(lower).fill_nan(lower).clip(lower, upper)
    value = ((clipped - offset) * scale).cast(pl.Int64) if center else (clipped * scale).cast(pl.Int64)
    return value, (math.trunc(low * scale), math.trunc(high * scale)), scale, offset


def _filter_expr(column: str, column_type: str, op: str, values: Sequence[object]) -> pl.Expr:
    target = pl.col(column)
    if column_type == "date":
        target = target.cast(pl.Int32)  # days since 1970-01-01: OpenDP has no date literals
    elif column_type == "datetime":
        target = target.cast(pl.Int64)  # microseconds since 1970-01-01
    if op == "in":  # OpenDP 0.16 has no is_in: equalities, or-ed as a balanced tree
        return _any([target == v for v in values])
    value = values[0]
    return {"==": target == value, "!=": target != value, "<": target < value, "<=": target <= value,
            ">": target > value, ">=": target >= value}[op]


def _any(conditions: list[pl.Expr]) -> pl.Expr:
    """``c0 | c1 | ...`` as a balanced tree: a left-deep chain of 1,000 terms held a mask per
    level while it ran (hundreds of MB on a million rows); a tree of depth ~10 holds few."""
    while len(conditions) > 1:
        pairs = [a | b for a, b in zip(conditions[::2], conditions[1::2])]
        conditions = pairs + ([conditions[-1]] if len(conditions) % 2 else [])
    return conditions[0]


def _key_dtype(keys: Sequence[object]) -> pl.DataType:
    present = [k for k in keys if k is not None]
    if present and all(isinstance(k, bool) for k in present):
        return pl.Boolean()
    if present and all(isinstance(k, int) and not isinstance(k, bool) for k in present):
        return pl.Int64()
    return pl.String()

