"""What the vault answers: noisy values with confidence intervals, read from an OpenDP release.

Intervals, statistic by statistic (``alpha = 1 - confidence``):

* **count, histogram, sum**: OpenDP's own accuracy (``summarize(alpha=...)``) for its
  integer Laplace noise: ``value ± accuracy`` holds the true value with at least the
  stated confidence. It holds for each value on its own, not for all groups at once. A
  count's interval is cut at zero; the value itself is left as released (it may be
  negative: clipping it would bias it).
* **mean**: derived. OpenDP releases a noisy sum and a noisy count; their accuracies at
  ``alpha / 2`` each hold together with at least the stated confidence (union bound), and
  the interval is the range of ``sum / count`` over both, cut to the bounds. It is
  conservative, and it covers the mean of the *clamped* values. If the noisy count is not
  positive, the value is ``None`` and the interval is the bounds.
* **median, quantile**: OpenDP 0.16 states no accuracy for quantiles (its exponential
  mechanism picks a candidate; there is no ``value ± error``). A value interval would need
  the data, so there is none. What can be said is about rank: with at least the stated
  confidence, the released candidate is at most ``rank_error`` rows further from the true
  quantile's rank than the best candidate of the grid (the exponential mechanism's
  utility bound, ``scale * ln(candidates / alpha)``, in OpenDP's score units converted to
  rows). Each answer's ``notes`` carry this.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from lab.vault.dp_plan import COUNT, QUANTILE, SUM, DPPlan, quantile_fraction
from lab.vault.query_spec import Key, ValidatedQuery


@dataclass(frozen=True)
class Estimate:
    """One released value: the whole table's, or one group's.

    Attributes:
        key: the group's key values, in the order of ``Answer.group_by`` (empty without grouping).
        value: the noisy value (``None`` for a mean whose noisy count is not positive).
        lower, upper: the confidence interval (``None`` for quantiles: see the module docs).
    """

    key: tuple[Key, ...]
    value: float | int | None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class Answer:
    """The vault's answer to one query.

    Attributes:
        dataset, statistic, column: what was asked.
        group_by: the columns of each row's key (a histogram's column last).
        rows: one estimate, or one per combination of public keys, in the policy's order.
        confidence: the level of the intervals.
        epsilon: the privacy loss spent (zero for a twin preview).
        mechanism: OpenDP's name for the noise (``Integer Laplace``, ``ExponentialMin``).
        interval_method: ``opendp`` (OpenDP's accuracy), ``derived`` (from OpenDP's
            accuracies, see the module docs), ``rank`` (quantiles) or ``exact`` (preview).
        notes: plain-language caveats for the user.
        rank_error: for quantiles, the rank bound in rows (see the module docs).
        private: True for a DP release from real data, False for a twin preview.
    """

    dataset: str
    statistic: str
    column: str | None
    group_by: tuple[str, ...]
    rows: tuple[Estimate, ...]
    confidence: float
    epsilon: Decimal
    mechanism: str
    interval_method: str
    notes: tuple[str, ...] = ()
    rank_error: float | None = None
    private: bool = True

    @property
    def value(self) -> float | int | None:
        """The value of an ungrouped answer."""
        if self.group_by:
            raise ValueError("a grouped answer has one value per row: read answer.rows")
        return self.rows[0].value

    def to_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready data (epsilon as a decimal string)."""
        return {
            "dataset": self.dataset, "statistic": self.statistic, "column": self.column,
            "group_by": list(self.group_by), "confidence": self.confidence, "epsilon": str(self.epsilon),
            "mechanism": self.mechanism, "interval_method": self.interval_method, "notes": list(self.notes),
            "rank_error": self.rank_error, "private": self.private,
            "rows": [{"key": dict(zip(self.group_by, row.key)), "value": row.value,
                      "lower": row.lower, "upper": row.upper} for row in self.rows],
        }


