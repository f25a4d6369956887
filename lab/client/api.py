"""The notebook's questions about itself: which datasets, which columns, what budget, what history.

Each call is one HTTP request to the vault (through the default connection, or the one
passed as ``connection=``) and returns a pandas DataFrame, so it shows as a table and can
be filtered like any other.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lab.client.display import as_decimal, budgets_frame

if TYPE_CHECKING:
    import pandas as pd

    from lab.client.connection import Connection

DATASET_COLUMNS = ("name", "title", "twin_version", "can_query", "tables", "max_epsilon_per_query", "description")
COLUMN_COLUMNS = ("table", "column", "type", "bounds", "categories", "public", "nullable")
HISTORY_COLUMNS = ("id", "at", "dataset", "action", "kind", "epsilon", "status", "description")


def datasets(*, connection: Connection | None = None) -> pd.DataFrame:
    """The datasets you may use: their twin's version, and whether you may query the real data.

    ``can_query`` False means you may work on the twin only; ``twin_version`` empty
    means no twin has been released yet; ``max_epsilon_per_query`` is the most one
    query may spend.
    """
    import pandas as pd

    catalog = _connection(connection).get("api/catalog").get("datasets") or []
    records = [{
        "name": item.get("name"), "title": item.get("title"),
        "twin_version": (item.get("twin") or {}).get("version"), "can_query": bool(item.get("can_query")),
        "tables": ", ".join(item.get("tables") or {}),
        "max_epsilon_per_query": as_decimal((item.get("budgets") or {}).get("query_epsilon_max")),
        "description": (item.get("description") or "").strip(),
    } for item in catalog]
    return pd.DataFrame.from_records(records, columns=list(DATASET_COLUMNS))


def columns(dataset: str, *, connection: Connection | None = None) -> pd.DataFrame:
    """The public description of a dataset's columns: type, bounds, categories, group-by keys.

    ``public`` True marks the columns you may pass to ``.by(...)``; ``bounds`` are the
    policy's, the widest you may give a ``sum``, ``mean`` or ``quantile``.

    Raises:
        UnknownDataset: no dataset of that name that you may see.
    """
    import pandas as pd

    from lab.client.errors import UnknownDataset

    catalog = _connection(connection).get("api/catalog").get("datasets") or []
    entry = next((item for item in catalog if item.get("name") == dataset), None)
    if entry is None:
        names = ", ".join(sorted(str(item.get("name")) for item in catalog)) or "(none)"
        raise UnknownDataset(f"'{dataset}' is not a dataset you may see", fix=f"use one of: {names}")
    records = []
    for table, spec in (entry.get("tables") or {}).items():
        for name, column in (spec.get("columns") or {}).items():
            bounds = column.get("bounds")
            records.append({"table": table, "column": name, "type": column.get("type"),
                            "bounds": tuple(bounds) if bounds is not None else None,
                            "categories": column.get("categories"), "public": bool(column.get("public")),
                            "nullable": bool(column.get("nullable"))})
    return pd.DataFrame.from_records(records, columns=list(COLUMN_COLUMNS))


def budget(dataset: str | None = None, *, connection: Connection | None = None) -> pd.DataFrame:
    """Your privacy budgets (epsilon) per dataset: limit, spent, remaining, frozen.

    Every query charges each budget that applies: the dataset's lifetime budget, your own
    allowance and your groups'. The smallest ``remaining`` is what you can still spend.
    The table's ``attrs["user"]`` says who the vault thinks you are.
    """
    params = {"dataset": dataset} if dataset else None
    answer = _connection(connection).get("api/budgets", params)
    frame = budgets_frame(answer.get("budgets") or [])
    frame.attrs["user"] = answer.get("user")
    return frame


def history(dataset: str | None = None, *, connection: Connection | None = None) -> pd.DataFrame:
    """Your own entries in the privacy ledger, oldest first: what you asked and what it cost."""
    import pandas as pd

    params = {"dataset": dataset} if dataset else None
    entries = _connection(connection).get("api/history", params).get("entries") or []
    records = [{
        "id": entry.get("id"), "at": pd.to_datetime(entry.get("at")) if entry.get("at") else None,
        "dataset": entry.get("dataset"), "action": entry.get("action"), "kind": entry.get("kind"),
        "epsilon": as_decimal(entry.get("epsilon")), "status": entry.get("status"),
        "description": _describe(entry.get("description")),
    } for entry in entries]
    return pd.DataFrame.from_records(records, columns=list(HISTORY_COLUMNS))


def _describe(description: Any) -> str:
    if not description:
        return ""
    if isinstance(description, str):
        return description
    return json.dumps(description, sort_keys=True, default=str)


def _connection(connection: Connection | None) -> Connection:
    from lab.client.connection import default_connection

    return connection or default_connection()


__all__ = ["budget", "columns", "datasets", "history"]
