"""Rules that relate one part of a policy to another.

Each check returns problems instead of raising, so that a data owner sees every problem in
a file at once. Keys are dotted paths as written in the file (``tables.claims.columns.age``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import PurePosixPath

from lab.policies.model import ColumnPolicy, Policy
from synth.schema import FAKE_PROVIDERS
from synth.spec import DP_SYNTHESIZERS
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
    if isinstance(lower, float) and (lower != lower or upper != upper or abs(lower) == float("inf")
                                     or abs(upper) == float("inf")):
        return [(f"{key}.bounds", "bounds must be finite numbers", "replace NaN or infinite bounds")]
    if not lower < upper:
        return [(f"{key}.bounds", "the lower bound is not below the upper bound", "write bounds as [lower, upper]")]
    return []


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
    for group, allowance in budgets.group_epsilon.items():
        if allowance > budgets.dataset_epsilon:
            problems.append((f"budgets.group_epsilon.{group}", "a group's allowance exceeds the dataset's budget",
                             "lower it to at most dataset_epsilon"))
    return problems


def _synthesis_problems(policy: Policy) -> list[Problem]:
    synthesis = policy.synthesis
    problems: list[Problem] = []
    multi = len(policy.tables) > 1
    if multi and synthesis.synthesizer in SINGLE_TABLE:
        problems.append(("synthesis.synthesizer", f"'{synthesis.synthesizer}' models one table, this dataset has "
                         f"{len(policy.tables)}", "use synthesizer: hma"))
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
