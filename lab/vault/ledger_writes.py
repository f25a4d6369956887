"""The ledger's write steps, each run inside a write transaction (see lab.vault.ledger_db).

A write locks the budget rows it will check (``lock_pools``), appends one journal entry
(``new_entry``) and then, for each budget it touched, one journal line with the running
totals after it, and moves the cached totals on the budget rows (``charge_pools``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, insert, select, update

from lab.vault.amounts import MAX_UNITS, format_epsilon
from lab.vault.errors import InvalidAmount
from lab.vault.ledger_db import insert_ignoring_duplicates
from lab.vault.ledger_schema import budgets, entries, lines


@dataclass(frozen=True)
class Pool:
    """A budget row as read under its lock (amounts in units of 1e-12 epsilon)."""

    id: int
    dataset: str
    scope: str
    holder: str
    policy_units: int | None
    topup_units: int
    spent_units: int
    frozen: bool

    @property
    def limit(self) -> int:
        """The policy's limit plus top-ups (a group the policy dropped keeps only its top-ups)."""
        return (self.policy_units or 0) + self.topup_units

    @property
    def spent(self) -> int:
        return self.spent_units

    @classmethod
    def from_row(cls, row: Any) -> Pool:
        return cls(id=row.id, dataset=row.dataset, scope=row.scope, holder=row.holder,
                   policy_units=row.policy_units, topup_units=row.topup_units, spent_units=row.spent_units,
                   frozen=bool(row.frozen))


def lock_pools(conn: Connection, query: Select[Any]) -> list[Pool]:
    """Read budget rows with a row lock (PostgreSQL), always in id order so that no two
    transactions can wait on each other. On SQLite the transaction already holds the
    database's write lock."""
    return [Pool.from_row(row) for row in conn.execute(query.order_by(budgets.c.id).with_for_update()).all()]


def lock_pool(conn: Connection, dataset: str, scope: str, holder: str, user_units: int) -> Pool | None:
    """Lock one budget, creating a user's allowance on first use; None for a group without one."""
    if scope == "user":
        insert_ignoring_duplicates(conn, budgets, dict(dataset=dataset, scope="user", holder=holder,
                                                       policy_units=user_units, topup_units=0, spent_units=0,
                                                       frozen=False))
    query = select(budgets).where(budgets.c.dataset == dataset, budgets.c.scope == scope, budgets.c.holder == holder)
    if scope == "group":
        query = query.where(budgets.c.policy_units.is_not(None))
    found = lock_pools(conn, query)
    return found[0] if found else None


def new_entry(conn: Connection, *, at: dt.datetime, action: str, actor: str, dataset: str, kind: str | None,
              units: int, groups: str, description: str, reservation_id: int | None = None) -> int:
    """Append one journal entry; returns its id. ``at`` is stored as naive UTC."""
    result = conn.execute(insert(entries).values(
        at=at.astimezone(dt.timezone.utc).replace(tzinfo=None), action=action, actor=actor, dataset=dataset,
        kind=kind, units=units, groups=groups, description=description, reservation_id=reservation_id))
    return int(result.inserted_primary_key[0])


def charge_pools(conn: Connection, entry_id: int, pools: Sequence[Pool], *, spent: int = 0, topup: int = 0,
                 frozen: bool | None = None) -> None:
    """Append a line per budget for ``entry_id`` and move the budgets' totals accordingly.

    Raises:
        InvalidAmount: a top-up would take a limit beyond what the ledger can count.
    """
    for pool in pools:
        if pool.limit + topup > MAX_UNITS or pool.spent + spent > MAX_UNITS:
            raise InvalidAmount(f"this would take {pool.scope} budget '{pool.holder or pool.dataset}' beyond the "
                                f"ledger's maximum (it stands at {format_epsilon(pool.limit)}).")
    conn.execute(insert(lines), [
        dict(entry_id=entry_id, budget_id=pool.id, spent_units=spent, topup_units=topup,
             spent_after=pool.spent + spent, limit_after=pool.limit + topup)
        for pool in pools])
    values: dict[str, Any] = {}
    if spent:
        values["spent_units"] = budgets.c.spent_units + spent
    if topup:
        values["topup_units"] = budgets.c.topup_units + topup
    if frozen is not None:
        values["frozen"] = frozen
    if values:
        conn.execute(update(budgets).where(budgets.c.id.in_([pool.id for pool in pools])).values(**values))