def read_release(query: ValidatedQuery, plan: DPPlan, released: pl.DataFrame, summary: pl.DataFrame,
                 summary_half: pl.DataFrame | None, epsilon: Decimal) -> Answer:
    """Turn OpenDP's released frame and its accuracy summary into an :class:`Answer`.

    ``summary`` is OpenDP's ``summarize`` at ``alpha``; ``summary_half`` at ``alpha / 2``
    (used for means).
    """
    accuracy = dict(zip(summary["column"], summary["accuracy"]))
    scales = dict(zip(summary["column"], summary["scale"]))
    mechanism = " + ".join(dict.fromkeys(summary["distribution"]))
    notes: list[str] = []
    rank_error = None
    rows: list[Estimate] = []
    statistic = query.statistic
    for key, out in _rows_in_key_order(query, released):
        if statistic in ("count", "histogram"):
            value = int(out[COUNT])
            half = accuracy[COUNT]
            # Cut at zero: a count is never negative (both ends, or a very negative draw gives upper < lower).
            rows.append(Estimate(key, value, max(0.0, value - half), max(0.0, value + half)))
        elif statistic == "sum":
            value = out[SUM] / plan.sum_scale
            half = accuracy[SUM] / plan.sum_scale
            rows.append(Estimate(key, value, value - half, value + half))
        elif statistic == "mean":
            half_accuracy = dict(zip(summary_half["column"], summary_half["accuracy"]))  # type: ignore[index]
            rows.append(_mean_estimate(key, out[SUM] / plan.sum_scale, out[COUNT], plan.sum_offset,
                                       half_accuracy[SUM] / plan.sum_scale, half_accuracy[COUNT], query.bounds))
        else:
            rows.append(Estimate(key, out[QUANTILE]))
    if statistic == "quantile" or statistic == "median":
        rank_error = quantile_rank_error(query, scales[QUANTILE], len(plan.candidates))
        step = plan.candidates[1] - plan.candidates[0] if len(plan.candidates) > 1 else 0
        notes.append(
            f"OpenDP states no accuracy interval for quantiles. With {query.confidence:.0%} confidence the "
            f"released value is at most {rank_error:.1f} rows (in rank) further from the true "
            f"{query.q:g}-quantile than the closest of the {len(plan.candidates)} candidates, which are "
            f"spaced about {step:g} apart across the bounds.")
        method = "rank"
    elif statistic == "mean":
        method = "derived"
        notes.append("The interval combines OpenDP's accuracy for the noisy sum and the noisy count (each at "
                     "half the significance level); it covers the mean of the values clamped to the bounds.")
    else:
        method = "opendp"
        if query.by:
            notes.append("Each interval holds with the stated confidence on its own, not for all rows at once.")
    if statistic in ("sum", "mean") and query.column_type == "float":
        notes.append(f"Values are summed at a resolution of {1 / plan.sum_scale:.3g}.")
    return Answer(dataset=query.dataset, statistic=statistic, column=query.column,
                  group_by=tuple(g.column for g in query.by), rows=tuple(rows), confidence=query.confidence,
                  epsilon=epsilon, mechanism=mechanism, interval_method=method, notes=tuple(notes),
                  rank_error=rank_error)


def read_preview(query: ValidatedQuery, computed: pl.DataFrame) -> Answer:
    """The exact answer on a twin, shaped like a DP answer (no interval, no epsilon)."""
    rows = []
    output = {"count": COUNT, "histogram": COUNT, "sum": SUM, "mean": SUM}.get(query.statistic, QUANTILE)
    for key, out in _rows_in_key_order(query, computed):
        value = out[output]
        rows.append(Estimate(key, None if value is None or (isinstance(value, float) and math.isnan(value))
                             else value))
    return Answer(dataset=query.dataset, statistic=query.statistic, column=query.column,
                  group_by=tuple(g.column for g in query.by), rows=tuple(rows), confidence=query.confidence,
                  epsilon=Decimal(0), mechanism="none (exact, on the synthetic twin)", interval_method="exact",
                  notes=("Computed exactly on the synthetic twin: free, and no guide to the real data's "
                         "values without a DP query.",), private=False)


def quantile_rank_error(query: ValidatedQuery, scale: float, candidates: int) -> float:
    """The exponential mechanism's rank bound in rows, at the query's confidence.

    OpenDP scores candidate ``c`` with ``|den * #(x < c) - num * (n - #(x = c))|`` where
    ``num / den`` approximates ``q``, and picks the candidate with the smallest score plus
    Gumbel noise of ``scale``. With probability at least ``1 - alpha`` the pick's score is
    within ``scale * ln(candidates / alpha)`` of the best; dividing by ``den`` gives rows.
    """
    _, den = quantile_fraction(query.q)  # type: ignore[arg-type]
    return scale * math.log(candidates / query.alpha) / den


def _mean_estimate(key: tuple[Key, ...], centred_sum: float, count: int, offset: float, sum_accuracy: float,
                   count_accuracy: float, bounds: tuple[float, float] | None) -> Estimate:
    lower, upper = bounds  # type: ignore[misc]
    value = None if count <= 0 else min(upper, max(lower, offset + centred_sum / count))
    count_low, count_high = max(1.0, count - count_accuracy), count + count_accuracy
    if count_high < 1:
        return Estimate(key, value, lower, upper)
    corners = [offset + s / n for s in (centred_sum - sum_accuracy, centred_sum + sum_accuracy)
               for n in (count_low, count_high)]
    return Estimate(key, value, max(lower, min(corners)), min(upper, max(corners)))


def _rows_in_key_order(query: ValidatedQuery, frame: pl.DataFrame) -> list[tuple[tuple[Key, ...], dict[str, Any]]]:
    """The frame's rows as (key, values), ordered as the policy lists the keys."""
    if not query.by:
        return [((), frame.row(0, named=True))]
    columns = [g.column for g in query.by]
    by_key = {tuple(row[c] for c in columns): row for row in frame.iter_rows(named=True)}
    return [(key, by_key[key]) for key in itertools.product(*(g.keys for g in query.by))]
