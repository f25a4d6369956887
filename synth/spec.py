"""How to make a twin (the synthesis spec) and when to release it (the release gates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SynthesizerName = Literal["cart", "gaussian_copula", "ctgan", "tvae", "copula_gan", "hma", "dp_marginals"]

#: Sequential trees (synth.cart), the default: one table or parent and child tables.
TREE_SYNTHESIZERS: tuple[str, ...] = ("cart",)
SINGLE_TABLE_SYNTHESIZERS: tuple[str, ...] = ("cart", "gaussian_copula", "ctgan", "tvae", "copula_gan")
MULTI_TABLE_SYNTHESIZERS: tuple[str, ...] = ("cart", "hma")
#: Differentially private synthesizers (synth.dp); single-table only.
DP_SYNTHESIZERS: tuple[str, ...] = ("dp_marginals",)


@dataclass(frozen=True)
class SynthesisSpec:
    """Settings for fitting, sampling and evaluating one twin.

    Attributes:
        synthesizer: which synthesizer to fit: ``cart`` (sequential trees, synth.cart), an SDV
            synthesizer, or ``dp_marginals`` (synth.dp).
        parameters: keyword arguments passed to the synthesizer's constructor.
        seed: seeds the holdout split, identifier faking and sampling (SDV's fitting
            itself is not seedable, so refits can differ slightly).
        rows: rows to sample for the main table; None means as many as the training data.
        holdout_fraction: share of real rows kept out of training, used to measure
            privacy (distance to closest record) and utility (train on twin, test on real).
        evaluation_rows: cap on rows used by metrics whose cost grows with size.
        utility_target: column to predict in the train-on-twin, test-on-real check.
        utility_table: table that holds ``utility_target`` (defaults to the main table).
        max_rows_per_person: the privacy unit of DP synthesizers (rows one person may add).
    """

    synthesizer: SynthesizerName = "cart"
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    rows: int | None = None
    holdout_fraction: float = 0.2
    evaluation_rows: int = 20_000
    utility_target: str | None = None
    utility_table: str | None = None
    max_rows_per_person: int = 1

    @property
    def is_dp(self) -> bool:
        return self.synthesizer in DP_SYNTHESIZERS


@dataclass(frozen=True)
class ReleaseGates:
    """Thresholds a twin must meet to be released.

    A gate set to None is not checked. Scores are SDMetrics' (0 worst, 1 best) except the
    rates, which are fractions of twin rows (0 best). ``max_exact_copy_rate`` applies to
    copies of training rows *beyond chance*: the twin's copy rate less the rate at which
    unseen real rows equal a training row.
    """

    min_quality: float | None = 0.75
    max_exact_copy_rate: float | None = 0.01
    min_dcr_protection: float | None = 0.5
    max_identifier_leaks: int | None = 0
    min_utility: float | None = None


@dataclass(frozen=True)
class GateOutcome:
    """The result of checking one gate."""

    gate: str
    threshold: float
    value: float | None
    passed: bool

    def describe(self) -> str:
        if self.value is None:
            return f"{self.gate}: could not be measured (threshold {self.threshold:g})"
        relation = "meets" if self.passed else "fails"
        if self.gate.startswith("min_"):
            gap = self.threshold - self.value
        else:
            gap = self.value - self.threshold
        detail = "" if self.passed else f", short by {gap:.4g}"
        return f"{self.gate}: {self.value:.4g} {relation} threshold {self.threshold:g}{detail}"


def check_gates(gates: ReleaseGates, measured: dict[str, float | None]) -> list[GateOutcome]:
    """Compare measured figures with each configured gate.

    ``measured`` maps gate names to values (``quality``, ``exact_copy_rate``,
    ``dcr_protection``, ``identifier_leaks``, ``utility``). A gate whose figure could
    not be measured fails: a twin is released only on evidence.

    >>> [o.passed for o in check_gates(ReleaseGates(min_quality=0.8, max_exact_copy_rate=None,
    ...     min_dcr_protection=None, max_identifier_leaks=None), {"quality": 0.85})]
    [True]
    """
    checks = [
        ("min_quality", gates.min_quality, "quality", True),
        ("max_exact_copy_rate", gates.max_exact_copy_rate, "exact_copy_rate", False),
        ("min_dcr_protection", gates.min_dcr_protection, "dcr_protection", True),
        ("max_identifier_leaks", gates.max_identifier_leaks, "identifier_leaks", False),
        ("min_utility", gates.min_utility, "utility", True),
    ]
    outcomes = []
    for gate, threshold, figure, is_minimum in checks:
        if threshold is None:
            continue
        value = measured.get(figure)
        if value is None or value != value:  # missing or NaN
            outcomes.append(GateOutcome(gate, float(threshold), None, False))
            continue
        passed = value >= threshold if is_minimum else value <= threshold
        outcomes.append(GateOutcome(gate, float(threshold), float(value), passed))
    return outcomes
