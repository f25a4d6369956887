"""The declarative query spec a user sends to the vault, and its validation against a policy.

A query is plain JSON: which dataset and column, which statistic, optional bounds,
filters and public group-by keys, the epsilon to spend and the confidence level of the
intervals. For example::

    {"dataset": "welfare", "statistic": "mean", "column": "monthly_award",
     "bounds": [0, 2000], "filters": [{"column": "age", "op": ">=", "value": 66}],
     "group_by": ["region"], "epsilon": "0.2"}

Serialized Polars plans are refused by design. OpenDP's remote pattern ships a plan built
on stand-in data to the server, but a serialized Polars plan can carry pickled Python
code, and deserializing one in the vault would run that code next to the raw data. The
vault therefore accepts only this spec: every field is a name, a number or a short list,
unknown keys are errors, and :func:`reject_serialized_plan` refuses a payload that tries
to smuggle a plan (a ``plan`` key, bytes, a pickle) before anything else looks at it.

:func:`validate_spec` checks a parsed spec against the dataset's policy and returns a
:class:`ValidatedQuery`: everything the engine needs, resolved from the *policy* (bounds,
group keys, categories), never from the data. So a group-by on public keys returns every
category the policy lists, and no error ever says what the data holds.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError

from lab.policies.model import ColumnPolicy, Name, Policy
from lab.vault import query_errors as qe
from lab.vault.query_errors import QueryProblem

#: Most cells a group-by (times histogram bins) may have: each cell costs accuracy, and
#: a huge table of near-zero noisy counts helps nobody.
MAX_GROUP_CELLS = 1000
MAX_FILTERS = 20
MAX_IN_VALUES = 1000
#: Epsilon is charged in units of 1e-12, as the ledger stores it.
EPSILON_DECIMAL_PLACES = 12
DEFAULT_BIN_COUNT = 10

Statistic = Literal["count", "sum", "mean", "median", "quantile", "histogram"]
Operator = Literal["==", "!=", "<", "<=", ">", ">=", "in"]
Scalar = StrictBool | StrictInt | StrictFloat | StrictStr
Key = str | int | bool | None
NUMERIC = ("integer", "float")

#: Keys that name a plan or code rather than a declarative query.
PLAN_KEYS = frozenset({"plan", "polars_plan", "serialized_plan", "lazyframe", "lazy_frame", "logical_plan",
                       "pickle", "code", "expr", "expression", "measurement",
                       # nodes of a Polars plan in its (deprecated) JSON format
                       "dataframescan", "pythonscan", "anonymousfunction", "mapfunction"})
#: How a plan or pickle starts when sent as a string: base64 of pickle protocols 2-5
#: (cloudpickle, which Polars uses for Python UDFs, writes protocol 5), and Polars' binary
#: plan format ("DSL_VERSION...") raw or in base64.
_PICKLE_PREFIXES = ("gAJ", "gAN", "gAR", "gASV", "gAW", "DSL_VERSION", "RFNMX1ZFUlNJT04")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilterSpec(_Strict):
    """Keep only rows where ``column op value`` holds (rows with a null there never pass)."""

    column: Name
    op: Operator
    value: Scalar | tuple[Scalar, ...] = Field(description="A scalar, or a list for 'in'. Dates as 'YYYY-MM-DD'.")


class QuerySpec(_Strict):
    """A DP query, as the user sends it (plain JSON)."""

    dataset: Name
    table: Name | None = Field(default=None, description="Default: the policy's main (privacy-unit) table.")
    statistic: Statistic
    column: Name | None = Field(default=None, description="Required except for count.")
    q: float | None = Field(default=None, description="The quantile, in (0, 1); only for statistic 'quantile'.")
    bounds: tuple[float, float] | None = Field(
        default=None, description="Clamping bounds [lower, upper], inside the policy's; default: the policy's.")
    bins: tuple[float, ...] | None = Field(default=None, description="Histogram cut points (numeric columns).")
    bin_count: int | None = Field(default=None, description="Equal-width histogram bins between the bounds.")
    filters: tuple[FilterSpec, ...] = ()
    group_by: tuple[Name, ...] = ()
    epsilon: Decimal = Field(description="Privacy loss to spend, e.g. '0.1'.")
    confidence: float = Field(default=0.95, description="Confidence level of the intervals, in (0, 1).")


@dataclass(frozen=True)
class ValidatedFilter:
    """A filter whose values are typed for the column (dates as days, datetimes as microseconds)."""

    column: str
    column_type: str
    op: str
    values: tuple[Key | float, ...]


@dataclass(frozen=True)
class GroupKeys:
    """One grouping column and its public keys, in the policy's order."""

    column: str
    keys: tuple[Key, ...]


