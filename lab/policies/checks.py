"""Rules that relate one part of a policy to another.

Each check returns problems instead of raising, so that a data owner sees every problem in
a file at once. Keys are dotted paths as written in the file (``tables.claims.columns.age``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import PurePosixPath

from lab.policies.model import ColumnPolicy, Policy, RulePolicy
from synth.schema import FAKE_PROVIDERS
from synth.spec import DP_SYNTHESIZERS, TREE_SYNTHESIZERS
from synth.spec import SINGLE_TABLE_SYNTHESIZERS as SINGLE_TABLE

#: Above this many levels a categorical column is refused: each rare level is close to an
#: identifier, and the synthesizers cannot learn it usefully.
MAX_CATEGORIES = 1000


Problem = tuple[str, str, str]  # (key, problem, fix)


def policy_problems(policy: Policy, file_stem: str | None = None) -> list[Problem]:
    """All cross-field problems in a structurally valid policy."""
    problems: list[Problem] = []
    if file_stem is not None and file_stem != policy.dataset:
        problems.append(
            ("dataset", f"the dataset is named '{policy.dataset}' but the file is '{file_stem}.yaml'",
             f"rename the file to '{policy.dataset}.yaml' or set dataset: {file_stem}")
        )
    for table_name, table in policy.tables.items():
        base = f"tables.{table_name}"
        problems += _path_problems(f"{base}.path", table.path)
        for column_name, column in table.columns.items():
            problems += _column_problems(f"{base}.columns.{column_name}", column)
        if table.primary_key is not None:
            key_column = table.columns.get(table.primary_key)
            if key_column is None:
                problems.append((f"{base}.primary_key", f"'{table.primary_key}' is not a column of this table",
                                 f"use one of: {', '.join(table.columns)}"))
            elif key_column.type != "id":
                problems.append((f"{base}.primary_key", f"column '{table.primary_key}' has type '{key_column.type}'",
                                 "give the key column type: id"))
    problems += _relationship_problems(policy)
    problems += _privacy_unit_problems(policy)
    problems += _budget_problems(policy)
    problems += _synthesis_problems(policy)
    problems += rule_problems(policy)
    return problems


def _path_problems(key: str, path: str) -> list[Problem]:
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        return [(key, f"'{path}' leaves the vault's data directory",
                 "give a path relative to the vault's data directory, without '..'")]
    if pure.suffix.lower() not in (".csv", ".parquet"):
        return [(key, f"'{path}' is neither .csv nor .parquet", "point to a .csv or .parquet file")]
    return []


def _column_problems(key: str, column: ColumnPolicy) -> list[Problem]:
    problems: list[Problem] = []
    kind = column.type
    if kind in ("integer", "float", "date", "datetime") and not column.identifier:
        problems += _bounds_problems(key, column)
    elif column.bounds is not None:
        problems.append((f"{key}.bounds", f"bounds do not apply to a column of type '{kind}'", "remove bounds"))
    if kind == "categorical" and not column.identifier:
        if not column.categories:
            problems.append((f"{key}.categories", "a categorical column needs its public category set",
                             "list the categories, e.g. categories: [a, b, c]"))
        else:
            names = [str(c) for c in column.categories]
            if len(set(names)) != len(names):
                problems.append((f"{key}.categories", "the categories repeat a value", "list each category once"))
            if len(names) > MAX_CATEGORIES:
                problems.append((f"{key}.categories",
                                 f"{len(names)} categories is more than the limit of {MAX_CATEGORIES}",
                                 "coarsen the column into fewer groups, or mark it identifier: drop"))
    elif column.categories is not None and kind != "boolean":
        problems.append((f"{key}.categories", f"categories do not apply to a column of type '{kind}'",
                         "remove categories, or set type: categorical"))
    if kind == "text" and not column.identifier:
        problems.append((key, "free-text columns cannot be synthesized and may hold personal details",
                         "mark it identifier: drop, or identifier: fake with fake_as"))
    if column.identifier == "fake":
        if column.fake_as is None:
            problems.append((f"{key}.fake_as", "identifier: fake needs a fake-value provider",
                             f"set fake_as to one of: {', '.join(FAKE_PROVIDERS)}"))
        elif column.fake_as not in FAKE_PROVIDERS:
            problems.append((f"{key}.fake_as", f"'{column.fake_as}' is not a known provider",
                             f"use one of: {', '.join(FAKE_PROVIDERS)}"))
    elif column.fake_as is not None:
        problems.append((f"{key}.fake_as", "fake_as is only used with identifier: fake",
                         "set identifier: fake, or remove fake_as"))
    if column.identifier and kind == "id":
        problems.append((f"{key}.identifier", "key columns are always replaced with new keys in a twin",
                         "remove identifier from this id column"))
    if column.public and (kind not in ("categorical", "boolean") or column.identifier):
        problems.append((f"{key}.public", "only categorical or boolean columns can be public group-by keys",
                         "remove public: true"))
    return problems


def _bounds_problems(key: str, column: ColumnPolicy) -> list[Problem]:
    if column.bounds is None:
        return [(f"{key}.bounds", f"a column of type '{column.type}' needs public bounds",
                 "declare bounds: [lower, upper] from public knowledge, never from the data")]
    lower, upper = column.bounds
    temporal = column.type in ("date", "datetime")
    if temporal != isinstance(lower, dt.date) or temporal != isinstance(upper, dt.date):
        wanted = "dates such as 2020-01-31" if temporal else "numbers"
        return [(f"{key}.bounds", "the bounds are not of the column's type", f"write both bounds as {wanted}")]
    if temporal:
        problem = _temporal_bounds_problem(column.type, lower, upper)
        if problem:
            return [(f"{key}.bounds", *problem)]
        lower, upper = _as_datetime(lower), _as_datetime(upper)  # a date and a datetime do not compare
    if isinstance(lower, float) and (lower != lower or upper != upper or abs(lower) == float("inf")
                                     or abs(upper) == float("inf")):
        return [(f"{key}.bounds", "bounds must be finite numbers", "replace NaN or infinite bounds")]
    if not lower < upper:
        return [(f"{key}.bounds", "the lower bound is not below the upper bound", "write bounds as [lower, upper]")]
    return []


def rule_problems(policy: Policy) -> list[Problem]:
    """Each rule names existing columns of kinds it can compare, with values from the policy's categories."""
    problems: list[Problem] = []
    for index, rule in enumerate(policy.rules):
        key = f"rules[{index}]"
        table = rule.table or policy.main_table
        if table not in policy.tables:
            problems.append((f"{key}.table", f"'{table}' is not a table of this policy",
                             f"use one of: {', '.join(policy.tables)}"))
            continue
        columns = policy.tables[table].columns
        named = _rule_columns(rule)
        missing = [(k, c) for k, c in named if c not in columns]
        problems += [(f"{key}.{k}", f"'{c}' is not a column of table '{table}'", f"use one of: {', '.join(columns)}")
                     for k, c in missing]
        if missing:
            continue
        for k, name in named:
            fake_birth_date = rule.kind == "birth_date" and k == "column" and columns[name].identifier == "fake"
            if columns[name].identifier and not fake_birth_date:
                problems.append((f"{key}.{k}", f"'{name}' is an identifier ({columns[name].identifier}), so the "
                                 "twin cannot keep a rule on it", "remove the rule, or name a modelled column"))
        problems += _RULE_CHECKS[rule.kind](key, rule, columns)
    return problems


