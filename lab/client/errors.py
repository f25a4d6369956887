"""Errors a notebook user sees from the lab client, each with the vault's message and a fix.

The vault service answers a refusal with an HTTP status and a JSON body
``{"error": {"type", "message", "fix", "problems"?}}`` (see the vault contract). The
client turns that into one of the exception types below, chosen first by the service's
``type`` (the vault's exception class name) and then by the status, so a notebook can
``except lab.OverBudget:`` without knowing the service's internal class names.

Two rules keep notebooks readable:

* ``str(error)`` is the service's message plus its fix, never a Python traceback.
* In IPython, :meth:`ClientError._render_traceback_` replaces the usual multi-screen
  traceback with that one message: the frames inside ``requests`` say nothing a user can
  act on. (Set ``lab.client.errors.SHORT_TRACEBACKS = False`` to get them back.)

This module imports nothing from the vault: the client only ever sees what the service
chose to send, and the service never puts data values in an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lab.errors import LabError

#: Show client errors in IPython as one short message instead of a traceback.
SHORT_TRACEBACKS = True


@dataclass(frozen=True)
class Problem:
    """One problem the vault found in a query: the field, what is wrong, how to fix it."""

    field: str
    problem: str
    fix: str

    def describe(self) -> str:
        """One line, as the vault words it: ``field: problem. Fix: fix``."""
        return f"{self.field}: {self.problem}. Fix: {self.fix}"


class ClientError(LabError):
    """Base class: the vault refused or could not answer, or the client could not ask.

    Attributes:
        message: what went wrong, in the vault's words (never data values).
        fix: what to do about it ('' when the message already says).
        status: the HTTP status of the service's answer (``None`` if none arrived).
        service_type: the vault's own name for the error (``BudgetExceeded``...), if any.
        problems: for a query with several problems, each one (field, problem, fix).
        details: the service's whole error object, e.g. ``shortfalls`` for ``OverBudget``
            (amounts of budget, never of data).
    """

    code = "client_error"

    def __init__(self, message: str, *, fix: str = "", status: int | None = None,
                 service_type: str | None = None, problems: Sequence[Problem] = (),
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.fix = fix
        self.status = status
        self.service_type = service_type
        self.problems = tuple(problems)
        self.details = dict(details or {})

    def __str__(self) -> str:
        message = self.message.strip()
        # Several problems are listed in the message, each with its own fix already.
        listed = len(self.problems) > 1 and all(p.fix in message for p in self.problems)
        if self.fix and not listed and self.fix.strip() not in message:
            message = f"{message.rstrip('.')}. Fix: {self.fix.strip()}"
        return message

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: the type and the message, in red.

        IPython calls this hook on the exception it is about to display; raising here
        makes it fall back to the normal traceback, which is what ``SHORT_TRACEBACKS =
        False`` asks for.
        """
        if not SHORT_TRACEBACKS:
            raise NotImplementedError("full traceback requested")
        lines = str(self).splitlines() or [""]
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {lines[0]}", *lines[1:]]


class NotSignedIn(ClientError):
    """No token was found, or the vault did not accept it (HTTP 401).

    Inside JupyterHub the token comes with the server; elsewhere set ``LAB_VAULT_TOKEN``.
    """

    code = "not_signed_in"


class NoAccess(ClientError):
    """Your groups may not do this with this dataset, or it is for admins only (HTTP 403)."""

    code = "no_access"


class UnknownDataset(ClientError):
    """The vault has no dataset of that name that you may see (HTTP 404)."""

    code = "unknown_dataset"


class TwinNotFound(ClientError):
    """No released twin of the dataset: not in the vault (preview) or not in your twins folder."""

    code = "twin_not_found"


class BadQuery(ClientError):
    """The query is malformed or does not fit the dataset's policy (HTTP 400). Nothing was charged."""

    code = "bad_query"


class BadColumn(BadQuery):
    """The column does not exist, is an identifier, or does not suit the statistic or grouping."""

    code = "bad_column"


class BadTable(BadQuery):
    """The table does not exist or cannot be queried, or a multi-table twin needs ``table=``."""

    code = "bad_table"


class BoundsMissing(BadQuery):
    """The statistic needs bounds and neither the query nor the policy gives them."""

    code = "bounds_missing"


class BadBounds(BadQuery):
    """The bounds are not two finite numbers ``lower < upper`` inside the policy's bounds."""

    code = "bad_bounds"


