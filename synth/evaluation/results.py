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
class Evaluation:
    quality: QualityResult
    privacy: PrivacyResult
    utility: UtilityResult | None
    timings: dict[str, float] = field(default_factory=dict)

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