def _rule_columns(rule: RulePolicy) -> list[tuple[str, str]]:
    """(key, column) for every column a rule names, keys as written in the file."""
    if rule.kind in ("bands", "birth_date"):
        return [("column", rule.column), ("from", rule.source)]
    if rule.kind == "order":
        return [("columns", c) for c in rule.columns]
    if rule.kind == "forbidden":
        return [(f"when.{c}", c) for c in rule.when]
    return [(f"if.{c}", c) for c in rule.if_] + [(f"then.{c}", c) for c in rule.then]


def _bands_rule_problems(key: str, rule: RulePolicy, columns: dict[str, ColumnPolicy]) -> list[Problem]:
    target, source = columns[rule.column], columns[rule.source]
    if target.type != "categorical" or source.type not in ("integer", "float"):
        return [(key, f"bands derive a categorical column from a number; '{rule.column}' is {target.type} and "
                 f"'{rule.source}' is {source.type}", "name a categorical column and a numeric source")]
    problems: list[Problem] = []
    labels, categories = set(rule.bands), {str(c) for c in target.categories or ()}
    if labels != categories:
        extra, absent = sorted(labels - categories), sorted(categories - labels)
        problems.append((f"{key}.bands", "the band labels are not exactly the categories of "
                         f"'{rule.column}'" + (f" (not categories: {', '.join(extra)})" if extra else "")
                         + (f" (no band for: {', '.join(absent)})" if absent else ""),
                         "give one band per category, named as in its categories list"))
    spans = sorted((lo, hi, label) for label, (lo, hi) in rule.bands.items())
    for lo, hi, label in spans:
        if lo > hi:
            problems.append((f"{key}.bands.{label}", "the lower end is above the upper end", "write [lower, upper]"))
        elif source.bounds and isinstance(source.bounds[0], (int, float)) and not (
                source.bounds[0] <= lo and hi <= source.bounds[1]):
            problems.append((f"{key}.bands.{label}", f"the band lies outside the bounds of '{rule.source}' "
                             f"({source.bounds[0]} to {source.bounds[1]})", "keep every band within those bounds"))
    for (lo, hi, label), (next_lo, _, next_label) in zip(spans, spans[1:]):
        if next_lo <= hi:
            problems.append((f"{key}.bands", f"bands '{label}' and '{next_label}' overlap",
                             "make the ranges disjoint (they are inclusive at both ends)"))
        elif source.type == "integer" and not target.nullable and next_lo > hi + 1:
            problems.append((f"{key}.bands", f"no band covers '{rule.source}' from {hi + 1} to {next_lo - 1}, so "
                             f"'{rule.column}' would be missing there", "close the gap, or set nullable: true"))
    bounds = source.bounds
    if source.type == "integer" and not target.nullable and bounds and not problems and (
            spans[0][0] > bounds[0] or spans[-1][1] < bounds[1]):
        problems.append((f"{key}.bands", f"the bands do not cover the bounds of '{rule.source}' ({bounds[0]} to "
                         f"{bounds[1]}), so '{rule.column}' would be missing at the ends",
                         "widen the first and last bands, or set nullable: true"))
    return problems


