"""Translate a policy into the twin pipeline's inputs (schema, synthesis spec, gates)."""

from __future__ import annotations

import datetime as dt

from lab.policies.model import ColumnPolicy, Policy, RulePolicy
from synth.schema import (BandsRule, BirthDateRule, ColumnSchema, DatasetSchema, ForbiddenRule, ImpliesRule,
                          OrderRule, Relationship, Rule, TableSchema)
from synth.spec import ReleaseGates, SynthesisSpec


def dataset_schema(policy: Policy) -> DatasetSchema:
    """The public schema of a policy's dataset."""
    tables = tuple(
        TableSchema(
            name=table_name,
            columns=tuple(_column(name, column) for name, column in table.columns.items()),
            primary_key=table.primary_key,
        )
        for table_name, table in policy.tables.items()
    )
    relationships = tuple(
        Relationship(*rel.parent.split(".", 1), *rel.child.split(".", 1)) for rel in policy.relationships
    )
    return DatasetSchema(name=policy.dataset, tables=tables, relationships=relationships,
                         rules=tuple(_rule(rule, policy) for rule in policy.rules))


def _rule(rule: RulePolicy, policy: Policy) -> Rule:
    """A policy rule for the pipeline: its table resolved, condition values as the twin holds them."""
    table = rule.table or policy.main_table
    if rule.kind == "bands":
        bands = tuple((label, float(lo), float(hi)) for label, (lo, hi) in rule.bands.items())
        return BandsRule(table, rule.column, rule.source, bands)
    if rule.kind == "birth_date":
        return BirthDateRule(table, rule.column, rule.source, rule.reference_date)
    if rule.kind == "order":
        return OrderRule(table, tuple(rule.columns))
    if rule.kind == "forbidden":
        return ForbiddenRule(table, _conditions(rule.when))
    return ImpliesRule(table, _conditions(rule.if_), _conditions(rule.then))


def _conditions(values: dict) -> tuple:  # noqa: ANN001 - (column, category text | bool | None) pairs
    # categories are compared as text, as synth.checks reads them (1 -> "1"); booleans and null stay
    return tuple((name, v if v is None or isinstance(v, bool) else str(v)) for name, v in values.items())


def synthesis_spec(policy: Policy) -> SynthesisSpec:
    """The synthesis settings of a policy."""
    synthesis = policy.synthesis
    target_table, target = None, synthesis.utility_target
    if target is not None and "." in target:
        target_table, target = target.split(".", 1)
    return SynthesisSpec(
        synthesizer=synthesis.synthesizer,
        parameters=dict(synthesis.parameters),
        seed=synthesis.seed,
        rows=synthesis.rows,
        holdout_fraction=synthesis.holdout_fraction,
        evaluation_rows=synthesis.evaluation_rows,
        utility_target=target,
        utility_table=target_table,
        max_rows_per_person=policy.privacy_unit.max_rows_per_person,
    )


def release_gates(policy: Policy) -> ReleaseGates:
    """The release gates of a policy."""
    gates = policy.release_gates
    return ReleaseGates(
        min_quality=gates.min_quality,
        max_exact_copy_rate=gates.max_exact_copy_rate,
        min_dcr_protection=gates.min_dcr_protection,
        max_identifier_leaks=gates.max_identifier_leaks,
        min_utility=gates.min_utility,
    )


def _column(name: str, column: ColumnPolicy) -> ColumnSchema:
    categories = None
    if column.type == "categorical" and column.categories:
        categories = tuple(str(c) for c in column.categories)
    elif column.type == "boolean":
        categories = ("False", "True")
    return ColumnSchema(
        name=name,
        kind=column.type,
        bounds=_bounds(column),
        categories=categories,
        nullable=column.nullable,
        identifier=column.identifier,
        fake_as=column.fake_as,
        unit=column.unit,
        description=column.description,
    )


def _bounds(column: ColumnPolicy):  # noqa: ANN202 - a tuple of numbers, dates or datetimes
    if column.bounds is None:
        return None
    lower, upper = column.bounds
    if column.type == "date":
        return (_as_date(lower), _as_date(upper))
    if column.type == "datetime":
        return (_as_datetime(lower), _as_datetime(upper))
    return (float(lower), float(upper))


def _as_date(value: object) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value  # type: ignore[return-value]


def _as_datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time())  # type: ignore[arg-type]
