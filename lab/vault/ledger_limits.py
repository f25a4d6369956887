"""Budget limits from the policies, applied to the ledger as journal entries.

A policy sets a dataset's lifetime budget, each user's allowance, each group's allowance
and the per-query cap. Applying a policy changes limits only; spending and history stay.
Every change (including a dataset's first limits, and its retirement when its policy
disappears) is appended as a ``policy`` entry, with a line for every budget whose limit
moved, so an audit can tell which limit was in force at each charge.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lab.policies.model import Policy
from lab.vault.amounts import Amount, format_epsilon, to_units
from lab.vault.errors import LedgerError
from lab.vault.ledger_db import insert_ignoring_duplicates
from lab.vault.ledger_schema import SCHEMA_VERSION, budgets, datasets, lines, meta
from lab.vault.ledger_writes import Pool, lock_pools, new_entry


@dataclass(frozen=True)
class DatasetLimits:
    """One dataset's limits, in units of 1e-12 epsilon."""

    dataset_units: int
    user_units: int
    query_cap_units: int
    group_units: Mapping[str, int] = field(default_factory=dict)
    owner: str = ""

    @classmethod
    def build(cls, dataset: str, *, dataset_epsilon: Amount, user_epsilon: Amount, query_epsilon_max: Amount,
              group_epsilon: Mapping[str, Amount], owner: str = "") -> DatasetLimits:
        """Convert epsilon amounts, naming the dataset and key in any error."""
        return cls(
            dataset_units=to_units(dataset_epsilon, what=f"{dataset}: budgets.dataset_epsilon"),
            user_units=to_units(user_epsilon, what=f"{dataset}: budgets.user_epsilon"),
            query_cap_units=to_units(query_epsilon_max, what=f"{dataset}: budgets.query_epsilon_max"),
            group_units={group: to_units(amount, what=f"{dataset}: budgets.group_epsilon.{group}")
                         for group, amount in sorted(group_epsilon.items())},
            owner=owner,
        )


def limits_of(policy: Policy) -> DatasetLimits:
    """The limits a policy sets."""
    b = policy.budgets
    return DatasetLimits.build(policy.dataset, dataset_epsilon=b.dataset_epsilon, user_epsilon=b.user_epsilon,
                               query_epsilon_max=b.query_epsilon_max, group_epsilon=b.group_epsilon,
                               owner=policy.owner)


def ensure_schema_version(conn: Connection) -> None:
    """Stamp a new ledger with the schema version; refuse a ledger from a newer lab."""
    row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    if row is None:
        conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
    elif int(row) > SCHEMA_VERSION:
        raise LedgerError(f"the ledger was written by a newer lab (schema version {row}; this lab knows "
                          f"{SCHEMA_VERSION}). Fix: upgrade the lab before using this ledger.")


def apply_limits(conn: Connection, limits: Mapping[str, DatasetLimits], actor: str, now: dt.datetime, *,
                 retire: bool) -> list[str]:
    """Bring the ledger's limits in line with ``limits``; returns the changes, for people.

    Args:
        retire: ``limits`` is the complete set: retire datasets it lacks.
    """
    known = {row.dataset: row for row in conn.execute(select(datasets)).all()}
    changes: list[str] = []
    for name in sorted(limits):
        changes += _apply_one(conn, name, limits[name], known.get(name), actor, now)
    if retire:
        for name, row in sorted(known.items()):
            if name not in limits and not row.retired:
                conn.execute(update(datasets).where(datasets.c.dataset == name).values(retired=True, synced_at=now.replace(tzinfo=None)))
                new_entry(conn, at=now, action="policy", actor=actor, dataset=name, kind=None, units=0, groups="[]",
                          description=json.dumps({"changes": {"retired": {"from": False, "to": True}}}))
                changes.append(f"{name}: retired (no policy declares it; its history stays)")
    return changes


def _apply_one(conn: Connection, name: str, new: DatasetLimits, row: Any, actor: str, now: dt.datetime) -> list[str]:
    described: dict[str, dict[str, Any]] = {}
    settings = dict(user_units=new.user_units, query_cap_units=new.query_cap_units, owner=new.owner, retired=False)
    if row is None:
        conn.execute(insert(datasets).values(dataset=name, synced_at=now.replace(tzinfo=None), **settings))
        described["query_epsilon_max"] = {"from": None, "to": format_epsilon(new.query_cap_units)}
        described["user_epsilon"] = {"from": None, "to": format_epsilon(new.user_units)}
    else:
        if row.query_cap_units != new.query_cap_units:
            described["query_epsilon_max"] = {"from": format_epsilon(row.query_cap_units),
                                              "to": format_epsilon(new.query_cap_units)}
        if row.user_units != new.user_units:
            described["user_epsilon"] = {"from": format_epsilon(row.user_units), "to": format_epsilon(new.user_units)}
        if row.owner != new.owner:
            described["owner"] = {"from": row.owner, "to": new.owner}
        if row.retired:
            described["retired"] = {"from": True, "to": False}
        if described:
            conn.execute(update(datasets).where(datasets.c.dataset == name)
                         .values(synced_at=now.replace(tzinfo=None), **settings))
    # Budget rows the policy declares start with no limit, so that they show as changes below.
    for scope, holder in [("dataset", ""), *(("group", group) for group in new.group_units)]:
        insert_ignoring_duplicates(conn, budgets, dict(dataset=name, scope=scope, holder=holder, policy_units=None,
                                                       topup_units=0, spent_units=0, frozen=False))
    scopes = ["dataset", "group"] + (["user"] if "user_epsilon" in described else [])
    pools = lock_pools(conn, select(budgets).where(budgets.c.dataset == name, budgets.c.scope.in_(scopes)))
    moved: list[tuple[Pool, int | None]] = []
    for pool in pools:
        target = {"dataset": new.dataset_units, "user": new.user_units}.get(pool.scope,
                                                                            new.group_units.get(pool.holder))
        if pool.policy_units != target:
            moved.append((pool, target))
            if pool.scope == "dataset":
                key = "dataset_epsilon"
            elif pool.scope == "group":
                key = f"group_epsilon.{pool.holder}"
            else:
                continue  # user allowances are summarised by user_epsilon
            described[key] = {"from": None if pool.policy_units is None else format_epsilon(pool.policy_units),
                              "to": None if target is None else format_epsilon(target)}
    if not described:
        return []
    entry_id = new_entry(conn, at=now, action="policy", actor=actor, dataset=name, kind=None, units=0, groups="[]",
                         description=json.dumps({"changes": described}, sort_keys=True))
    if moved:
        conn.execute(insert(lines), [
            dict(entry_id=entry_id, budget_id=pool.id, spent_units=0, topup_units=0, spent_after=pool.spent,
                 limit_after=(target or 0) + pool.topup_units) for pool, target in moved])
        for pool, target in moved:
            conn.execute(update(budgets).where(budgets.c.id == pool.id).values(policy_units=target))
    return [f"{name}: {key} {_show(change['from'])} -> {_show(change['to'])}" for key, change in sorted(described.items())]


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    return str(value)
