"""A score released under differential privacy, with its interval.

A score is a mean of per-row losses over held-out real rows: correctness (0 or 1) for
accuracy, the absolute error for mae, the squared error for rmse (then a square root).
Losses are clipped to public bounds (the target's policy bounds) and put in integer
units (:data:`RESOLUTION` steps over the bound), so OpenDP's integer sum is exact.

The number of rows is not public, so the release is two OpenDP measurements composed:
a Laplace sum of the losses and a Laplace count of the rows, each with half the epsilon,
under the policy's privacy unit (symmetric distance, ``max_rows_per_person``). The score
is their ratio. Its interval holds both noises within their ``(1 - confidence) / 2``
tails at once (a union bound), so it covers the true score at least at the stated
confidence; it is post-processing of the release and costs nothing more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

import numpy as np
import opendp.prelude as dp

from lab.hackathon.model import Event
from lab.policies.model import ColumnPolicy

#: Integer steps over a numeric loss's bound (the score's resolution is bound / RESOLUTION).
RESOLUTION = 10_000

dp.enable_features("contrib")


@dataclass(frozen=True)
class Score:
    """A released score: the DP estimate and an interval at ``confidence`` (all public)."""

    value: float
    low: float
    high: float
    confidence: float
    epsilon: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.value, "interval": [self.low, self.high], "confidence": self.confidence,
                "epsilon": format(self.epsilon, "f")}


def row_losses(event: Event, target: ColumnPolicy, predictions: list[Any], cells: np.ndarray,
               truth: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-row losses in integer units, and the size of one unit.

    A row whose cell is outside the grid (a value not among the public categories) gets
    the worst loss: it is counted, never dropped, so the row count stays honest.
    """
    metric = event.task.metric
    if metric == "accuracy":
        correct = np.fromiter((cell >= 0 and predictions[cell] == real for cell, real in zip(cells, truth)),
                              dtype=bool, count=len(cells))
        return correct.astype(np.int64), 1.0
    lo, hi = (float(b) for b in target.bounds)  # type: ignore[union-attr, arg-type]
    width = hi - lo
    bound = width if metric == "mae" else width * width
    pred = np.array([predictions[c] if c >= 0 else math.inf for c in cells], dtype=float)
    pred = np.clip(pred, lo, hi)
    error = np.abs(pred - truth.astype(float))
    error = np.where(cells >= 0, error, width)
    loss = error if metric == "mae" else error * error
    units = np.rint(np.clip(loss, 0, bound) / bound * RESOLUTION).astype(np.int64)
    return units, bound / RESOLUTION


def make_score_measurement(upper: int, d_in: int, epsilon: Decimal) -> tuple[Any, float, float]:
    """OpenDP's (sum, count) measurement within ``epsilon``; returns it and the two noise scales."""
    space = dp.vector_domain(dp.atom_domain(bounds=(0, upper), T=int)), dp.symmetric_distance()
    half = float(epsilon) / 2
    factor = 1.0
    while True:
        sum_scale, count_scale = upper * d_in / half * factor, d_in / half * factor
        measurement = dp.c.make_composition([
            space >> dp.t.then_sum() >> dp.m.then_laplace(sum_scale),
            space >> dp.t.then_count() >> dp.m.then_laplace(count_scale),
        ])
        if Decimal(repr(measurement.map(d_in))) <= epsilon:
            return measurement, sum_scale, count_scale
        factor *= 1.000001  # float rounding put the loss a hair over: add a hair of noise


def release_score(event: Event, losses: np.ndarray, unit: float, d_in: int, epsilon: Decimal) -> Score:
    """Release the score of ``losses`` with exactly ``epsilon`` (already reserved in the ledger)."""
    upper = 1 if event.task.metric == "accuracy" else RESOLUTION
    measurement, sum_scale, count_scale = make_score_measurement(upper, d_in, epsilon)
    noisy_sum, noisy_count = measurement([int(v) for v in losses])
    return interval(event, float(noisy_sum), float(noisy_count), sum_scale, count_scale, upper, unit, epsilon)


def interval(event: Event, noisy_sum: float, noisy_count: float, sum_scale: float, count_scale: float,
             upper: int, unit: float, epsilon: Decimal) -> Score:
    """The score and its interval from the two noisy values (post-processing only)."""
    confidence = event.scoring.confidence
    tail = math.log(2 / ((1 - confidence) / 2))  # P(|L| > b*tail) = (1-confidence)/2 for Laplace(b)
    sum_margin, count_margin = sum_scale * tail + 1, count_scale * tail + 1  # +1: discrete Laplace
    mean = min(max(noisy_sum / noisy_count, 0.0), upper) if noisy_count >= 1 else upper / 2
    low = max(noisy_sum - sum_margin, 0.0) / max(noisy_count + count_margin, 1.0)
    high = (noisy_sum + sum_margin) / (noisy_count - count_margin) if noisy_count > count_margin else upper
    low, high = min(low, upper), min(high, upper)
    value, low, high = (_metric(event, v * unit) for v in (mean, low, high))
    return Score(value=value, low=low, high=high, confidence=confidence, epsilon=epsilon)


def true_score(event: Event, losses: np.ndarray, unit: float) -> float:
    """The exact score (vault-side tests and audits only: never released)."""
    return _metric(event, float(losses.mean()) * unit) if len(losses) else math.nan


def _metric(event: Event, mean_loss: float) -> float:
    return math.sqrt(mean_loss) if event.task.metric == "rmse" else mean_loss


def price(epsilon: Decimal) -> Decimal:
    """The ledger amount of a score: the event's epsilon, at the ledger's 1e-12 resolution."""
    return epsilon.quantize(Decimal("1e-12"), rounding=ROUND_CEILING)
