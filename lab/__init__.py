"""lab: the platform around the twin pipeline (policies, vault, hub, client, CLI).

In a notebook, ``import lab`` gives the client (``lab.datasets()``, ``lab.query(...)``,
``lab.load_twin(...)``, ``lab.budget()``, ``lab.history()``; see docs/client.md). The
names are loaded on first use, so ``import lab`` itself stays cheap and never pulls in
the vault, SDV or pandas; the client lives in ``lab.client`` and talks to the vault only
over HTTP.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public names re-exported from ``lab.client``, loaded on first use.
_CLIENT_NAMES = (
    "BadBounds",
    "BadColumn",
    "BadQuery",
    "BadTable",
    "BoundsMissing",
    "BudgetFrozen",
    "ClientError",
    "Connection",
    "NoAccess",
    "NotSignedIn",
    "OverBudget",
    "Query",
    "QueryResult",
    "TwinNotFound",
    "UnknownDataset",
    "VaultUnavailable",
    "budget",
    "columns",
    "connect",
    "datasets",
    "find_twin",
    "hackathon_task",
    "history",
    "leaderboard",
    "load_twin",
    "query",
    "submit",
)

__all__ = list(_CLIENT_NAMES)


def __getattr__(name: str) -> Any:
    # PEP 562: runs only for names not already set, so submodules (lab.vault, lab.cli...)
    # import as usual and nothing here runs at ``import lab``.
    if name in _CLIENT_NAMES:
        value = getattr(importlib.import_module("lab.client"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_CLIENT_NAMES})
