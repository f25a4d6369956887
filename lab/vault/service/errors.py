"""The service's own errors, and how every lab error becomes an HTTP status and a JSON body.

The body is the contract's ``{"error": {"type", "message", "fix", "problems"?}}``. ``type``
is the exception's class name, a stable label clients match on. Messages come from the
errors themselves, which are written never to carry data values or exact counts; an
exception that is not a ``LabError`` is a bug, so its text (which might quote anything)
never reaches the caller: it is logged with its traceback and answered with a generic 500.
"""

from __future__ import annotations

import re
from typing import Any

from lab.errors import DatasetNotFound, LabError, TwinNotFound
from lab.vault import query_errors as qe
from lab.vault.errors import BudgetExceeded, BudgetRefused, InvalidAmount, LedgerUnavailable


class ServiceError(LabError):
    """Base class for refusals that only the HTTP service makes."""

    code = "service_error"
    status = 400
    fix = ""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix or type(self).fix


class NotAuthenticated(ServiceError):
    """No token, or a token that neither the users file nor the hub recognises."""

    code = "not_authenticated"
    status = 401
    fix = ("Send 'Authorization: token <your token>' (in a notebook on the hub, the lab client does this "
           "for you); if it still fails, your token has expired: restart your server or log in again.")


class NoAccess(ServiceError):
    """The caller's groups do not give access to the dataset (or the caller is not a user)."""

    code = "no_access"
    status = 403


class AdminOnly(ServiceError):
    """The route is for the vault's administrators."""

    code = "admin_only"
    status = 403
    fix = "Ask a vault administrator (the data owner or a hub admin) to run it for you."


class BodyTooLarge(ServiceError):
    """The request body is over the service's limit; it was not read as JSON."""

    code = "body_too_large"
    status = 413


class BadParameter(ServiceError):
    """A URL parameter has a value the route does not accept."""

    code = "bad_parameter"
    status = 400


class RouteNotFound(ServiceError):
    """No route has this path (or the method is not allowed on it)."""

    code = "route_not_found"
    status = 404
    fix = "See docs/vault.md for the routes, e.g. GET api/catalog."


class FileNotServed(ServiceError):
    """A twin bundle has no such document to show (only files its manifest lists are served)."""

    code = "file_not_served"
    status = 404
    fix = "Open the twin's documents from the dashboard's links (its data card and its report)."


class MethodNotAllowed(ServiceError):
    """The route exists but does not take this HTTP method."""

    code = "method_not_allowed"
    status = 405
    fix = "See docs/vault.md: api/query and api/preview take POST, the other routes GET."


class BadRequest(ServiceError):
    """The HTTP request itself is malformed (tornado refused it before any route ran)."""

    code = "bad_request"
    status = 400
    fix = "Check the request against docs/vault.md."


class HubUnavailable(ServiceError):
    """JupyterHub could not be asked who the caller is; nothing was charged."""

    code = "hub_unavailable"
    status = 503
    fix = "Try again shortly; tell the lab's admins if it persists."


class TooManyRequests(ServiceError):
    """The caller sends faster, or has more requests in flight, than one user may; nothing was run.

    ``retry_after`` (seconds) goes out as the ``Retry-After`` header.
    """

    code = "too_many_requests"
    status = 429
    fix = "Wait for your earlier requests to finish, then send again (see the Retry-After header)."

    def __init__(self, message: str, fix: str = "", retry_after: int = 1) -> None:
        super().__init__(message, fix)
        self.retry_after = max(1, int(retry_after))


class DailyQueryLimitReached(TooManyRequests):
    """The caller made as many DP queries on the dataset today (UTC) as its policy allows; nothing was charged."""

    code = "daily_query_limit_reached"
    fix = "Try again tomorrow (UTC), combine questions into fewer queries, or work on the twin."


class VaultBusy(ServiceError):
    """Every thread of the request's lane is busy and the wait is full or too long; nothing was run."""

    code = "vault_busy"
    status = 503
    fix = "Send the request again in a few seconds (see the Retry-After header)."

    def __init__(self, message: str, fix: str = "", retry_after: int = 2) -> None:
        super().__init__(message, fix)
        self.retry_after = max(1, int(retry_after))


class InternalError(ServiceError):
    """A bug in the service. The details are in the vault's log, never in the answer."""

    code = "internal_error"
    status = 500
    fix = "Tell the lab's admins (the vault's log has the details), and include the time of the request."


# Status of each family of lab errors; the first match along the exception's MRO wins.
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (ServiceError, 0),  # its own .status
    (qe.UnknownDataset, 404),
    (qe.DatasetUnavailable, 503),
    (qe.ReleaseFailed, 500),
    (qe.ReservationTooSmall, 500),
    (qe.QueryError, 400),
    (BudgetRefused, 409),
    (LedgerUnavailable, 503),
    (InvalidAmount, 400),
    (DatasetNotFound, 404),
    (TwinNotFound, 404),
    (LabError, 500),
)

_DEFAULT_FIX = {
    qe.DatasetUnavailable: "Try again later, or ask an administrator (the vault's log says why).",
    qe.ReleaseFailed: "Tell the lab's admins; the privacy loss was charged because data may have been touched.",
    BudgetRefused: "Ask a smaller question (less epsilon), work on the twin, or ask the data owner for a top-up.",
    LedgerUnavailable: "Try again shortly; tell the lab's admins if it persists.",
    TwinNotFound: "Ask an admin to build and release the twin (`lab twin build DATASET`).",
}
_FIX = re.compile(r"\s*Fix:\s*(.+)$", re.DOTALL)


def http_status(error: BaseException) -> int:
    """The HTTP status for an error (500 for anything that is not a lab error)."""
    if isinstance(error, ServiceError):
        return error.status
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def error_document(error: BaseException) -> dict[str, Any]:
    """The JSON body for ``error``; a non-lab error gets a generic message (see module docs)."""
    if not isinstance(error, LabError):
        error = InternalError("The vault failed to answer this request because of a bug.")
    message = error.message
    body: dict[str, Any] = {"type": type(error).__name__, "message": message, "fix": _fix_of(error, message)}
    problems = getattr(error, "problems", None)
    if isinstance(error, qe.QueryError) and problems:
        body["problems"] = [{"field": p.field, "problem": p.problem, "fix": p.fix} for p in problems]
    if isinstance(error, BudgetExceeded):
        # Amounts of budget, never of data: what a client needs to show "you have ε=0.2 left".
        body["shortfalls"] = [{"budget": s.budget, "scope": s.scope, "holder": s.holder, "limit": str(s.limit),
                               "spent": str(s.spent), "remaining": str(s.remaining), "requested": str(s.requested)}
                              for s in error.shortfalls]
    return {"error": body}


def _fix_of(error: LabError, message: str) -> str:
    if isinstance(error, ServiceError) and error.fix:
        return error.fix
    problems = getattr(error, "problems", ())
    if len(problems) == 1:
        return str(problems[0].fix)
    if len(problems) > 1:
        return "Fix each problem listed in 'problems', then send the query again."
    found = _FIX.search(message)
    if found:
        return found.group(1).strip()
    for kind, fix in _DEFAULT_FIX.items():
        if isinstance(error, kind):
            return fix
    return "See the message."
