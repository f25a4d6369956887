"""The public description of a dataset: tables, columns, keys and their public bounds.

Everything here is *public* information that a data owner declares (in a policy); none
of it is read from the real data. The twin's metadata, the checks on incoming data and
the post-processing of sampled rows all come from these values, so that no real
minimum, maximum or category set is ever disclosed through a twin.

This module has no internal imports: every other part of ``synth`` depends on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "integer", "float", "categorical", "boolean", "date", "datetime", "text"]
IdentifierHandling = Literal["drop", "fake"]

NUMERIC_KINDS = ("integer", "float")
TEMPORAL_KINDS = ("date", "datetime")

#: Fake-value generators a policy may name for an identifier column (see synth.identifiers).
FAKE_PROVIDERS = (
    "name",
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "postcode",
    "address",
    "national_insurance_number",
    "ssn",
    "date_of_birth",
    "uuid",
)


@dataclass(frozen=True)
class ColumnSchema:
    """One column's public type information.

    Attributes:
        name: column name in the source table.
        kind: the column's type; ``id`` marks key columns.
        bounds: inclusive public (lower, upper) for numeric and temporal columns.
        categories: the public category set for categorical columns.
        nullable: whether missing values are allowed.
        identifier: ``drop`` or ``fake`` for direct identifiers, else None.
        fake_as: the fake-value provider for ``identifier == "fake"``.
        unit: a human-readable unit, shown in reports and cards.
        description: what the column means.
    """

    name: str
    kind: ColumnKind
    bounds: tuple[float, float] | tuple[dt.date, dt.date] | tuple[dt.datetime, dt.datetime] | None = None
    categories: tuple[str, ...] | None = None
    nullable: bool = False
    identifier: IdentifierHandling | None = None
    fake_as: str | None = None
    unit: str | None = None
    description: str = ""

    @property
    def is_identifier(self) -> bool:
        return self.identifier is not None

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def is_temporal(self) -> bool:
        return self.kind in TEMPORAL_KINDS


@dataclass(frozen=True)
class TableSchema:
    """A table: its columns in order and its primary key (if any)."""

    name: str
    columns: tuple[ColumnSchema, ...]
    primary_key: str | None = None

    def column(self, name: str) -> ColumnSchema:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(col.name for col in self.columns)

    @property
    def modelled_columns(self) -> tuple[ColumnSchema, ...]:
        """Columns the synthesizer learns: all but the direct identifiers."""
        return tuple(col for col in self.columns if not col.is_identifier)


@dataclass(frozen=True)
class Relationship:
    """A foreign key: every ``child.child_key`` value must exist in ``parent.parent_key``."""

    parent: str
    parent_key: str
    child: str
    child_key: str


#: A value a rule's condition compares with: a category, a boolean, or None for "missing".
RuleValue = str | bool | None
#: ``column = value`` conditions that must all hold, in the policy's order.
Conditions = tuple[tuple[str, RuleValue], ...]


@dataclass(frozen=True)
class BandsRule:
    """``column`` is the label of the band (inclusive ``lower``–``upper``) that ``source`` falls in."""

    table: str
    column: str
    source: str
    bands: tuple[tuple[str, float, float], ...]
    kind: str = field(default="bands", init=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.source, self.column)


@dataclass(frozen=True)
class BirthDateRule:
    """The date in ``column`` gives the whole-year age in ``source`` on ``reference_date``."""

    table: str
    column: str
    source: str
    reference_date: dt.date
    kind: str = field(default="birth_date", init=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.source, self.column)


@dataclass(frozen=True)
class OrderRule:
    """The columns never decrease from left to right, wherever both of a pair are present."""

    table: str
    columns: tuple[str, ...]
    kind: str = field(default="order", init=False)


@dataclass(frozen=True)
class ForbiddenRule:
    """No row has all of ``when`` at once."""

    table: str
    when: Conditions
    kind: str = field(default="forbidden", init=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.when)


@dataclass(frozen=True)
class ImpliesRule:
    """A row with all of ``if_`` has all of ``then``."""

    table: str
    if_: Conditions
    then: Conditions
    kind: str = field(default="implies", init=False)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.if_ + self.then)


Rule = BandsRule | BirthDateRule | OrderRule | ForbiddenRule | ImpliesRule


@dataclass(frozen=True)
class DatasetSchema:
    """A dataset: one table, or several related by foreign keys, and the rules its rows obey
    (synth.rules checks the real data against them and keeps them in every twin)."""

    name: str
    tables: tuple[TableSchema, ...]
    relationships: tuple[Relationship, ...] = field(default=())
    rules: tuple[Rule, ...] = field(default=())

    def table(self, name: str) -> TableSchema:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    def rules_for(self, table: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.table == table)

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(table.name for table in self.tables)

    @property
    def is_multi_table(self) -> bool:
        return len(self.tables) > 1

    @property
    def root_table(self) -> str:
        """The first table that is no other table's child (the one a twin's size is counted in)."""
        children = {rel.child for rel in self.relationships}
        return next(t.name for t in self.tables if t.name not in children)
