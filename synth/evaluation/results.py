"""What the evaluation measured, as plain values (written to the bundle as JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class QualityResult:
    """SDMetrics quality: overall score and its breakdown.

    ``pair_trends`` is None when SDMetrics could not score it (its score is NaN on data
    with no strong correlations); the overall score then rests on the other properties.
    """

    score: float | None
    properties: dict[str, float | None]
    column_shapes: list[dict[str, Any]]
    pair_trends: list[dict[str, Any]]
    rows_compared: int
    note: str = ""


@dataclass(frozen=True)
class PrivacyResult:
    """Empirical privacy checks of a twin against its training data and holdout."""

    exact_copy_rate: float
    exact_copies: int
    chance_copy_rate: float
    excess_copy_rate: float
    twin_rows_checked: int
    dcr_protection: float | None
    dcr_closer_to_training: float | None
    dcr_rows: int
    identifier_leaks: int
    identifier_columns_checked: list[str]
    dropped_identifiers: list[str]
    table: str


@dataclass(frozen=True)
class UtilityResult:
    """Train on the twin, test on real holdout rows, beside train on real, test on the same."""

    target: str
    table: str
    task: str  # classification or regression
    metric: str
    twin_score: float
    real_score: float
    relative: float  # twin_score / real_score, capped at 1
    test_rows: int


@dataclass(frozen=True)
class FidelityResult:
    """2-way and 3-way marginal distance (TVD) of the twin to unseen real rows, beside the "floor".

    The floor is the same distance for the real training rows: what a second real sample
    would score, so ``ratio`` (twin / floor, "× floor") reads 1.0 for a twin as good as real
    data. ``worst_pairs`` lists cells only where at least ``min_cell`` holdout rows fall.
    """

    two_way: float | None
    two_way_floor: float | None
    two_way_ratio: float | None
    three_way: float | None
    three_way_floor: float | None
    three_way_ratio: float | None
    worst_pairs: list[dict[str, Any]]
    pairs_compared: int
    triples_compared: int
    rows_compared: int
    table: str
    sentence: str


@dataclass(frozen=True)
class Evaluation:
    quality: QualityResult
    privacy: PrivacyResult
    utility: UtilityResult | None
    timings: dict[str, float] = field(default_factory=dict)
    fidelity: FidelityResult | None = None
    #: Per policy rule (synth.rejection.keep_rules): in words, how it was kept, the twin's
    #: violations (always 0 in a built twin) and the rows it took.
    rules: list[dict[str, Any]] = field(default_factory=list)

    def gate_figures(self) -> dict[str, float | None]:
        """The figures the release gates compare (see synth.spec.check_gates)."""
        return {
            "quality": self.quality.score,
            "exact_copy_rate": self.privacy.excess_copy_rate,
            "dcr_protection": self.privacy.dcr_protection,
            "identifier_leaks": float(self.privacy.identifier_leaks),
            "utility": self.utility.relative if self.utility else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
