"""The HTTP routes of the vault service (tornado handlers over :class:`VaultService`).

Handlers only authenticate, read parameters and bodies, and turn results and errors into
JSON. The work runs in the application's thread pool: releases are CPU-bound, and the
ledger and the data are blocking I/O, so the IOLoop stays free for other callers. One
pool task runs a whole query (reserve, release, record), so its order cannot interleave.

Bodies are streamed so that one over :data:`BODY_LIMIT` is refused with 413 before any of
it is parsed (it is read and discarded up to :data:`DRAIN_LIMIT`, so that the client
receives the answer instead of a reset connection). The JSON itself is bounded too (depth,
strings, numbers, lists: see json_input), and ``api/query`` and ``api/preview`` run in
their own lanes under each caller's limits (see limits), refusing with 429 or 503 and a
``Retry-After`` header rather than queueing without end.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from jupyterhub.services.auth import HubOAuth, HubOAuthenticated
from tornado.ioloop import IOLoop
from tornado.web import HTTPError, RequestHandler, stream_request_body

from lab.errors import LabError
from lab.vault.service.auth import Caller, Identity
from lab.vault.service.core import VaultService
from lab.vault.service.errors import (
    BadRequest,
    BodyTooLarge,
    InternalError,
    MethodNotAllowed,
    NotAuthenticated,
    RouteNotFound,
    VaultBusy,
    error_document,
    http_status,
)
from lab.vault.service.json_input import QUERY_INPUT, InputLimits, parse_body
from lab.vault.service.limits import Admission

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Largest request body the service parses (a query spec is a few hundred bytes).
BODY_LIMIT = 64 * 1024
#: Largest oversized body read (and discarded) to answer 413 cleanly; beyond it the connection is closed.
DRAIN_LIMIT = 16 * 1024 * 1024


class VaultHandler(HubOAuthenticated, RequestHandler):
    """Base of every route: the caller, JSON answers and errors, the thread pool.

    ``HubOAuthenticated`` gives hub mode JupyterHub's XSRF check on cookie-authenticated
    POSTs and the OAuth login redirect; in standalone mode nothing calls it.
    """

    requires_caller = True
    _caller: Caller | None = None

    @property
    def hub_auth(self) -> HubOAuth | None:
        """The service's ``HubOAuth`` (hub mode); None standalone, where nothing asks for it."""
        return self.settings["hub_auth"]

    @property
    def vault(self) -> VaultService:
        return self.settings["vault"]

    def get_current_user(self) -> Caller | None:
        return self._caller

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")  # answers are personal and paid for
        self.set_header("X-Content-Type-Options", "nosniff")

    async def prepare(self) -> None:
        if self.requires_caller:
            await self.authenticate()

    async def authenticate(self) -> Caller:
        """Identify the caller, or refuse the request with 401."""
        identity: Identity = self.settings["identity"]
        caller = await identity.identify(self)
        if caller is None:
            raise NotAuthenticated("the request carries no valid token (or login cookie) for the vault.")
        self._caller = caller
        return caller

    @property
    def caller(self) -> Caller:
        assert self._caller is not None, "prepare() authenticates before any route method runs"
        return self._caller

    async def work(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in the service's thread pool."""
        return await IOLoop.current().run_in_executor(self.settings["executor"], partial(fn, *args, **kwargs))

    def argument(self, name: str) -> str | None:
        """A URL parameter; absent and empty are the same."""
        return self.get_query_argument(name, None) or None

    def write_json(self, document: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(_finite(document), ensure_ascii=False, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = as_lab_error(kwargs.get("exc_info", (None, None, None))[1], status_code)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        status = http_status(error)
        self.set_status(status)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            self.set_header("Retry-After", str(retry_after))
        if 400 <= status < 500 or isinstance(error, VaultBusy):
            admission: Admission | None = self.settings.get("admission")
            if admission is not None:
                admission.note_refusal(type(error).__name__)
        if isinstance(error, BodyTooLarge):
            self.set_header("Connection", "close")  # the body may not have been read to its end
        self.finish(json.dumps(error_document(error), ensure_ascii=False))

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        who = self._caller.name if self._caller else "-"
        if isinstance(value, LabError):  # an expected refusal: its class says enough
            log.info("refused %s %s for %s: %s", self.request.method, self.request.path, who, type(value).__name__)
        elif isinstance(value, HTTPError):
            log.info("%s %s for %s: HTTP %d", self.request.method, self.request.path, who, value.status_code)
        else:
            log.error("bug answering %s %s for %s", self.request.method, self.request.path, who,
                      exc_info=(typ, value, tb))


@stream_request_body
class BodyHandler(VaultHandler):
    """A POST route with a JSON body of at most :data:`BODY_LIMIT` bytes.

    The caller is identified only once the body has been read: a response sent before
    the body is read closes the connection, and a keep-alive proxy (the hub's) would then
    fail the next request it sends on it.
    """

    _chunks: list[bytes]
    _size = 0
    #: How large the parsed JSON may be (depth, strings, numbers, lists).
    input_limits: InputLimits = QUERY_INPUT

    async def prepare(self) -> None:
        self._chunks = []
        # Read an oversized body to the end (discarding it) rather than fail mid-upload.
        self.request.connection.set_max_body_size(DRAIN_LIMIT)  # type: ignore[union-attr]
        length = self.request.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > DRAIN_LIMIT:
            raise _too_large()  # too large even to drain: answer now and close the connection

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= BODY_LIMIT:
            self._chunks.append(chunk)
        else:
            self._chunks = []

    async def caller_and_body(self) -> tuple[Caller, Any]:
        """The authenticated caller and the parsed body (the size is checked first, then the caller).

        Raises:
            BodyTooLarge: the body ran over the limit (it was not parsed).
            NotAuthenticated: no valid credential.
            BadSpec: the body is empty or not JSON.
        """
        if self._size > BODY_LIMIT:
            raise _too_large()
        caller = await self.authenticate()
        return caller, parse_body(b"".join(self._chunks), self.input_limits)  # JSON between systems is UTF-8

    async def admitted(self, lane: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in ``lane`` under the caller's limits (429/503 before running anything)."""
        admission: Admission | None = self.settings.get("admission")
        if admission is None:
            return await self.work(fn, *args)
        return await admission.run(lane, self.caller.name, fn, *args)


class HealthHandler(VaultHandler):
    """``GET api/health``: no authentication; for probes."""

    requires_caller = False

    def get(self) -> None:
        admission: Admission | None = self.settings.get("admission")
        self.write_json({"status": "ok", **({"saturation": admission.health()} if admission else {})})


class WhoAmIHandler(VaultHandler):
    """``GET api/whoami``: the caller as the vault sees them (who is charged)."""

    def get(self) -> None:
        self.write_json({"user": self.caller.to_dict()})


class RootHandler(VaultHandler):
    """``GET`` the service's root: in hub mode a browser without a session is sent to log in."""

    requires_caller = False

    async def get(self) -> None:
        caller = await self.settings["identity"].identify(self)
        if caller is None and self.settings.get("hub_auth") is not None:
            self.redirect(self.get_login_url())  # HubOAuth: the hub's OAuth page, then oauth_callback
            return
        self.write_json({"service": "lab-vault", "user": caller.to_dict() if caller else None,
                         "routes": sorted(f"{self.settings['prefix']}{path}" for path, _ in ROUTES)})


class CatalogHandler(VaultHandler):
    async def get(self) -> None:
        self.write_json(await self.work(self.vault.catalog, self.caller))


class BudgetsHandler(VaultHandler):
    async def get(self) -> None:
        self.write_json(await self.work(self.vault.budgets, self.caller, self.argument("dataset")))


class HistoryHandler(VaultHandler):
    async def get(self) -> None:
        self.write_json(await self.work(self.vault.history, self.caller, self.argument("dataset")))


class LedgerHandler(VaultHandler):
    async def get(self) -> None:
        fmt = self.argument("format") or "json"
        text = await self.work(self.vault.ledger_export, self.caller, fmt, dataset=self.argument("dataset"),
                               user=self.argument("user"))
        if fmt == "csv":
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
            self.set_header("Content-Disposition", 'attachment; filename="ledger.csv"')
        self.finish(text)


class QueryHandler(BodyHandler):
    async def post(self) -> None:
        caller, body = await self.caller_and_body()
        self.write_json(await self.admitted("query", self.vault.query, caller, body))


class PreviewHandler(BodyHandler):
    async def post(self) -> None:
        caller, body = await self.caller_and_body()
        self.write_json(await self.admitted("preview", self.vault.preview, caller, body))


class NotFoundHandler(VaultHandler):
    """Any other path: a JSON 404 (no authentication needed to learn a path does not exist)."""

    requires_caller = False

    def prepare(self) -> None:  # type: ignore[override]
        raise RouteNotFound(f"no route {self.request.method} {self.request.path}.")


#: The contract's routes, relative to the service's prefix.
ROUTES: list[tuple[str, type[VaultHandler]]] = [
    ("api/health", HealthHandler),
    ("api/whoami", WhoAmIHandler),
    ("api/catalog", CatalogHandler),
    ("api/budgets", BudgetsHandler),
    ("api/query", QueryHandler),
    ("api/preview", PreviewHandler),
    ("api/history", HistoryHandler),
    ("api/ledger", LedgerHandler),
]


def _too_large() -> BodyTooLarge:
    return BodyTooLarge(f"the request body is over the vault's limit of {BODY_LIMIT // 1024} KiB; it was discarded unparsed.",
                        "Send a query spec (a small JSON object); long 'in' lists belong in a group_by or a "
                        "histogram.")


def as_lab_error(error: BaseException | None, status: int) -> BaseException:
    """Tornado's own HTTP errors (404, 405, a malformed request) in the service's terms."""
    if isinstance(error, LabError) or (error is not None and not isinstance(error, HTTPError)):
        return error
    if status == 404:
        return RouteNotFound("no such route.")
    if status == 405:
        return MethodNotAllowed("this route does not take that HTTP method.")
    if not 400 <= status < 500:
        return InternalError("The vault failed to answer this request.")
    refusal = BadRequest(f"HTTP {status}: the request was refused.")
    refusal.status = status
    return refusal


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a float becomes null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