def _birth_date_rule_problems(key: str, rule: RulePolicy, columns: dict[str, ColumnPolicy]) -> list[Problem]:
    problems: list[Problem] = []
    if columns[rule.source].type != "integer":
        problems.append((f"{key}.from", f"'{rule.source}' is {columns[rule.source].type}; an age in whole years "
                         "is an integer column", "name an integer column"))
    if columns[rule.column].type not in ("date", "datetime"):
        problems.append((f"{key}.column", f"'{rule.column}' is {columns[rule.column].type}, not a date",
                         "name a date or datetime column"))
    return problems


def _order_rule_problems(key: str, rule: RulePolicy, columns: dict[str, ColumnPolicy]) -> list[Problem]:
    kinds = {("number" if columns[c].type in ("integer", "float") else "date" if columns[c].type in ("date",
              "datetime") else columns[c].type) for c in rule.columns}
    if len(kinds) != 1 or kinds - {"number", "date"}:
        return [(f"{key}.columns", f"columns of types {', '.join(columns[c].type for c in rule.columns)} cannot be "
                 "ordered together", "order numbers with numbers, or dates with dates")]
    return []


def _condition_rule_problems(key: str, rule: RulePolicy, columns: dict[str, ColumnPolicy]) -> list[Problem]:
    conditions = ([("when", rule.when)] if rule.kind == "forbidden" else [("if", rule.if_), ("then", rule.then)])
    problems: list[Problem] = []
    for part, values in conditions:
        for name, value in values.items():
            problem = _value_problem(columns[name], value)
            if problem:
                problems.append((f"{key}.{part}.{name}", *problem))
    return problems


def _value_problem(column: ColumnPolicy, value: object) -> tuple[str, str] | None:
    if value is None:
        return None if column.nullable else ("null (missing) but the column may not be missing",
                                             "set nullable: true on the column, or compare with a value")
    if column.type == "boolean":
        return None if isinstance(value, bool) else (f"'{value}' is not true or false", "write true or false")
    if column.type == "categorical":
        if not isinstance(value, bool) and str(value) in {str(c) for c in column.categories or ()}:
            return None
        return f"'{value}' is not one of the column's categories", "use one of its categories (see categories)"
    return (f"a {column.type} column cannot be compared with a value here",
            "compare categorical or boolean columns, or use null for missing")


_RULE_CHECKS = {"bands": _bands_rule_problems, "birth_date": _birth_date_rule_problems,
                "order": _order_rule_problems, "forbidden": _condition_rule_problems,
                "implies": _condition_rule_problems}


