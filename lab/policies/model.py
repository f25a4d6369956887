"""The policy file format (version 1), as pydantic models.

A policy is the contract between a dataset's owner and everyone else: where the real data
lives, what is public about each column, who may see the twin and query the real data,
the privacy budgets, how to synthesize, and the gates a twin must pass. The reference with
examples is docs/policies.md; `lab policy schema` prints the JSON Schema generated from
these models.

Structural rules live here (types, allowed values, unknown keys); rules that relate one
part of a policy to another live in lab.policies.checks, so that every problem in a file
is reported at once.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

POLICY_VERSION = 1

#: Names of groups, tables and columns: letters, digits, '_' and '-', starting with a letter.
Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,62}$")]
Bound = float | int | dt.date | dt.datetime
PositiveBudget = Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=12)]


class _Strict(BaseModel):
    """Unknown keys are errors (a typo must never be ignored), and models are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnPolicy(_Strict):
    """Public type information for one column."""

    type: Literal["id", "integer", "float", "categorical", "boolean", "date", "datetime", "text"]
    description: str = ""
    unit: str | None = None
    bounds: tuple[Bound, Bound] | None = Field(
        default=None, description="Inclusive public [lower, upper]; required for integer, float, date, datetime."
    )
    categories: list[str | int | bool] | None = Field(
        default=None, description="The public category set; required for categorical columns."
    )
    nullable: bool = False
    identifier: Literal["drop", "fake"] | None = Field(
        default=None, description="A direct identifier: dropped from the twin, or replaced with fake values."
    )
    fake_as: str | None = Field(default=None, description="Fake-value provider when identifier is 'fake'.")
    public: bool = Field(
        default=False,
        description="The category set is public, so DP queries may group by this column.",
    )


class TablePolicy(_Strict):
    """One table of the dataset and where its real data lives in the vault."""

    path: str = Field(description="Path of the CSV or Parquet file, relative to the vault's data directory.")
    format: Literal["csv", "parquet"] | None = Field(default=None, description="Default: from the file suffix.")
    primary_key: Name | None = None
    description: str = ""
    columns: dict[Name, ColumnPolicy] = Field(min_length=1)


class RelationshipPolicy(_Strict):
    """A foreign key, written 'table.column' on both sides."""

    parent: str = Field(pattern=r"^[A-Za-z][\w\-]*\.[A-Za-z][\w\-]*$")
    child: str = Field(pattern=r"^[A-Za-z][\w\-]*\.[A-Za-z][\w\-]*$")


class AccessPolicy(_Strict):
    """Which hub groups may see the twin, and which may query the real data under DP."""

    twin_groups: list[Name] = Field(default_factory=list)
    query_groups: list[Name] = Field(default_factory=list)


class PrivacyUnitPolicy(_Strict):
    """What one person contributes: the unit that differential privacy protects."""

    table: Name | None = Field(default=None, description="The table whose rows are people (default: the first table).")
    max_rows_per_person: int = Field(default=1, ge=1, le=1000)


class BudgetPolicy(_Strict):
    """Privacy budgets in epsilon (pure differential privacy), as exact decimals."""

    dataset_epsilon: PositiveBudget = Field(description="Lifetime budget of the dataset, over all users.")
    user_epsilon: PositiveBudget = Field(description="Allowance of each user.")
    group_epsilon: dict[Name, PositiveBudget] = Field(
        default_factory=dict, description="Allowance shared by all members of a group or team."
    )
    query_epsilon_max: PositiveBudget = Field(description="Cap on the privacy loss of a single query.")
    query_epsilon_min: PositiveBudget = Field(
        default=Decimal("0.01"), description="Floor on the privacy loss of a single query: answers below it are "
                                             "mostly noise, and each costs a ledger row.")
    queries_per_user_per_day: int = Field(
        default=500, ge=1, le=1_000_000, description="DP queries one user may make on this dataset per UTC day.")


