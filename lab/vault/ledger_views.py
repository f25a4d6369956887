"""Reading the ledger: budget statuses, journal entries, and the consistency audit.

Each function runs inside one read transaction (see lab.vault.ledger_db), so that it sees
one consistent state even while kernels keep charging.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, and_, exists, false, or_, select
from sqlalchemy.orm import aliased

from lab.vault.amounts import format_epsilon, from_units
from lab.vault.ledger_records import KEPT, BudgetStatus, Entry, RunningTotal, budget_label
from lab.vault.ledger_schema import budgets, datasets, entries, lines

_SCOPE_ORDER = {"dataset": 0, "user": 1, "group": 2}


def load_budgets(conn: Connection, *, dataset: str | None, user: str | None, groups: tuple[str, ...]) -> list[BudgetStatus]:
    """Budget statuses, ordered by dataset, then dataset / user / group budget, then holder."""
    query = (select(budgets, datasets.c.user_units)
             .join(datasets, budgets.c.dataset == datasets.c.dataset)
             .where(datasets.c.retired == false(), budgets.c.policy_units.is_not(None)))
    if dataset is not None:
        query = query.where(budgets.c.dataset == dataset)
    if user is not None or groups:
        wanted = [budgets.c.scope == "dataset"]
        if user is not None:
            wanted.append(and_(budgets.c.scope == "user", budgets.c.holder == user))
        if groups:
            wanted.append(and_(budgets.c.scope == "group", budgets.c.holder.in_(groups)))
        query = query.where(or_(*wanted))
    rows = conn.execute(query).all()
    statuses = [_status(row.dataset, row.scope, row.holder, row.policy_units, row.topup_units, row.spent_units,
                        bool(row.frozen)) for row in rows]
    if user is not None:  # someone who has not spent yet still has their whole allowance
        has_row = {row.dataset for row in rows if row.scope == "user"}
        statuses += [_status(row.dataset, "user", user, row.user_units, 0, 0, False)
                     for row in rows if row.scope == "dataset" and row.dataset not in has_row]
    return sorted(statuses, key=lambda s: (s.dataset, _SCOPE_ORDER[s.scope], s.holder))


def load_entries(conn: Connection, *, user: str | None = None, dataset: str | None = None,
                 entry_id: int | None = None) -> list[Entry]:
    """Journal entries oldest first, with running totals and reservation statuses."""
    conditions = []
    if entry_id is not None:
        conditions.append(entries.c.id == entry_id)
    if dataset is not None:
        conditions.append(entries.c.dataset == dataset)
    if user is not None:
        about_user = (select(lines.c.entry_id).join(budgets, lines.c.budget_id == budgets.c.id)
                      .where(budgets.c.scope == "user", budgets.c.holder == user))
        conditions.append(or_(entries.c.actor == user, entries.c.id.in_(about_user)))
    chosen = select(entries.c.id).where(*conditions)
    rows = conn.execute(select(entries).where(*conditions).order_by(entries.c.id)).all()

    totals: dict[int, list[RunningTotal]] = defaultdict(list)
    for line in conn.execute(
            select(lines.c.entry_id, budgets.c.scope, budgets.c.holder, lines.c.spent_after, lines.c.limit_after)
            .join(budgets, lines.c.budget_id == budgets.c.id)
            .where(lines.c.entry_id.in_(chosen)).order_by(lines.c.entry_id, lines.c.budget_id)):
        totals[line.entry_id].append(RunningTotal(line.scope, line.holder, from_units(line.spent_after),
                                                  from_units(line.limit_after)))
    outcomes = {row.reservation_id: json.loads(row.description).get("outcome", KEPT) for row in conn.execute(
        select(entries.c.reservation_id, entries.c.description)
        .where(entries.c.action == "outcome", entries.c.reservation_id.in_(chosen)))}
    return [_entry(row, tuple(totals.get(row.id, ())), outcomes.get(row.id, KEPT)) for row in rows]


def consistency_problems(conn: Connection) -> list[str]:
    """Every way the ledger disagrees with itself, one line each (none: consistent)."""
    problems: list[str] = []
    pools = {row.id: row for row in conn.execute(select(budgets)).all()}
    spent: dict[int, int] = defaultdict(int)
    topped: dict[int, int] = defaultdict(int)
    for line in conn.execute(select(lines, entries.c.action, entries.c.units)
                             .join(entries, lines.c.entry_id == entries.c.id)
                             .order_by(lines.c.budget_id, lines.c.entry_id)):
        where = f"entry {line.entry_id}, {_pool_name(pools.get(line.budget_id), line.budget_id)}"
        spent[line.budget_id] += line.spent_units
        topped[line.budget_id] += line.topup_units
        if line.spent_after != spent[line.budget_id]:
            problems.append(f"{where}: running total spent is {format_epsilon(line.spent_after)}, "
                            f"but the charges up to it sum to {format_epsilon(spent[line.budget_id])}")
        if line.spent_units and line.spent_after > line.limit_after:
            problems.append(f"{where}: the charge took spending to {format_epsilon(line.spent_after)}, "
                            f"over the limit of {format_epsilon(line.limit_after)}")
        expected = {"reserve": (line.units, 0), "top_up": (0, line.units)}.get(line.action, (0, 0))
        if (line.spent_units, line.topup_units) != expected:
            problems.append(f"{where}: a {line.action} entry moved spending by {format_epsilon(line.spent_units)} "
                            f"and the limit by {format_epsilon(line.topup_units)}")
    for pool_id, pool in sorted(pools.items()):
        name = _pool_name(pool, pool_id)
        if pool.spent_units != spent[pool_id]:
            problems.append(f"{name}: spent {format_epsilon(pool.spent_units)}, but its journal lines sum to "
                            f"{format_epsilon(spent[pool_id])}")
        if pool.topup_units != topped[pool_id]:
            problems.append(f"{name}: topped up by {format_epsilon(pool.topup_units)}, but its journal lines "
                            f"sum to {format_epsilon(topped[pool_id])}")
    reservation = aliased(entries)
    for row in conn.execute(select(entries.c.id, entries.c.reservation_id, reservation.c.action)
                            .outerjoin(reservation, reservation.c.id == entries.c.reservation_id)
                            .where(entries.c.action == "outcome")):
        if row.action != "reserve":
            problems.append(f"entry {row.id}: an outcome for reservation {row.reservation_id}, "
                            "which is not a reservation in the ledger")
    for row in conn.execute(select(entries.c.id).where(
            entries.c.action == "reserve", ~exists().where(lines.c.entry_id == entries.c.id))):
        problems.append(f"entry {row.id}: a reservation that charged no budget")
    return problems


def _status(dataset: str, scope: str, holder: str, policy_units: int, topup_units: int, spent_units: int,
            frozen: bool) -> BudgetStatus:
    limit = policy_units + topup_units
    return BudgetStatus(dataset=dataset, scope=scope, holder=holder, limit=from_units(limit),
                        spent=from_units(spent_units), remaining=from_units(max(limit - spent_units, 0)),
                        frozen=frozen, policy_limit=from_units(policy_units), top_ups=from_units(topup_units))


def _entry(row: Any, totals: tuple[RunningTotal, ...], outcome: str) -> Entry:
    description = json.loads(row.description)
    if row.action == "reserve":
        status: str | None = outcome
    elif row.action == "outcome":
        status = description.get("outcome")
    else:
        status = None
    return Entry(id=int(row.id), at=row.at.replace(tzinfo=dt.timezone.utc), action=row.action, actor=row.actor,
                 dataset=row.dataset, kind=row.kind, epsilon=from_units(row.units), groups=tuple(json.loads(row.groups)),
                 description=description, reservation_id=row.reservation_id, status=status, totals=totals)


def _pool_name(pool: Any, pool_id: int) -> str:
    if pool is None:
        return f"budget #{pool_id} (missing)"
    return f"{budget_label(pool.scope, pool.holder)} on '{pool.dataset}'"