def _temporal_bounds_problem(kind: str, lower: dt.date, upper: dt.date) -> tuple[str, str] | None:
    """Dates and datetimes mix in YAML (``2020-01-01`` and ``2020-01-01T08:00``): say which way is meant."""
    stamps = [b for b in (lower, upper) if isinstance(b, dt.datetime)]
    if any(b.tzinfo is not None for b in stamps):
        return ("a bound carries a time zone", "write times without a zone, in UTC (e.g. 2020-01-31T08:00:00)")
    if kind == "date" and any(b.time() != dt.time() for b in stamps):
        return ("a date column's bound carries a time of day",
                "write dates such as 2020-01-31, or set type: datetime if times matter")
    return None


def _as_datetime(value: dt.date) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


def _split(ref: str) -> tuple[str, str]:
    table, column = ref.split(".", 1)
    return table, column


def _relationship_problems(policy: Policy) -> list[Problem]:
    problems: list[Problem] = []
    for index, rel in enumerate(policy.relationships):
        for side in ("parent", "child"):
            key = f"relationships[{index}].{side}"
            table, column = _split(getattr(rel, side))
            if table not in policy.tables:
                problems.append((key, f"'{table}' is not a table of this policy",
                                 f"use one of: {', '.join(policy.tables)}"))
            elif column not in policy.tables[table].columns:
                problems.append((key, f"'{column}' is not a column of table '{table}'",
                                 "name an id column of that table"))
            elif policy.tables[table].columns[column].type != "id":
                problems.append((key, f"'{table}.{column}' is not an id column", "give key columns type: id"))
        parent_table, parent_column = _split(rel.parent)
        if parent_table in policy.tables and policy.tables[parent_table].primary_key != parent_column:
            problems.append((f"relationships[{index}].parent", "a relationship must point at the parent's primary key",
                             f"set tables.{parent_table}.primary_key: {parent_column}"))
    if len(policy.tables) > 1 and not policy.relationships:
        problems.append(("relationships", "several tables but no relationship between them",
                         "add relationships: [{parent: table.key, child: table.key}]"))
    return problems


def _privacy_unit_problems(policy: Policy) -> list[Problem]:
    table = policy.privacy_unit.table
    if table is not None and table not in policy.tables:
        return [("privacy_unit.table", f"'{table}' is not a table of this policy",
                 f"use one of: {', '.join(policy.tables)}")]
    return []


def _budget_problems(policy: Policy) -> list[Problem]:
    budgets = policy.budgets
    problems: list[Problem] = []
    if budgets.user_epsilon > budgets.dataset_epsilon:
        problems.append(("budgets.user_epsilon", "a user's allowance exceeds the dataset's lifetime budget",
                         "lower user_epsilon or raise dataset_epsilon"))
    if budgets.query_epsilon_max > budgets.user_epsilon:
        problems.append(("budgets.query_epsilon_max", "one query may spend more than a user's allowance",
                         "lower query_epsilon_max to at most user_epsilon"))
    if budgets.query_epsilon_min > budgets.query_epsilon_max:
        problems.append(("budgets.query_epsilon_min", "the floor on one query is above the cap on one query",
                         "lower query_epsilon_min to at most query_epsilon_max"))
    for group, allowance in budgets.group_epsilon.items():
        if allowance > budgets.dataset_epsilon:
            problems.append((f"budgets.group_epsilon.{group}", "a group's allowance exceeds the dataset's budget",
                             "lower it to at most dataset_epsilon"))
    return problems


def _tree_problems(policy: Policy) -> list[Problem]:
    """The cart synthesizer's parameters: known names, a sane leaf size, a complete visit order."""
    from synth.cart import check_visit_order
    from synth.errors import SynthesisError
    from synth.synthesizers import CART_PARAMETERS

    parameters = policy.synthesis.parameters
    problems: list[Problem] = []
    for name in sorted(set(parameters) - set(CART_PARAMETERS)):
        problems.append((f"synthesis.parameters.{name}", "the cart synthesizer has no such parameter",
                         f"use only: {', '.join(CART_PARAMETERS)}"))
    min_leaf = parameters.get("min_leaf", 25)
    if isinstance(min_leaf, bool) or not isinstance(min_leaf, int) or min_leaf < 1:
        problems.append(("synthesis.parameters.min_leaf", f"{min_leaf!r} is not a whole number of at least 1",
                         "set min_leaf to the fewest real rows a leaf may hold, e.g. 5 (the default)"))
    order = parameters.get("visit_order")
    if order is None:
        return problems
    orders = order if isinstance(order, dict) else {policy.main_table: order}
    if len(policy.tables) > 1 and not isinstance(order, dict):
        return problems + [("synthesis.parameters.visit_order", "related tables need one list per table",
                            f"write visit_order: {{{', '.join(f'{t}: [...]' for t in policy.tables)}}}")]
    for table, columns in orders.items():
        key = "synthesis.parameters.visit_order" + (f".{table}" if isinstance(order, dict) else "")
        if table not in policy.tables or not isinstance(columns, list):
            problems.append((key, f"'{table}' is not a table of this policy, or its order is not a list",
                             f"give a list of columns for one of: {', '.join(policy.tables)}"))
            continue
        modelled = [name for name, column in policy.tables[table].columns.items()
                    if not column.identifier and column.type not in ("id", "text")]
        try:
            check_visit_order([str(c) for c in columns], modelled, table)
        except SynthesisError as error:
            problems.append((key, error.message.split(". Fix: ")[0],
                             f"list each of these columns exactly once: {', '.join(modelled)}"))
    return problems


