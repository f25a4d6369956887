"""The ledger's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Four tables:

- ``ledger_datasets``: per dataset, the limits its policy sets (dataset, per-user,
  per-query cap, in units of 1e-12 epsilon) and the data owner to name in refusals.
- ``ledger_budgets``: one row per budget pool (the dataset's lifetime budget, each user's
  allowance, each group's allowance) with its policy limit, top-ups, running total spent
  and frozen flag. These rows are what a reservation locks; their totals are a cache that
  ``Ledger.check_consistency`` verifies against the lines below.
- ``ledger_entries``: the append-only journal, one row per event (a reservation, an
  outcome, a top-up, a freeze, an unfreeze, a policy change).
- ``ledger_lines``: append-only, one row per budget an entry touched, with the amount it
  moved and the running totals after it.

Database triggers refuse UPDATE, DELETE (and, on PostgreSQL, TRUNCATE) on the two
append-only tables, so that not even a bug in this package can rewrite history.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)

#: Bumped when the tables change incompatibly; stored in ``ledger_meta``.
SCHEMA_VERSION = 1

#: A 64-bit key that still autoincrements on SQLite (only INTEGER PRIMARY KEY is a rowid there).
_Key = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData()

meta = Table(
    "ledger_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

datasets = Table(
    "ledger_datasets", metadata,
    Column("dataset", String(64), primary_key=True),
    Column("owner", String(255), nullable=False, default=""),
    Column("user_units", BigInteger, nullable=False),
    Column("query_cap_units", BigInteger, nullable=False),
    Column("retired", Boolean, nullable=False, default=False),
    Column("synced_at", DateTime(timezone=False), nullable=False),
)

budgets = Table(
    "ledger_budgets", metadata,
    Column("id", _Key, primary_key=True, autoincrement=True),
    Column("dataset", String(64), ForeignKey("ledger_datasets.dataset"), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("holder", String(255), nullable=False),
    # NULL for a group the current policy no longer gives an allowance: its pool is inactive.
    Column("policy_units", BigInteger, nullable=True),
    Column("topup_units", BigInteger, nullable=False, default=0),
    Column("spent_units", BigInteger, nullable=False, default=0),
    Column("frozen", Boolean, nullable=False, default=False),
    UniqueConstraint("dataset", "scope", "holder", name="ledger_budgets_pool"),
    CheckConstraint("scope IN ('dataset', 'user', 'group')", name="ledger_budgets_scope"),
    CheckConstraint("topup_units >= 0 AND spent_units >= 0", name="ledger_budgets_nonnegative"),
)

entries = Table(
    "ledger_entries", metadata,
    Column("id", _Key, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=False), nullable=False),  # UTC
    Column("action", String(16), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("dataset", String(64), nullable=False),
    Column("kind", String(40), nullable=True),
    Column("units", BigInteger, nullable=False, default=0),
    Column("groups", Text, nullable=False, default="[]"),  # JSON list
    Column("description", Text, nullable=False, default="{}"),  # JSON object
    # An outcome names its reservation; UNIQUE makes a second outcome impossible.
    Column("reservation_id", _Key, ForeignKey("ledger_entries.id"), nullable=True, unique=True),
    CheckConstraint("action IN ('reserve', 'outcome', 'top_up', 'freeze', 'unfreeze', 'policy')",
                    name="ledger_entries_action"),
    CheckConstraint("units >= 0", name="ledger_entries_nonnegative"),
    CheckConstraint("(action = 'outcome') = (reservation_id IS NOT NULL)", name="ledger_entries_outcome_ref"),
)
Index("ledger_entries_dataset", entries.c.dataset, entries.c.id)
Index("ledger_entries_actor", entries.c.actor, entries.c.id)

lines = Table(
    "ledger_lines", metadata,
    Column("entry_id", _Key, ForeignKey("ledger_entries.id"), primary_key=True),
    Column("budget_id", _Key, ForeignKey("ledger_budgets.id"), primary_key=True),
    Column("spent_units", BigInteger, nullable=False, default=0),  # charged by this entry
    Column("topup_units", BigInteger, nullable=False, default=0),  # added to the limit by this entry
    Column("spent_after", BigInteger, nullable=False),
    Column("limit_after", BigInteger, nullable=False),
    CheckConstraint("spent_units >= 0 AND topup_units >= 0", name="ledger_lines_nonnegative"),
)
Index("ledger_lines_budget", lines.c.budget_id, lines.c.entry_id)

_APPEND_ONLY = (entries, lines)

for _table in _APPEND_ONLY:
    for _verb in ("UPDATE", "DELETE"):
        event.listen(_table, "after_create", DDL(
            f"CREATE TRIGGER {_table.name}_no_{_verb.lower()} BEFORE {_verb} ON {_table.name} "
            f"BEGIN SELECT RAISE(ABORT, '{_table.name} is append-only'); END"
        ).execute_if(dialect="sqlite"))
    event.listen(_table, "after_create", DDL(
        "CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME; END $$"
    ).execute_if(dialect="postgresql"))
    event.listen(_table, "after_create", DDL(
        f"CREATE TRIGGER {_table.name}_append_only BEFORE UPDATE OR DELETE ON {_table.name} "
        "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
    ).execute_if(dialect="postgresql"))
    event.listen(_table, "after_create", DDL(
        f"CREATE TRIGGER {_table.name}_no_truncate BEFORE TRUNCATE ON {_table.name} "
        "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
    ).execute_if(dialect="postgresql"))