class SynthesisPolicy(_Strict):
    """How the twin is made."""

    synthesizer: Literal["cart", "gaussian_copula", "ctgan", "tvae", "copula_gan", "hma", "dp_marginals"] = Field(
        default="cart",
        description="cart (the default): sequential trees, one table or related tables (parameters min_leaf, "
                    "smoothing, protect_uniques, visit_order); an SDV synthesizer; or dp_marginals: a "
                    "differentially private twin measured with OpenDP (single table; parameters epsilon, bins, "
                    "pairs, one_way_share).")
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Synthesizer parameters; for cart e.g. {min_leaf: 25}; for dp_marginals e.g. {epsilon: 1.0}.")
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    rows: int | None = Field(default=None, ge=1, le=50_000_000)
    holdout_fraction: float = Field(default=0.2, gt=0, lt=0.9)
    evaluation_rows: int = Field(default=20_000, ge=100, le=1_000_000)
    utility_target: str | None = Field(default=None, description="'table.column' or 'column' (main table).")
    dp_only: bool = Field(default=False, description="Refuse twins that are not differentially private.")


class ReleaseGatePolicy(_Strict):
    """Thresholds a twin must meet to be released; null disables a gate."""

    min_quality: float | None = Field(default=0.75, ge=0, le=1)
    max_exact_copy_rate: float | None = Field(default=0.01, ge=0, le=1)
    min_dcr_protection: float | None = Field(default=0.5, ge=0, le=1)
    max_identifier_leaks: int | None = Field(default=0, ge=0)
    min_utility: float | None = Field(default=None, ge=0, le=1)


#: A value in a rule's condition: a category, true/false, or null for "missing".
RuleValue = str | int | bool | None


class _RulePolicy(_Strict):
    """A rule the rows obey; ``table`` defaults to the policy's main table."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    table: Name | None = Field(default=None, description="Default: the main table (privacy_unit.table, or the first).")


class BandsRulePolicy(_RulePolicy):
    """``column`` is the label of the band ``from`` falls in; bands are inclusive [lower, upper]."""

    kind: Literal["bands"]
    column: Name
    source: Name = Field(alias="from")
    bands: dict[str, tuple[float | int, float | int]] = Field(min_length=1)


class BirthDateRulePolicy(_RulePolicy):
    """The date in ``column`` gives the whole-year age in ``from`` on ``reference_date``."""

    kind: Literal["birth_date"]
    column: Name
    source: Name = Field(alias="from")
    reference_date: dt.date


class OrderRulePolicy(_RulePolicy):
    """The columns never decrease from left to right where both are present (start <= end)."""

    kind: Literal["order"]
    columns: list[Name] = Field(min_length=2)


class ForbiddenRulePolicy(_RulePolicy):
    """No row has all of these values at once (null means missing)."""

    kind: Literal["forbidden"]
    when: dict[Name, RuleValue] = Field(min_length=1)


class ImpliesRulePolicy(_RulePolicy):
    """A row with all of ``if`` has all of ``then`` (null means missing)."""

    kind: Literal["implies"]
    if_: dict[Name, RuleValue] = Field(alias="if", min_length=1)
    then: dict[Name, RuleValue] = Field(min_length=1)


RulePolicy = Annotated[BandsRulePolicy | BirthDateRulePolicy | OrderRulePolicy | ForbiddenRulePolicy
                       | ImpliesRulePolicy, Field(discriminator="kind")]
#: Each rule kind's model, by the ``kind`` written in the file.
RULE_MODELS: dict[str, type[_RulePolicy]] = {"bands": BandsRulePolicy, "birth_date": BirthDateRulePolicy,
                                             "order": OrderRulePolicy, "forbidden": ForbiddenRulePolicy,
                                             "implies": ImpliesRulePolicy}


class Policy(_Strict):
    """A dataset's policy (one file in policies/)."""

    policy_version: Literal[1]
    dataset: Name
    title: str = Field(min_length=1)
    description: str = ""
    owner: str = Field(min_length=1, description="Who answers for this dataset.")
    tables: dict[Name, TablePolicy] = Field(min_length=1)
    relationships: list[RelationshipPolicy] = Field(default_factory=list)
    rules: list[RulePolicy] = Field(
        default_factory=list, description="Rules the rows obey (bands, birth_date, order, forbidden, implies): the "
                                          "real data must keep them, and every twin keeps them exactly.")
    access: AccessPolicy = Field(default_factory=AccessPolicy)
    privacy_unit: PrivacyUnitPolicy = Field(default_factory=PrivacyUnitPolicy)
    budgets: BudgetPolicy
    synthesis: SynthesisPolicy = Field(default_factory=SynthesisPolicy)
    release_gates: ReleaseGatePolicy = Field(default_factory=ReleaseGatePolicy)

    @property
    def main_table(self) -> str:
        """The table people are counted in: the privacy unit's, else the first."""
        return self.privacy_unit.table or next(iter(self.tables))
