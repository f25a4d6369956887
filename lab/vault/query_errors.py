"""Errors of the vault's DP query engine.

Every refusal is a ``QueryError`` with a stable ``code`` and a message that names the
field of the query spec, what is wrong with it and how to fix it. Messages may repeat what
the *user* sent and what the *policy* declares public (column names, public categories,
bounds, the per-query cap); they never carry a value, a count or any other fact read from
the real data. When a query has several problems, all are found first and reported in one
error (of the first problem's type), so a user fixes them in one round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.errors import LabError


@dataclass(frozen=True)
class QueryProblem:
    """One problem with a query spec: the exception type, the field, what is wrong, the fix."""

    kind: type[QueryError]
    field: str
    problem: str
    fix: str

    def describe(self) -> str:
        return f"{self.field}: {self.problem}. Fix: {self.fix}"


class QueryError(LabError):
    """Base class: the vault refused or could not answer a query. Nothing was released."""

    code = "query_error"

    def __init__(self, message: str, problems: Sequence[QueryProblem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)

    @classmethod
    def from_problems(cls, problems: Sequence[QueryProblem]) -> QueryError:
        """One error for every problem found, typed after the first."""
        first = problems[0]
        if len(problems) == 1:
            return first.kind(first.describe(), problems)
        lines = "\n".join(f"  - {p.describe()}" for p in problems)
        return first.kind(f"{len(problems)} problems in the query:\n{lines}", problems)


class BadSpec(QueryError):
    """The query spec is malformed: an unknown key, a wrong type, a bad ``q`` or ``confidence``."""

    code = "bad_query"


class SerializedPlanRefused(BadSpec):
    """The query carried a serialized plan or code; the vault only accepts declarative specs."""

    code = "serialized_plan_refused"


class UnknownDataset(QueryError):
    """No policy declares the dataset."""

    code = "unknown_dataset"


class UnknownTable(QueryError):
    """The dataset has no such table, or the table cannot be queried under DP."""

    code = "unknown_table"


class UnknownColumn(QueryError):
    """The table has no such column."""

    code = "unknown_column"


class ColumnNotQueryable(QueryError):
    """The column is a key or a direct identifier, which queries may not touch."""

    code = "column_not_queryable"


class WrongColumnType(QueryError):
    """The statistic does not apply to a column of this type (a mean of a categorical...)."""

    code = "wrong_column_type"


class BadBounds(QueryError):
    """Bounds are not finite, reversed, not whole numbers for an integer column, or outside the policy's."""

    code = "bad_bounds"


class BoundsMissing(QueryError):
    """Neither the query nor the policy gives bounds for a column that needs them."""

    code = "bounds_missing"


class BadFilter(QueryError):
    """A filter names an unusable column, an unknown operator, or a value the policy does not allow."""

    code = "bad_filter"


class BadBins(QueryError):
    """Histogram cut points are not increasing, not finite or outside the bounds."""

    code = "bad_bins"


class BadPrivacyLoss(QueryError):
    """Epsilon is zero, negative, not finite, too finely divided, or above the per-query cap."""

    code = "bad_privacy_loss"


class NotGroupable(QueryError):
    """The policy does not mark the column as a public group-by key."""

    code = "not_groupable"


class TooManyGroups(QueryError):
    """The group-by (or histogram) would have more cells than the vault allows."""

    code = "too_many_groups"


class DatasetUnavailable(QueryError):
    """The vault cannot open the real data for this dataset; an administrator must look.

    The reason (missing file, unexpected column types) goes to the vault's log only.
    """

    code = "dataset_unavailable"


class ReservationTooSmall(QueryError):
    """``release`` was given less epsilon than the query costs; nothing was released."""

    code = "reservation_too_small"


class QueryNotSupported(QueryError):
    """OpenDP cannot build a private plan for this query. Nothing was released."""

    code = "query_not_supported"


class ReleaseFailed(QueryError):
    """OpenDP or Polars failed while computing the release. The cause goes to the log only.

    Privacy loss may have been incurred, so a reservation made for it must be kept.
    """

    code = "release_failed"


class InputTooLarge(BadSpec):
    """A request body is too deep, or a string, number or list in it too long, to be read safely.

    Checked while parsing, before the spec is validated: a refusal charges nothing.
    """

    code = "input_too_large"


class QueryTooCostly(QueryError):
    """The query's estimated cost (rows scanned, groups, cells, memory) is over a vault limit.

    Estimated before any data is read; a refusal charges nothing.
    """

    code = "query_too_costly"
