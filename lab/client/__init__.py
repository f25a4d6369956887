"""The notebook side of the trust boundary: what a staff member calls from a notebook.

Everything here talks to the vault service over HTTP, or reads the read-only twins
folder. Nothing here imports from ``lab.vault`` or the twin pipeline (``synth``): a test
(tests/client/test_boundary.py) keeps it that way, so this package can be read, and
shipped to notebook servers, without ever touching real data.

    import lab
    lab.datasets()
    q = lab.query("welfare").mean("household_income", bounds=(0, 100_000)).where("age", ">=", 66).by("region")
    q.preview()
    q.run(epsilon=0.2)

See docs/client.md for the user's guide.
"""

from lab.client.api import budget, columns, datasets, history
from lab.client.connection import Connection, connect
from lab.client.display import QueryResult
from lab.client.hackathon import hackathon_task, leaderboard, submit
from lab.client.errors import (
    BadBounds,
    BadColumn,
    BadQuery,
    BadTable,
    BoundsMissing,
    BudgetFrozen,
    ClientError,
    NoAccess,
    NotSignedIn,
    OverBudget,
    TwinNotFound,
    UnknownDataset,
    VaultUnavailable,
)
from lab.client.query import Query, query
from lab.client.twins import find_twin, load_twin

__all__ = [
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
]
