"""The hackathon event file format (version 1), as pydantic models.

An event file (``policies/events/<event>.yaml``) is the organisers' contract with the
teams and with the data owner: when the event runs, which hub teams take part, which
twins they get, the task they are scored on, and how much privacy budget each team may
spend on scores. Structure lives here; rules that relate the event to a dataset policy
(the target exists, the features are public) live in lab.hackathon.checks.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from lab.policies.model import Name, PositiveBudget

EVENT_VERSION = 1

#: Metrics the vault can score under DP, and whether a higher value is better.
METRICS: dict[str, bool] = {"accuracy": True, "mae": False, "rmse": False}
Metric = Literal["accuracy", "mae", "rmse"]
Fraction = Annotated[float, Field(gt=0, lt=1)]


class _Strict(BaseModel):
    """Unknown keys are errors (a typo must never be ignored), and models are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskSpec(_Strict):
    """What teams predict, and how a prediction is scored.

    Predictions are made for the cells of a public grid: every combination of the
    categories of ``features`` (columns the policy marks public). No real row leaves the
    vault; the vault maps each held-out real row to its cell and scores the cell's
    prediction against the row's real ``target``.
    """

    dataset: Name
    table: Name
    target: Name
    features: list[Name] = Field(min_length=1, max_length=8)
    metric: Metric
    submission_format: list[Literal["csv", "json"]] = Field(default_factory=lambda: ["csv", "json"], min_length=1)
    description: str = ""


class HoldoutSpec(_Strict):
    """How the held-out real rows are split into the public and the private leaderboard.

    Membership is a keyed hash of each row's ``identity`` (lab.vault.hackathon.holdout), so
    adding or removing one person changes no one else's part.
    """

    public_fraction: Fraction = 0.5
    seed: int = Field(default=0, ge=0, le=2**32 - 1,
                      description="Kept for old event files; membership now comes from the vault's per-event key.")
    identity: list[Name] | None = Field(
        default=None, min_length=1, max_length=8,
        description="Columns that identify a person (default: the table's primary_key, else every column).")


class ScoringSpec(_Strict):
    """Each team's privacy budget for scores, and what one score costs (pure DP epsilon)."""

    team_epsilon: PositiveBudget = Field(description="All the team's public scores together may spend this much.")
    epsilon_per_score: PositiveBudget = Field(description="What one public score costs.")
    final_epsilon: PositiveBudget = Field(description="What the team's one final private score costs, at close.")
    submissions_per_day: int = Field(default=5, ge=1, le=1000, description="Per team, per UTC day.")
    confidence: Fraction = Field(default=0.95, description="Confidence of the interval given with every score.")


class Event(_Strict):
    """One hackathon (one file in policies/events/)."""

    event_version: Literal[1]
    event: Name
    title: str = Field(min_length=1)
    description: str = ""
    organisers: str = Field(min_length=1, description="Who answers for the event.")
    opens: AwareDatetime
    closes: AwareDatetime
    teams: list[Name] = Field(min_length=1)
    datasets: list[Name] = Field(min_length=1, description="Datasets whose twins every team gets.")
    task: TaskSpec
    holdout: HoldoutSpec = Field(default_factory=HoldoutSpec)
    scoring: ScoringSpec

    def is_open(self, now: dt.datetime) -> bool:
        """Submissions are taken from ``opens`` (inclusive) until ``closes`` (exclusive)."""
        return self.opens <= now < self.closes

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.task.metric]

    @property
    def team_limit(self) -> Decimal:
        """The team's whole allowance in the ledger: public scores plus the final score."""
        return self.scoring.team_epsilon + self.scoring.final_epsilon
