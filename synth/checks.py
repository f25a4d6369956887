"""Check real tables against their public schema, and convert them to clean types.

Every problem in every table is collected before anything is raised, so the data owner
fixes them in one pass. Problems give counts and row numbers, never values: the person
reading them may be allowed to run the pipeline without being allowed to see the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synth.errors import DataValidationError, Violation
from synth.rules import describe, violation_mask
from synth.schema import ColumnSchema, DatasetSchema, Rule, TableSchema

#: A twin learned from fewer rows would mostly copy them.
MIN_ROWS = 50
#: More levels than this makes a categorical column close to an identifier.
MAX_LEVELS = 1000
_EXAMPLE_ROWS = 3
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def check_dataset(tables: dict[str, pd.DataFrame], schema: DatasetSchema) -> dict[str, pd.DataFrame]:
    """Validate and type every table of a dataset.

    Returns:
        The tables with columns in schema order and converted to their declared types.

    Raises:
        DataValidationError: with every violation found.
    """
    violations: list[Violation] = []
    clean: dict[str, pd.DataFrame] = {}
    for table_schema in schema.tables:
        frame = tables.get(table_schema.name)
        if frame is None:
            violations.append(Violation(table_schema.name, None, "the table is missing",
                                        "provide the table's file at the path its policy names"))
            continue
        typed, table_violations = _check_table(frame, table_schema)
        violations += table_violations
        clean[table_schema.name] = typed
        if not table_violations:  # rules compare typed values, so only once the table's types are right
            violations += _rule_violations(typed, schema.rules_for(table_schema.name))
    if not violations:
        violations += _relationship_violations(clean, schema)
    if violations:
        raise DataValidationError(violations)
    return clean


def _check_table(frame: pd.DataFrame, schema: TableSchema) -> tuple[pd.DataFrame, list[Violation]]:
    name = schema.name
    violations: list[Violation] = []
    if len(frame) == 0:
        return frame, [Violation(name, None, "the table has no rows", "export the table again with its rows")]
    if len(frame) < MIN_ROWS:
        violations.append(Violation(name, None, f"the table has {len(frame)} rows, fewer than the "
                                    f"{MIN_ROWS} a twin needs", "provide more rows; a twin of so few rows "
                                    "would mostly copy them"))
    duplicates = frame.columns[frame.columns.duplicated()].tolist()
    for column in duplicates:
        violations.append(Violation(name, column, "the column appears twice", "remove the duplicate column"))
    missing = [c for c in schema.column_names if c not in frame.columns]
    extra = [c for c in frame.columns if c not in schema.column_names]
    for column in missing:
        violations.append(Violation(name, column, "the column is declared in the policy but missing from the data",
                                    "add the column to the data, or remove it from the policy"))
    for column in extra:
        violations.append(Violation(name, str(column), "the column is in the data but not in the policy",
                                    "declare it in the policy (with identifier: drop if it should not be used), "
                                    "or remove it from the data"))
    if duplicates:
        return frame, violations
    typed = {}
    for column in schema.columns:
        if column.name in missing:
            continue
        series, column_violations = _check_column(frame[column.name].reset_index(drop=True), column, name)
        typed[column.name] = series
        violations += column_violations
    clean = pd.DataFrame(typed)
    if schema.primary_key is not None and schema.primary_key in clean:
        violations += _key_violations(clean, schema)
    return clean, violations


def _check_column(series: pd.Series, column: ColumnSchema, table: str) -> tuple[pd.Series, list[Violation]]:
    violations: list[Violation] = []
    present = series.notna()
    if series.dtype == object:
        present &= _per_distinct_value(series, lambda value: str(value).strip() != "", fill=False).astype(bool)
    series = series.where(present)
    typed, unparsed = _convert(series, column)
    if unparsed.any():
        violations.append(_violation(table, column.name, f"values are not of type {column.kind}", unparsed,
                                     f"correct those values, or change the column's type in the policy"))
    nulls = ~present
    if len(series) and nulls.all():
        violations.append(Violation(table, column.name, "every value is missing", "remove the column from the "
                                    "data and the policy, or mark it identifier: drop", count=len(series)))
    elif nulls.any() and not column.nullable and not column.is_identifier:
        violations.append(_violation(table, column.name, "values are missing", nulls,
                                     "fill them in, or set nullable: true in the policy"))
    valid = present & ~unparsed
    if column.is_identifier:
        return typed, violations
    if column.bounds is not None and valid.any():
        lower, upper = (pd.Timestamp(b) for b in column.bounds) if column.is_temporal else column.bounds
        below, above = valid & (typed < lower), valid & (typed > upper)
        if below.any():
            violations.append(_violation(table, column.name, "values are below the policy's lower bound", below,
                                         "correct them, or widen the bounds if the public range allows it"))
        if above.any():
            violations.append(_violation(table, column.name, "values are above the policy's upper bound", above,
                                         "correct them, or widen the bounds if the public range allows it"))
    if column.kind == "categorical" and column.categories is not None and valid.any():
        levels = typed[valid].nunique()
        if levels > MAX_LEVELS:
            violations.append(Violation(table, column.name, f"the column has {levels} distinct values, more than "
                                        f"the {MAX_LEVELS} a categorical column may have", "coarsen it into fewer "
                                        "groups, or mark it identifier: drop"))
        else:
            unknown = valid & ~typed.isin(column.categories)
            if unknown.any():
                violations.append(_violation(table, column.name, "values are not among the policy's categories",
                                             unknown, "add the missing categories to the policy, or recode them"))
    return typed, violations


def _convert(series: pd.Series, column: ColumnSchema) -> tuple[pd.Series, pd.Series]:
    """The column in its declared type, and a mask of values that did not convert."""
    present = series.notna()
    kind = column.kind
    if kind in ("integer", "float"):
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        unparsed = present & numbers.isna()
        if kind == "integer":
            fractional = numbers.notna() & (numbers != np.round(numbers))
            unparsed |= fractional
            numbers = numbers.where(~fractional)
            return (numbers.astype("Int64") if numbers.isna().any() else numbers.astype("int64")), unparsed
        return numbers, unparsed
    if kind in ("date", "datetime"):
        if pd.api.types.is_datetime64_any_dtype(series):
            stamps = pd.to_datetime(series)
        else:
            stamps = pd.to_datetime(series, errors="coerce", format="mixed" if series.dtype == object else None)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert(None)
        stamps = stamps.astype("datetime64[ns]")
        if kind == "date":
            stamps = stamps.dt.normalize()
        return stamps, present & stamps.isna()
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(series):
            return series.astype("boolean"), pd.Series(False, index=series.index)
        text = series.astype(str).str.strip().str.lower()
        values = pd.Series(pd.NA, index=series.index, dtype="boolean")
        values[text.isin(_TRUE) & present] = True
        values[text.isin(_FALSE) & present] = False
        return values, present & values.isna()
    if kind == "id":
        numbers = pd.to_numeric(series, errors="coerce") if series.dtype == object else series
        if present.any() and numbers[present].notna().all() and (numbers[present] % 1 == 0).all():
            return numbers.astype("Int64" if not present.all() else "int64"), pd.Series(False, index=series.index)
        return series.astype("string").astype(object), pd.Series(False, index=series.index)
    # categorical and text: compare as text
    text = _per_distinct_value(series, _as_text, fill=None)
    return text, pd.Series(False, index=series.index)


def _per_distinct_value(series: pd.Series, function: Callable[[Any], Any], fill: Any) -> pd.Series:
    """``function`` applied once per distinct value (categories repeat a million times); ``fill`` for nulls."""
    codes, distinct = pd.factorize(series)
    results = np.array([function(value) for value in distinct] + [fill], dtype=object)
    return pd.Series(results[codes], index=series.index)  # code -1 (null) picks ``fill``


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _key_violations(frame: pd.DataFrame, schema: TableSchema) -> list[Violation]:
    key = frame[schema.primary_key]
    violations = []
    if key.isna().any():
        violations.append(_violation(schema.name, schema.primary_key, "the primary key has missing values",
                                     key.isna(), "give every row a key"))
    duplicated = key.duplicated(keep="first") & key.notna()
    if duplicated.any():
        violations.append(_violation(schema.name, schema.primary_key, "the primary key repeats", duplicated,
                                     "make each key unique"))
    return violations


def _relationship_violations(tables: dict[str, pd.DataFrame], schema: DatasetSchema) -> list[Violation]:
    violations = []
    for rel in schema.relationships:
        parent, child = tables.get(rel.parent), tables.get(rel.child)
        if parent is None or child is None:
            continue
        child_keys = child[rel.child_key]
        orphans = child_keys.notna() & ~child_keys.astype(str).isin(set(parent[rel.parent_key].astype(str)))
        if orphans.any():
            violations.append(_violation(rel.child, rel.child_key, f"rows refer to a {rel.parent} that does not "
                                         "exist", orphans, f"add the missing {rel.parent} rows, or remove "
                                         "those rows"))
        if child_keys.isna().any():
            violations.append(_violation(rel.child, rel.child_key, f"rows have no {rel.parent}", child_keys.isna(),
                                         f"give every row its {rel.parent}"))
    return violations


def _rule_violations(frame: pd.DataFrame, rules: tuple[Rule, ...]) -> list[Violation]:
    """Rules of the policy that real rows break: the twin would have to break them too, or lie."""
    found = []
    for rule in rules:
        broken = pd.Series(violation_mask(frame, rule))
        if broken.any():
            found.append(_violation(rule.table, ", ".join(rule.columns), f"rows break the {rule.kind} rule "
                                    f"'{describe(rule)}'", broken, "correct the data or remove the rule from "
                                    "the policy"))
    return found


def _violation(table: str, column: str, problem: str, mask: pd.Series, fix: str) -> Violation:
    positions = np.flatnonzero(mask.to_numpy(dtype=bool))
    return Violation(table, column, problem, fix, count=int(len(positions)),
                     rows=tuple(int(p) + 1 for p in positions[:_EXAMPLE_ROWS]))
