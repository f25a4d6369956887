"""A fluent, immutable builder for the vault's declarative query spec.

Each method returns a *new* query, so a half-built query can be kept and varied without
surprises::

    base = lab.query("welfare").where("age", ">=", 66)
    by_region = base.mean("household_income", bounds=(0, 100_000)).by("region")
    by_sex = base.count().by("sex")        # base itself is unchanged

What the builder sends is plain JSON (:meth:`Query.to_spec`): names, numbers and short
lists, exactly the vault's ``QuerySpec``. It never sends code or a serialized plan, which
the vault refuses by design.

The builder checks only the *shape* of what you write (an operator it does not know,
bounds that are not two numbers, ``q`` outside (0, 1)) and says so on the line where you
wrote it. Whether a column exists, whether bounds fit the policy, and what the query
costs are for the vault to say: it knows the policy, the client does not.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from lab.client.errors import BadBounds, BadQuery

if TYPE_CHECKING:
    from lab.client.connection import Connection
    from lab.client.display import QueryResult

OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in")
_OPERATOR_ALIASES = {"=": "==", "<>": "!=", "not in": None, "eq": "==", "ne": "!=", "lt": "<", "le": "<=",
                     "gt": ">", "ge": ">="}
STATISTICS = ("count", "sum", "mean", "median", "quantile", "histogram")
Scalar = str | int | float | bool
Bounds = tuple[float, float]


@dataclass(frozen=True)
class Filter:
    """Keep only rows where ``column op value`` holds (rows with a null there never pass)."""

    column: str
    op: str
    value: Scalar | tuple[Scalar, ...]

    def describe(self) -> str:
        shown = "[" + ", ".join(map(repr, self.value)) + "]" if isinstance(self.value, tuple) else repr(self.value)
        return f"{self.column} {self.op} {shown}"


@dataclass(frozen=True)
class Query:
    """A question for the vault about one dataset, built one step at a time.

    Make one with ``lab.query(dataset)``; pick a statistic (:meth:`count`, :meth:`sum`,
    :meth:`mean`, :meth:`median`, :meth:`quantile`, :meth:`histogram`), narrow it with
    :meth:`where`, split it with :meth:`by`; then :meth:`preview` it on the twin (free)
    and :meth:`run` it on the real data (costs ``epsilon``).

    >>> q = Query("welfare").mean("household_income", bounds=(0, 100_000)).where("age", ">=", 66).by("region")
    >>> q
    Query('welfare': mean of household_income, bounds [0, 100000], where age >= 66, by region)
    >>> q.to_spec(epsilon=0.2)["filters"]
    [{'column': 'age', 'op': '>=', 'value': 66}]
    """

    dataset: str
    statistic: str | None = None
    column: str | None = None
    bounds: Bounds | None = None
    q: float | None = None
    bins: tuple[float, ...] | None = None
    bin_count: int | None = None
    filters: tuple[Filter, ...] = ()
    group_by: tuple[str, ...] = ()
    table_name: str | None = None
    confidence_level: float = 0.95
    connection: Connection | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        _name("dataset", self.dataset)

    # --- what to compute -------------------------------------------------------------

    def count(self, column: str | None = None) -> Query:
        """Count rows (or, with a column, rows where it is not null)."""
        return self._statistic("count", column, bounds=None)

    def sum(self, column: str, bounds: Sequence[float] | None = None) -> Query:
        """Sum a numeric (or boolean) column, each value clamped to ``bounds``.

        Args:
            bounds: ``(lower, upper)`` from public knowledge, inside the policy's bounds;
                default: the policy's. Tighter bounds mean less noise, but values outside
                are clamped to them.
        """
        return self._statistic("sum", _name("column", column), bounds)

    def mean(self, column: str, bounds: Sequence[float] | None = None) -> Query:
        """Average a numeric (or boolean) column, each value clamped to ``bounds`` (see :meth:`sum`)."""
        return self._statistic("mean", _name("column", column), bounds)

    def median(self, column: str, bounds: Sequence[float] | None = None) -> Query:
        """The median of a numeric column, searched for between ``bounds``."""
        return self._statistic("median", _name("column", column), bounds)

    def quantile(self, column: str, q: float, bounds: Sequence[float] | None = None) -> Query:
        """The ``q``-quantile (0 < q < 1, e.g. 0.9) of a numeric column, searched for between ``bounds``."""
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not (math.isfinite(q) and 0 < q < 1):
            raise BadQuery(f"quantile: q={q!r} is not a number strictly between 0 and 1",
                           fix="give q such as 0.25 or 0.9; for the median use .median(column)")
        return replace(self._statistic("quantile", _name("column", column), bounds), q=float(q))

    def histogram(self, column: str, bins: Sequence[float] | None = None, *, bin_count: int | None = None,
                  bounds: Sequence[float] | None = None) -> Query:
        """Count rows per category (categorical or boolean column) or per bin (numeric column).

        Args:
            bins: cut points strictly inside the bounds, e.g. ``[20_000, 40_000]`` gives
                three bins. Numeric columns only.
            bin_count: equal-width bins between the bounds instead (default 10).
            bounds: the range the bins cover; default: the policy's bounds.
        """
        if bins is not None and bin_count is not None:
            raise BadQuery("histogram: give either bins (cut points) or bin_count, not both",
                           fix="remove one of them")
        cuts = None
        if bins is not None:
            cuts = tuple(_number("histogram bins", b) for b in _as_sequence("histogram bins", bins))
            if not cuts:
                raise BadQuery("histogram: bins is empty", fix="give at least one cut point, or use bin_count=")
        if bin_count is not None and (isinstance(bin_count, bool) or not isinstance(bin_count, int)
                                      or bin_count < 2):
            raise BadQuery(f"histogram: bin_count={bin_count!r} is not a whole number of at least 2",
                           fix="give e.g. bin_count=10")
        return replace(self._statistic("histogram", _name("column", column), bounds), bins=cuts,
                       bin_count=bin_count)

    # --- which rows, which groups, which table ---------------------------------------

    def where(self, column: str, op: str, value: Any) -> Query:
        """Keep only rows where ``column op value`` holds; several ``where`` calls all apply.

        Args:
            op: one of ``== != < <= > >= in``.
            value: a number, string or boolean (a date as ``datetime.date`` or
                ``'YYYY-MM-DD'``); for ``in``, a list of them.
        """
        _name("column", column)
        operator = _operator(op)
        if operator == "in":
            values = tuple(_scalar(column, v) for v in _as_sequence(f"where({column!r}, 'in', ...)", value))
            if not values:
                raise BadQuery(f"where: the list of values for '{column}' is empty", fix="give at least one value")
            checked: Scalar | tuple[Scalar, ...] = values
        else:
            if isinstance(value, (list, tuple, set, frozenset)):
                raise BadQuery(f"where: {op!r} compares '{column}' with one value, not a list",
                               fix=f"use where({column!r}, 'in', [...]) to match any of several values")
            checked = _scalar(column, value)
        return replace(self, filters=(*self.filters, Filter(column, operator, checked)))

    def by(self, *columns: str) -> Query:
        """Split the answer by public categorical or boolean columns (every category, in the policy's order)."""
        if len(columns) == 1 and isinstance(columns[0], (list, tuple)):
            columns = tuple(columns[0])
        names = tuple(_name("by", c) for c in columns)
        return replace(self, group_by=(*self.group_by, *(n for n in names if n not in self.group_by)))

    def table(self, name: str) -> Query:
        """Query this table of the dataset (default: the table the policy counts people in)."""
        return replace(self, table_name=_name("table", name))

    def confidence(self, level: float) -> Query:
        """The confidence level of the answer's intervals (default 0.95)."""
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not (math.isfinite(level)
                                                                                  and 0 < level < 1):
            raise BadQuery(f"confidence: {level!r} is not a number strictly between 0 and 1",
                           fix="give e.g. 0.95 (or 0.9 for narrower intervals that miss more often)")
        return replace(self, confidence_level=float(level))

    def using(self, connection: Connection) -> Query:
        """The same query, sent through ``connection`` instead of the default one."""
        return replace(self, connection=connection)

    # --- what is sent ------------------------------------------------------------------

    def to_spec(self, epsilon: float | str | Decimal | None = None) -> dict[str, Any]:
        """The JSON the vault receives (epsilon as a decimal string; left out if not given).

        Raises:
            BadQuery: no statistic was chosen yet, or ``epsilon`` is not a positive number.
        """
        if self.statistic is None:
            raise BadQuery(f"the query on '{self.dataset}' does not say what to compute",
                           fix="add one of .count(), .sum(column), .mean(column), .median(column), "
                               ".quantile(column, q), .histogram(column)")
        spec: dict[str, Any] = {"dataset": self.dataset}
        if self.table_name is not None:
            spec["table"] = self.table_name
        spec["statistic"] = self.statistic
        if self.column is not None:
            spec["column"] = self.column
        if self.q is not None:
            spec["q"] = self.q
        if self.bounds is not None:
            spec["bounds"] = list(self.bounds)
        if self.bins is not None:
            spec["bins"] = list(self.bins)
        if self.bin_count is not None:
            spec["bin_count"] = self.bin_count
        if self.filters:
            spec["filters"] = [{"column": f.column, "op": f.op,
                                "value": list(f.value) if isinstance(f.value, tuple) else f.value}
                               for f in self.filters]
        if self.group_by:
            spec["group_by"] = list(self.group_by)
        if epsilon is not None:
            spec["epsilon"] = epsilon_text(epsilon)
        spec["confidence"] = self.confidence_level
        return spec

    def describe(self) -> str:
        """The query in words, as result tables show it."""
        if self.statistic is None:
            what = "nothing chosen yet"
        elif self.statistic == "count":
            what = "count" + (f" of {self.column}" if self.column else " of rows")
        elif self.statistic == "quantile":
            what = f"{self.q:g}-quantile of {self.column}"
        else:
            what = f"{self.statistic} of {self.column}"
        parts = [what]
        if self.table_name:
            parts.append(f"table {self.table_name}")
        if self.bounds is not None:
            parts.append("bounds [" + ", ".join(_short(b) for b in self.bounds) + "]")
        if self.bins is not None:
            parts.append("bins at " + ", ".join(_short(b) for b in self.bins))
        if self.bin_count is not None:
            parts.append(f"{self.bin_count} bins")
        parts += [f"where {f.describe()}" for f in self.filters]
        if self.group_by:
            parts.append("by " + ", ".join(self.group_by))
        if self.confidence_level != 0.95:
            parts.append(f"{self.confidence_level:.0%} confidence")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"Query({self.dataset!r}: {self.describe()})"

    # --- asking ------------------------------------------------------------------------

    def preview(self) -> QueryResult:
        """The same statistic computed exactly on the dataset's latest twin: free, no noise.

        Use it to check that the query does what you mean and to pick bounds, before
        spending budget. Its numbers describe the twin, not the real data.

        Raises:
            ClientError: e.g. ``TwinNotFound`` (no twin released), ``BadColumn``, ``NoAccess``.
        """
        from lab.client.display import QueryResult

        answer = self._connection().post("api/preview", self.to_spec())
        return QueryResult.from_response(answer, query=self)

    def run(self, epsilon: float | str | Decimal) -> QueryResult:
        """Ask the real data through the vault, spending ``epsilon`` of your privacy budget.

        The answer is noisy (differentially private) and comes with its interval, what it
        cost and what remains. A refusal (bad query, budget too small) charges nothing.

        Args:
            epsilon: the privacy loss to spend, e.g. ``0.2``. More epsilon, less noise;
                the policy caps one query's epsilon.

        Raises:
            ClientError: e.g. ``OverBudget``, ``BadColumn``, ``BoundsMissing``, ``NoAccess``.
        """
        from lab.client.display import QueryResult

        answer = self._connection().post("api/query", self.to_spec(epsilon))
        return QueryResult.from_response(answer, query=self)

    # --- helpers -----------------------------------------------------------------------

    def _statistic(self, statistic: str, column: str | None, bounds: Sequence[float] | None) -> Query:
        if column is not None:
            _name("column", column)
        return replace(self, statistic=statistic, column=column, bounds=_bounds(bounds), q=None, bins=None,
                       bin_count=None)

    def _connection(self) -> Connection:
        from lab.client.connection import default_connection

        return self.connection or default_connection()


def query(dataset: str, *, connection: Connection | None = None) -> Query:
    """Start a query on ``dataset`` (see :class:`Query` for what to chain next)."""
    return Query(dataset, connection=connection)


def epsilon_text(epsilon: float | str | Decimal) -> str:
    """Epsilon as the exact decimal string the vault charges (``0.2`` → ``'0.2'``, not 0.2000000000000000111).

    >>> epsilon_text(0.2), epsilon_text("0.05"), epsilon_text(1)
    ('0.2', '0.05', '1')
    """
    if isinstance(epsilon, bool):
        raise BadQuery(f"epsilon={epsilon!r} is not a number", fix="give the privacy loss to spend, e.g. 0.1")
    try:
        # repr of a float is the shortest string that reads back as the same float.
        amount = Decimal(repr(epsilon) if isinstance(epsilon, float) else str(epsilon).strip())
    except (InvalidOperation, ValueError):
        raise BadQuery(f"epsilon={epsilon!r} is not a number", fix="give the privacy loss to spend, e.g. 0.1") \
            from None
    if not amount.is_finite() or amount <= 0:
        raise BadQuery(f"epsilon={epsilon!r} is not a positive number",
                       fix="give the privacy loss to spend, e.g. 0.1")
    return format(amount.normalize(), "f")


def _name(what: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadQuery(f"{what}: {value!r} is not a name", fix=f"give the {what} as a string, e.g. 'region'"
                       if what in ("by", "column") else f"give the {what} as a string")
    return value


def _operator(op: Any) -> str:
    if isinstance(op, str):
        cleaned = op.strip().lower()
        if cleaned in OPERATORS:
            return cleaned
        if _OPERATOR_ALIASES.get(cleaned):
            return _OPERATOR_ALIASES[cleaned]  # type: ignore[return-value]
    raise BadQuery(f"where: {op!r} is not an operator the vault knows",
                   fix=f"use one of {' '.join(OPERATORS)}" + (" (for 'not in', use several '!=' filters)"
                                                              if op == "not in" else ""))


def _scalar(column: str, value: Any) -> Scalar:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy and pandas scalars
        value = value.item()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise BadQuery(f"where: the value for '{column}' is {value!r}, not a finite number",
                       fix="compare with a finite number; rows with a missing value never pass a filter")
    if value is None:
        raise BadQuery(f"where: the value for '{column}' is None",
                       fix="filters cannot match missing values; rows with a missing value never pass a filter")
    if isinstance(value, (str, int, float, bool)):
        return value
    raise BadQuery(f"where: the value for '{column}' is a {type(value).__name__}",
                   fix="give a number, a string, a boolean or a date")


def _as_sequence(what: str, value: Any) -> tuple[Any, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise BadQuery(f"{what}: expected a list, got {type(value).__name__} {value!r}",
                       fix="give a list, e.g. [1, 2, 3]")
    return tuple(sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value)


def _number(what: str, value: Any) -> float:
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadQuery(f"{what}: {value!r} is not a finite number", fix="give finite numbers")
    return value


def _bounds(bounds: Sequence[float] | None) -> Bounds | None:
    if bounds is None:
        return None
    if isinstance(bounds, (str, bytes)) or not isinstance(bounds, Iterable) or len(tuple(bounds)) != 2:
        raise BadBounds(f"bounds: {bounds!r} is not a pair (lower, upper)",
                        fix="give bounds=(lower, upper) from public knowledge, e.g. (0, 100_000)")
    lower, upper = (_number("bounds", b) for b in bounds)
    if not lower < upper:
        raise BadBounds(f"bounds: ({_short(lower)}, {_short(upper)}): the lower bound is not below the upper",
                        fix="write bounds as (lower, upper) with lower < upper")
    return (lower, upper)


def _short(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


__all__ = ["OPERATORS", "STATISTICS", "Filter", "Query", "epsilon_text", "query"]