@dataclass(frozen=True)
class Bins:
    """Histogram bins on a numeric column: ``[e0, e1), [e1, e2), ..., [e_k-1, e_k]``."""

    edges: tuple[float, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class ValidatedQuery:
    """A query checked against its policy: what the engine prices, releases and previews.

    ``by`` lists every grouping dimension of the answer: the user's ``group_by`` columns,
    then, for a histogram, the histogram's column (its categories, or its bin labels).
    """

    dataset: str
    table: str
    statistic: str
    column: str | None
    column_type: str | None
    bounds: tuple[float, float] | None
    q: float | None
    bins: Bins | None
    filters: tuple[ValidatedFilter, ...]
    by: tuple[GroupKeys, ...]
    epsilon: Decimal
    confidence: float
    contributions: int

    @property
    def alpha(self) -> float:
        """The significance level: ``1 - confidence``."""
        return 1.0 - self.confidence

    @property
    def cells(self) -> int:
        return math.prod(len(group.keys) for group in self.by)


def category_kind(column: ColumnPolicy) -> Literal["string", "integer", "boolean"]:
    """How a categorical or boolean column's values are typed in the vault's frames."""
    if column.type == "boolean":
        return "boolean"
    categories = column.categories or []
    if categories and all(isinstance(c, bool) for c in categories):
        return "boolean"
    if categories and all(isinstance(c, int) and not isinstance(c, bool) for c in categories):
        return "integer"
    return "string"


def category_keys(column: ColumnPolicy) -> tuple[Key, ...]:
    """The public keys of a categorical or boolean column (``None`` last if it is nullable)."""
    kind = category_kind(column)
    if column.type == "boolean":
        keys: list[Key] = [False, True]
    elif kind == "string":
        keys = [str(c) for c in column.categories or []]
    else:
        keys = list(column.categories or [])
    return tuple(keys + [None]) if column.nullable else tuple(keys)


def reject_serialized_plan(payload: Any) -> None:
    """Refuse a payload that carries a plan or code instead of a declarative spec.

    Raises:
        SerializedPlanRefused: a key such as ``plan`` anywhere in the payload, a bytes
            value, or a string that starts like a base64 pickle.

    >>> reject_serialized_plan({"dataset": "welfare", "plan": "gASVxxx"})
    Traceback (most recent call last):
    ...
    lab.vault.query_errors.SerializedPlanRefused: plan: the vault does not accept serialized plans or code. Fix: send a declarative query spec (dataset, statistic, column, filters, group_by, epsilon).
    """
    found = _find_plan(payload, "", depth=0)
    if found is not None:
        raise qe.SerializedPlanRefused(
            f"{found or '(top level)'}: the vault does not accept serialized plans or code. Fix: send a "
            "declarative query spec (dataset, statistic, column, filters, group_by, epsilon).")


def parse_spec(payload: Any) -> QuerySpec:
    """Parse a JSON payload into a :class:`QuerySpec`, with the vault's own error types.

    ``QuerySpec.model_validate`` refuses the same payloads with pydantic's
    ``ValidationError``; this function says which field is wrong in the vault's words.

    Raises:
        SerializedPlanRefused, BadPrivacyLoss, BadBounds, BadFilter, BadBins, BadSpec.
    """
    reject_serialized_plan(payload)
    if not isinstance(payload, Mapping):
        raise qe.BadSpec("(top level): a query must be a JSON object. Fix: send {\"dataset\": ..., "
                         "\"statistic\": ..., \"epsilon\": ...}.")
    try:
        return QuerySpec.model_validate(dict(payload))
    except ValidationError as exc:
        raise qe.QueryError.from_problems([_pydantic_problem(error) for error in exc.errors()]) from None


def validate_spec(spec: QuerySpec, policy: Policy) -> ValidatedQuery:
    """Check a spec against its dataset's policy and resolve it for the engine.

    Every problem is found before one error is raised; the error's type is that of the
    first problem and its message lists them all.

    Raises:
        QueryError: one of its subclasses (UnknownDataset, UnknownColumn, BadBounds, ...).
    """
    if spec.dataset != policy.dataset:
        raise qe.UnknownDataset(f"dataset: '{spec.dataset}' is not governed by the policy '{policy.dataset}'. "
                                "Fix: validate the query against its own dataset's policy.")
    return _Validator(spec, policy).run()


def validate_query(payload: Any, policies: Mapping[str, Policy]) -> ValidatedQuery:
    """Parse a JSON payload and validate it against the policy of the dataset it names."""
    spec = parse_spec(payload)
    policy = policies.get(spec.dataset)
    if policy is None:
        raise qe.UnknownDataset(f"dataset: '{spec.dataset}' is not a dataset of this vault. "
                                f"Fix: use one of: {', '.join(sorted(policies)) or '(none)'}.")
    return validate_spec(spec, policy)


class _Validator:
    """One pass over a spec, collecting problems; ``run`` raises once or returns the query."""

    def __init__(self, spec: QuerySpec, policy: Policy) -> None:
        self.spec, self.policy = spec, policy
        self.problems: list[QueryProblem] = []

    def add(self, kind: type[qe.QueryError], field: str, problem: str, fix: str) -> None:
        self.problems.append(QueryProblem(kind, field, problem, fix))

    def run(self) -> ValidatedQuery:
        spec = self.spec
        table = self._table()
        epsilon = self._epsilon()
        self._confidence()
        if table is None:
            raise qe.QueryError.from_problems(self.problems)
        columns = self.policy.tables[table].columns
        column = self._column(columns)
        bounds = self._bounds(column)
        q = self._q()
        bins = self._bins(column, bounds)
        filters = tuple(f for i, spec_filter in enumerate(spec.filters)
                        if (f := self._filter(i, spec_filter, columns)) is not None)
        if len(spec.filters) > MAX_FILTERS:
            self.add(qe.BadFilter, "filters", f"{len(spec.filters)} filters is more than the limit of {MAX_FILTERS}",
                     "combine conditions, or ask a broader question")
        by = self._group_by(columns, column, bins)
        if self.problems:
            raise qe.QueryError.from_problems(self.problems)
        return ValidatedQuery(
            dataset=spec.dataset, table=table, statistic=spec.statistic, column=spec.column,
            column_type=columns[spec.column].type if spec.column else None, bounds=bounds, q=q, bins=bins,
            filters=filters, by=by, epsilon=epsilon, confidence=spec.confidence,
            contributions=self.policy.privacy_unit.max_rows_per_person)

    # --- where ---------------------------------------------------------------------

    def _table(self) -> str | None:
        main = self.policy.main_table
        name = self.spec.table or main
        if name not in self.policy.tables:
            self.add(qe.UnknownTable, "table", f"'{name}' is not a table of dataset '{self.policy.dataset}'",
                     f"use '{main}', or leave table out")
            return None
        if name != main:
            self.add(qe.UnknownTable, "table", f"table '{name}' cannot be queried: the policy bounds what a person "
                     f"contributes only in '{main}'", f"query '{main}', or leave table out")
            return None
        return name

    def _lookup(self, field: str, name: str, columns: Mapping[str, ColumnPolicy]) -> ColumnPolicy | None:
        column = columns.get(name)
        usable = sorted(n for n, c in columns.items() if _queryable(c))
        if column is None:
            guess = difflib.get_close_matches(name, usable, n=1)
            fix = f"did you mean '{guess[0]}'?" if guess else f"use one of: {', '.join(usable)}"
            self.add(qe.UnknownColumn, field, f"'{name}' is not a column of table '{self._table_name()}'", fix)
            return None
        if not _queryable(column):
            what = "a direct identifier" if column.identifier is not None else \
                "a key" if column.type == "id" else "free text"
            self.add(qe.ColumnNotQueryable, field, f"column '{name}' is {what} and cannot be used in queries",
                     f"use one of: {', '.join(usable)}")
            return None
        return column

    def _table_name(self) -> str:
        return self.spec.table or self.policy.main_table

    # --- what ----------------------------------------------------------------------

    def _column(self, columns: Mapping[str, ColumnPolicy]) -> ColumnPolicy | None:
        spec, statistic = self.spec, self.spec.statistic
        if spec.column is None:
            if statistic != "count":
                self.add(qe.BadSpec, "column", f"statistic '{statistic}' needs a column", "add \"column\": \"<name>\"")
            return None
        column = self._lookup("column", spec.column, columns)
        if column is None:
            return None
        allowed = {"count": None, "sum": (*NUMERIC, "boolean"), "mean": (*NUMERIC, "boolean"),
                   "median": NUMERIC, "quantile": NUMERIC,
                   "histogram": (*NUMERIC, "categorical", "boolean")}[statistic]
        if allowed is not None and column.type not in allowed:
            self.add(qe.WrongColumnType, "column", f"statistic '{statistic}' does not apply to column "
                     f"'{spec.column}' of type '{column.type}'", f"choose a column of type {' or '.join(allowed)}"
                     + (", or use filters on it" if column.type in ("date", "datetime") else
                        ", or count it with a group_by or histogram" if column.type == "categorical" else ""))
            return None
        if statistic == "histogram" and column.type in ("categorical", "boolean") and not column.public:
            self.add(qe.NotGroupable, "column", f"column '{spec.column}' is not a public group-by key in the policy",
                     "histogram a column the policy marks public: true, or ask the data owner")
            return None
        return column

    def _bounds(self, column: ColumnPolicy | None) -> tuple[float, float] | None:
        spec = self.spec
        needs = column is not None and column.type in NUMERIC and spec.statistic != "count"
        if spec.bounds is not None and not needs:
            if column is not None and column.type == "boolean":
                reason, fix = "a boolean column is always counted as 0 or 1", "remove bounds"
            else:
                reason, fix = f"bounds do not apply to statistic '{spec.statistic}' here", "remove bounds"
            self.add(qe.BadBounds, "bounds", reason, fix)
        if column is not None and column.type == "boolean" and spec.statistic in ("sum", "mean"):
            return (0.0, 1.0)
        if not needs or column is None:
            return None
        policy_bounds = None if column.bounds is None else (float(column.bounds[0]), float(column.bounds[1]))
        if spec.bounds is None:
            if policy_bounds is None:
                self.add(qe.BoundsMissing, "bounds", f"neither the query nor the policy gives bounds for column "
                         f"'{spec.column}'", "add \"bounds\": [lower, upper] chosen from public knowledge")
            return policy_bounds
        lower, upper = spec.bounds
        where = f"bounds [{lower!r}, {upper!r}]"
        if not (math.isfinite(lower) and math.isfinite(upper)):
            self.add(qe.BadBounds, "bounds", f"{where} are not finite numbers", "give two finite numbers")
        elif not lower < upper:
            self.add(qe.BadBounds, "bounds", f"{where}: the lower bound is not below the upper bound",
                     "write bounds as [lower, upper] with lower < upper")
        elif column.type == "integer" and not (lower.is_integer() and upper.is_integer()):
            self.add(qe.BadBounds, "bounds", f"{where}: column '{spec.column}' holds whole numbers",
                     "give whole-number bounds")
        elif policy_bounds is not None and not (policy_bounds[0] <= lower and upper <= policy_bounds[1]):
            self.add(qe.BadBounds, "bounds", f"{where} reach outside the policy's public bounds "
                     f"[{_fmt(policy_bounds[0])}, {_fmt(policy_bounds[1])}] for column '{spec.column}'",
                     "give bounds inside the policy's, or leave bounds out to use them")
        else:
            return (float(lower), float(upper))
        return None

    def _q(self) -> float | None:
        spec = self.spec
        if spec.statistic == "median":
            if spec.q is not None and spec.q != 0.5:
                self.add(qe.BadSpec, "q", "a median is the 0.5 quantile", "remove q, or use statistic 'quantile'")
            return 0.5
        if spec.statistic != "quantile":
            if spec.q is not None:
                self.add(qe.BadSpec, "q", f"q does not apply to statistic '{spec.statistic}'", "remove q")
            return None
        if spec.q is None:
            self.add(qe.BadSpec, "q", "statistic 'quantile' needs q", "add \"q\": a number between 0 and 1, e.g. 0.9")
            return None
        if not (math.isfinite(spec.q) and 0 < spec.q < 1):
            self.add(qe.BadSpec, "q", f"q={spec.q!r} is not strictly between 0 and 1", "give q such as 0.25 or 0.9")
            return None
        return spec.q

    def _bins(self, column: ColumnPolicy | None, bounds: tuple[float, float] | None) -> Bins | None:
        spec = self.spec
        numeric_histogram = spec.statistic == "histogram" and column is not None and column.type in NUMERIC
        if not numeric_histogram:
            for name in ("bins", "bin_count"):
                if getattr(spec, name) is not None and not (spec.statistic == "histogram" and column is None):
                    self.add(qe.BadBins, name, f"{name} only applies to a histogram of a numeric column",
                             f"remove {name}")
            return None
        if bounds is None:
            return None
        lower, upper = bounds
        if spec.bins is not None and spec.bin_count is not None:
            self.add(qe.BadBins, "bins", "give either bins (cut points) or bin_count, not both", "remove one")
            return None
        if spec.bins is not None:
            cuts = spec.bins
            if not 1 <= len(cuts) < MAX_GROUP_CELLS:
                self.add(qe.BadBins, "bins", f"{len(cuts)} cut points; between 1 and {MAX_GROUP_CELLS - 1} are allowed",
                         "give fewer cut points")
                return None
            if not all(math.isfinite(c) for c in cuts):
                self.add(qe.BadBins, "bins", "the cut points are not all finite numbers", "replace NaN or infinity")
                return None
            if any(a >= b for a, b in zip(cuts, cuts[1:])):
                self.add(qe.BadBins, "bins", "the cut points are not strictly increasing", "sort them, without repeats")
                return None
            if not (lower < cuts[0] and cuts[-1] < upper):
                self.add(qe.BadBins, "bins", f"the cut points must lie strictly inside the bounds "
                         f"[{_fmt(lower)}, {_fmt(upper)}]", "move them inside, or change bounds")
                return None
        else:
            count = DEFAULT_BIN_COUNT if spec.bin_count is None else spec.bin_count
            if not 2 <= count <= MAX_GROUP_CELLS:
                self.add(qe.BadBins, "bin_count", f"bin_count={count}; between 2 and {MAX_GROUP_CELLS} are allowed",
                         "choose a smaller number of bins")
                return None
            raw = [lower + (upper - lower) * i / count for i in range(1, count)]
            if column is not None and column.type == "integer":
                raw = [float(round(c)) for c in raw]
            cuts = tuple(sorted({c for c in raw if lower < c < upper}))
        edges = (lower, *cuts, upper)
        labels = tuple(f"[{_fmt(a)}, {_fmt(b)}{']' if i == len(edges) - 2 else ')'}"
                       for i, (a, b) in enumerate(zip(edges, edges[1:])))
        if len(set(labels)) != len(labels):
            self.add(qe.BadBins, "bins", "cut points are too close together to label apart", "space them further")
            return None
        return Bins(edges=edges, labels=labels)

    def _filter(self, index: int, spec_filter: FilterSpec, columns: Mapping[str, ColumnPolicy]) -> ValidatedFilter | None:
        field = f"filters[{index}]"
        column = self._lookup(f"{field}.column", spec_filter.column, columns)
        if column is None:
            return None
        name, op, value = spec_filter.column, spec_filter.op, spec_filter.value
        ordered = column.type in (*NUMERIC, "date", "datetime")
        if not ordered and op not in ("==", "!=", "in"):
            self.add(qe.BadFilter, f"{field}.op", f"'{op}' does not apply to {column.type} column '{name}'",
                     "use ==, != or in")
            return None
        if op == "in":
            if not isinstance(value, tuple) or not 1 <= len(value) <= MAX_IN_VALUES:
                self.add(qe.BadFilter, f"{field}.value", "'in' needs a list of values",
                         f"give a list of 1 to {MAX_IN_VALUES} values, e.g. [\"a\", \"b\"]")
                return None
            values = value
        elif isinstance(value, tuple):
            self.add(qe.BadFilter, f"{field}.value", f"'{op}' compares with one value, not a list",
                     "give one value, or use op 'in'")
            return None
        else:
            values = (value,)
        typed = [self._filter_value(field, name, column, v) for v in values]
        if any(t is _INVALID for t in typed):
            return None
        return ValidatedFilter(column=name, column_type=column.type, op=op, values=tuple(typed))

    def _filter_value(self, field: str, name: str, column: ColumnPolicy, value: Any) -> Any:
        kind = column.type
        if kind in NUMERIC:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                self.add(qe.BadFilter, f"{field}.value", f"{value!r} is not a finite number, and column '{name}' "
                         "is numeric", "compare with a number")
                return _INVALID
            return value
        if kind in ("date", "datetime"):
            parsed = _parse_temporal(value, kind)
            if parsed is None:
                example = "2024-04-01" if kind == "date" else "2024-04-01T09:30:00"
                self.add(qe.BadFilter, f"{field}.value", f"{value!r} is not a {kind} in ISO format",
                         f"write it like \"{example}\"")
                return _INVALID
            return parsed
        keys = [k for k in category_keys(column) if k is not None]
        for key in keys:
            if _same_category(key, value):
                return key
        listed = f"use one of: {', '.join(map(str, keys))}" if column.public else \
            "use a category listed for this column in the dataset's policy"
        self.add(qe.BadFilter, f"{field}.value", f"{value!r} is not one of the policy's categories for column "
                 f"'{name}'", listed)
        return _INVALID

    def _group_by(self, columns: Mapping[str, ColumnPolicy], column: ColumnPolicy | None,
                  bins: Bins | None) -> tuple[GroupKeys, ...]:
        spec = self.spec
        by: list[GroupKeys] = []
        seen: set[str] = set()
        for index, name in enumerate(spec.group_by):
            field = f"group_by[{index}]"
            if name in seen:
                self.add(qe.BadSpec, field, f"column '{name}' appears twice", "list each column once")
                continue
            seen.add(name)
            if spec.statistic == "histogram" and name == spec.column:
                self.add(qe.BadSpec, field, f"the histogram already splits by column '{name}'", "remove it from group_by")
                continue
            group_column = self._lookup(field, name, columns)
            if group_column is None:
                continue
            if not group_column.public or group_column.type not in ("categorical", "boolean") or \
                    (group_column.type == "categorical" and not group_column.categories):
                self.add(qe.NotGroupable, field, f"column '{name}' is not a public group-by key in the policy "
                         "(its categories are not declared public)",
                         "group by a column the policy marks public: true, or filter on this one")
                continue
            by.append(GroupKeys(name, category_keys(group_column)))
        if spec.statistic == "histogram" and column is not None and spec.column is not None:
            if bins is not None:
                by.append(GroupKeys(spec.column, tuple(bins.labels)))
            elif column.type in ("categorical", "boolean"):
                by.append(GroupKeys(spec.column, category_keys(column)))
        cells = math.prod(len(group.keys) for group in by)
        if cells > MAX_GROUP_CELLS:
            self.add(qe.TooManyGroups, "group_by", f"the answer would have {cells} cells, more than the limit of "
                     f"{MAX_GROUP_CELLS}", "group by fewer columns, or use fewer bins")
        return tuple(by)

    def _epsilon(self) -> Decimal:
        epsilon, cap = self.spec.epsilon, self.policy.budgets.query_epsilon_max
        if not epsilon.is_finite():
            self.add(qe.BadPrivacyLoss, "epsilon", f"epsilon={epsilon} is not a finite number", f"give e.g. '0.1' (at most {cap})")
        elif epsilon <= 0:
            self.add(qe.BadPrivacyLoss, "epsilon", f"epsilon={epsilon} is not above zero",
                     f"give a positive amount, e.g. '0.1' (at most {cap})")
        elif epsilon > cap:
            self.add(qe.BadPrivacyLoss, "epsilon", f"epsilon={epsilon} is above this dataset's cap of {cap} per query",
                     f"ask for at most {cap}")
        elif -epsilon.normalize().as_tuple().exponent > EPSILON_DECIMAL_PLACES:  # type: ignore[operator]
            self.add(qe.BadPrivacyLoss, "epsilon", f"epsilon={epsilon} has more than {EPSILON_DECIMAL_PLACES} "
                     "decimal places", f"round it to {EPSILON_DECIMAL_PLACES} decimal places")
        return epsilon

    def _confidence(self) -> None:
        confidence = self.spec.confidence
        if not (math.isfinite(confidence) and 0 < confidence < 1):
            self.add(qe.BadSpec, "confidence", f"confidence={confidence!r} is not strictly between 0 and 1",
                     "give e.g. 0.95")


_INVALID = object()


def _same_category(key: Key, value: Any) -> bool:
    if isinstance(key, bool) or isinstance(value, bool):
        return type(key) is type(value) and key == value
    if isinstance(key, int):
        return isinstance(value, int) and key == value
    return isinstance(value, (str, int)) and str(value) == key


def _queryable(column: ColumnPolicy) -> bool:
    return column.identifier is None and column.type not in ("id", "text")


def _parse_temporal(value: Any, kind: str) -> int | None:
    """Days since 1970-01-01 for a date; microseconds since then (UTC) for a datetime."""
    if not isinstance(value, str):
        return None
    try:
        if kind == "date":
            return (dt.date.fromisoformat(value) - dt.date(1970, 1, 1)).days
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return (moment - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else format(value, ".12g")


def _pydantic_problem(error: Mapping[str, Any]) -> QueryProblem:
    loc = [str(part) for part in error["loc"]]
    top = loc[0] if loc else ""
    field = ".".join(p if not p.isdigit() else f"[{p}]" for p in loc).replace(".[", "[") or "(top level)"
    kind = {"epsilon": qe.BadPrivacyLoss, "bounds": qe.BadBounds, "filters": qe.BadFilter,
            "bins": qe.BadBins, "bin_count": qe.BadBins}.get(top, qe.BadSpec)
    given = repr(error.get("input"))
    given = given if len(given) <= 60 else given[:57] + "..."
    if error["type"] == "extra_forbidden":
        known = sorted((FilterSpec if top == "filters" else QuerySpec).model_fields)
        guess = difflib.get_close_matches(loc[-1], known, n=1)
        fix = f"did you mean '{guess[0]}'?" if guess else f"remove it; known keys: {', '.join(known)}"
        return QueryProblem(kind, field, f"unknown key '{loc[-1]}'", fix)
    if error["type"] == "missing":
        return QueryProblem(kind, field, "this key is required", "add it")
    if error["type"] == "literal_error":
        return QueryProblem(kind, field, f"{given} is not allowed", f"use one of {error['ctx']['expected']}")
    if top == "epsilon":
        return QueryProblem(kind, field, f"{given} is not a finite number", "give a positive amount such as '0.1'")
    return QueryProblem(kind, field, f"{given}: {error['msg'].rstrip('.')}", "correct the value")


def _find_plan(value: Any, where: str, depth: int) -> str | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return where
    if isinstance(value, str):
        return where if value.startswith(_PICKLE_PREFIXES) and len(value) > 16 else None
    if depth > 6:
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and key.lower() in PLAN_KEYS:
                return path
            found = _find_plan(item, path, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find_plan(item, f"{where}[{index}]", depth + 1)
            if found is not None:
                return found
    return None


__all__ = [
    "DEFAULT_BIN_COUNT",
    "MAX_GROUP_CELLS",
    "Bins",
    "FilterSpec",
    "GroupKeys",
    "QuerySpec",
    "ValidatedFilter",
    "ValidatedQuery",
    "category_keys",
    "category_kind",
    "parse_spec",
    "reject_serialized_plan",
    "validate_query",
    "validate_spec",
]