def _synthesis_problems(policy: Policy) -> list[Problem]:
    synthesis = policy.synthesis
    problems: list[Problem] = []
    multi = len(policy.tables) > 1
    if multi and synthesis.synthesizer in SINGLE_TABLE and synthesis.synthesizer not in TREE_SYNTHESIZERS:
        problems.append(("synthesis.synthesizer", f"'{synthesis.synthesizer}' models one table, this dataset has "
                         f"{len(policy.tables)}", "use synthesizer: cart (or hma)"))
    if synthesis.synthesizer in TREE_SYNTHESIZERS:
        problems.extend(_tree_problems(policy))
    if not multi and synthesis.synthesizer == "hma":
        problems.append(("synthesis.synthesizer", "'hma' needs several related tables",
                         f"use one of: {', '.join(SINGLE_TABLE)}"))
    if synthesis.synthesizer in DP_SYNTHESIZERS:
        if multi:
            problems.append(("synthesis.synthesizer", f"'{synthesis.synthesizer}' models one table, this dataset has "
                             f"{len(policy.tables)} (DP twins of related tables are not supported)",
                             "publish a flattened single-table dataset with its own policy for the DP twin"))
        problems.extend(_dp_loss_problems(synthesis.parameters, policy.budgets.dataset_epsilon,
                                          policy.budgets.query_epsilon_max))
    elif synthesis.dp_only:
        problems.append(("synthesis.dp_only", "this dataset requires differentially private twins, and "
                         f"'{synthesis.synthesizer}' is not differentially private",
                         "use a DP synthesizer, or set dp_only: false if the data owner allows it"))
    target = synthesis.utility_target
    if target is not None:
        table, column = _split(target) if "." in target else (policy.main_table, target)
        columns = policy.tables.get(table).columns if table in policy.tables else {}
        if column not in columns:
            problems.append(("synthesis.utility_target", f"'{target}' is not a column of this policy",
                             "write 'table.column', or a column of the main table"))
        elif columns[column].identifier or columns[column].type in ("id", "text"):
            problems.append(("synthesis.utility_target", f"'{target}' is an identifier or key",
                             "choose a modelled column to predict"))
    return problems


def _dp_loss_problems(parameters: dict, dataset_epsilon: Decimal, release_cap: Decimal) -> list[Problem]:
    """A DP twin's epsilon / rho / delta: valid, and within the budget and the per-release cap once charged as ε."""
    from synth.dp.loss import privacy_loss
    from synth.errors import SynthesisError

    try:
        loss = privacy_loss(parameters)
    except SynthesisError as exc:
        return [("synthesis.parameters", str(exc).split(". Fix: ")[0], str(exc).split(". Fix: ")[-1]
                 if ". Fix: " in str(exc) else "see docs/twins.md")]
    charged = loss.charged_epsilon(loss.budget)
    key = "rho" if "rho" in parameters else "epsilon"
    if Decimal(repr(charged)) > dataset_epsilon:
        return [(f"synthesis.parameters.{key}", f"the DP twin would be charged ε = {charged:.6g}, more than the "
                 f"dataset's budget ({dataset_epsilon})", "lower it, or raise budgets.dataset_epsilon")]
    if Decimal(repr(charged)) > release_cap:
        return [(f"synthesis.parameters.{key}", f"the DP twin would be charged ε = {charged:.6g}, more than "
                 f"budgets.query_epsilon_max ({release_cap}), which caps every single release, twins included",
                 "lower it, or raise budgets.query_epsilon_max")]
    return []
