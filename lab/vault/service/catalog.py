"""Catalog entries: what the policy declares public about a dataset, shaped as JSON.

Everything here comes from the policy file and the twin's manifest, never from the real
data: bounds and categories are the policy's public ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lab.policies.model import ColumnPolicy, Policy
from lab.vault.service.twins import TwinInfo


def catalog_entry(policy: Policy, *, can_query: bool, twin: TwinInfo | None) -> dict[str, Any]:
    """One dataset of ``GET api/catalog``."""
    return {
        "name": policy.dataset,
        "title": policy.title,
        "description": policy.description.strip(),
        "owner": policy.owner,
        "can_query": can_query,
        "twin": None if twin is None else {"version": twin.version, "released_at": twin.released_at},
        "tables": {name: {"description": table.description.strip(),
                          "columns": {col: column_entry(c) for col, c in table.columns.items()}}
                   for name, table in policy.tables.items()},
        "main_table": policy.main_table,
        "privacy_unit": {"table": policy.main_table,
                         "max_rows_per_person": policy.privacy_unit.max_rows_per_person},
        "budgets": {"query_epsilon_max": str(policy.budgets.query_epsilon_max)},
    }


def column_entry(column: ColumnPolicy) -> dict[str, Any]:
    """A column's public type information; ``identifier`` marks direct identifiers (not queryable)."""
    entry: dict[str, Any] = {"type": column.type, "public": column.public, "nullable": column.nullable}
    if column.bounds is not None:
        entry["bounds"] = [_json_bound(b) for b in column.bounds]
    if column.categories is not None:
        entry["categories"] = list(column.categories)
    if column.unit:
        entry["unit"] = column.unit
    if column.description:
        entry["description"] = column.description.strip()
    if column.identifier is not None:
        entry["identifier"] = column.identifier
    return entry


def _json_bound(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