class OverBudget(ClientError):
    """A privacy budget cannot pay for the query (HTTP 409). Nothing was charged."""

    code = "over_budget"


class BudgetFrozen(OverBudget):
    """An admin has frozen a budget that applies to you (HTTP 409). Nothing was charged."""

    code = "budget_frozen"


class VaultUnavailable(ClientError):
    """The vault could not be reached or could not answer now (HTTP 5xx, network errors)."""

    code = "vault_unavailable"


#: The vault's exception class names (its ``error.type``) and the client type of each.
SERVICE_TYPES: dict[str, type[ClientError]] = {
    "NotAuthenticated": NotSignedIn, "NotSignedIn": NotSignedIn,
    "NoAccess": NoAccess, "AdminOnly": NoAccess, "Forbidden": NoAccess,
    "UnknownDataset": UnknownDataset, "DatasetNotFound": UnknownDataset,
    "TwinNotFound": TwinNotFound,
    "UnknownColumn": BadColumn, "ColumnNotQueryable": BadColumn, "WrongColumnType": BadColumn,
    "NotGroupable": BadColumn,
    "UnknownTable": BadTable,
    "BoundsMissing": BoundsMissing,
    "BadBounds": BadBounds,
    "BudgetExceeded": OverBudget, "QueryCapExceeded": OverBudget, "BudgetRefused": OverBudget,
    "BudgetFrozen": BudgetFrozen,
    "DatasetUnavailable": VaultUnavailable, "LedgerUnavailable": VaultUnavailable,
    "ReleaseFailed": VaultUnavailable, "HubUnavailable": VaultUnavailable, "InternalError": VaultUnavailable,
    # The vault does not know the route: the URL points at the wrong place, or client and
    # vault are of different versions. Not "unknown dataset", which a 404 otherwise means.
    "RouteNotFound": VaultUnavailable,
}

#: When the type is not one the client knows, the HTTP status decides.
STATUS_TYPES: dict[int, type[ClientError]] = {
    400: BadQuery, 401: NotSignedIn, 403: NoAccess, 404: UnknownDataset, 409: OverBudget, 413: BadQuery,
    422: BadQuery,
}


def error_from_response(status: int, payload: Any) -> ClientError:
    """The exception for one error answer of the vault service.

    Args:
        status: the HTTP status.
        payload: the parsed JSON body (anything: a body that does not follow the
            contract still gives a sensible error).

    >>> error = error_from_response(409, {"error": {"type": "BudgetExceeded",
    ...     "message": "Refused: this release would cost ε=0.5.", "fix": "Ask a smaller question."}})
    >>> type(error).__name__, str(error)
    ('OverBudget', 'Refused: this release would cost ε=0.5. Fix: Ask a smaller question.')
    """
    body = payload.get("error") if isinstance(payload, Mapping) else None
    if not isinstance(body, Mapping):
        body = {}
    service_type = body.get("type") if isinstance(body.get("type"), str) else None
    kind = SERVICE_TYPES.get(service_type or "") or _by_status(status)
    message = body.get("message") if isinstance(body.get("message"), str) and body.get("message") else None
    if message is None:
        message = f"the vault answered HTTP {status} without an explanation"
    fix = body.get("fix") if isinstance(body.get("fix"), str) else ""
    if not fix and kind is VaultUnavailable:
        fix = "try again in a minute; if it persists, tell the lab's administrators"
    problems = [Problem(str(p.get("field", "")), str(p.get("problem", "")), str(p.get("fix", "")))
                for p in body.get("problems") or () if isinstance(p, Mapping)]
    return kind(message, fix=fix, status=status, service_type=service_type, problems=problems, details=body)


def _by_status(status: int) -> type[ClientError]:
    if status in STATUS_TYPES:
        return STATUS_TYPES[status]
    if status >= 500:
        return VaultUnavailable
    return BadQuery if 400 <= status < 500 else VaultUnavailable


__all__ = [
    "BadBounds",
    "BadColumn",
    "BadQuery",
    "BadTable",
    "BoundsMissing",
    "BudgetFrozen",
    "ClientError",
    "NoAccess",
    "NotSignedIn",
    "OverBudget",
    "Problem",
    "TwinNotFound",
    "UnknownDataset",
    "VaultUnavailable",
    "error_from_response",
]
