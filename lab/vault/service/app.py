"""The tornado Application of the vault service, and serving it until SIGTERM.

Routes live under a prefix: ``/`` standalone, ``$JUPYTERHUB_SERVICE_PREFIX`` (such as
``/services/vault/``) under the hub, which adds ``oauth_callback`` for browser logins. The
JSON API is under ``api/``, the dashboard's HTML pages under ``dash/``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyterhub.services.auth import HubOAuth
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from lab.vault.service.auth import Identity, OAuthCallbackHandler
from lab.vault.service.core import VaultService
from lab.vault.service.dashboard import dashboard_routes
from lab.vault.service.dashboard_hackathon import hackathon_page_routes
from lab.vault.service.hackathon_handlers import hackathon_routes
from lab.vault.service.handlers import BODY_LIMIT, ROUTES, NotFoundHandler, RootHandler
from lab.vault.service.limits import Admission

log = logging.getLogger(__name__)

#: How long SIGTERM waits for requests in flight (a release finishes and is recorded) before exiting.
SHUTDOWN_GRACE_SECONDS = 30.0


def make_app(vault: VaultService, identity: Identity, executor: ThreadPoolExecutor, *, prefix: str = "/",
             hub_auth: HubOAuth | None = None, admission: Admission | None = None) -> Application:
    """The Application serving the contract's routes under ``prefix``.

    Args:
        vault: the service's work.
        identity: names the caller of each request.
        executor: runs releases, ledger calls and file reads off the IOLoop.
        prefix: the URL prefix of every route, with a trailing slash.
        hub_auth: in hub mode, for the OAuth callback, the login redirect and XSRF checks.
        admission: the lanes and per-user limits of api/query and api/preview (None: run them
            on ``executor`` without limits, as tests of other parts may).
    """
    if not prefix.startswith("/") or not prefix.endswith("/"):
        raise ValueError(f"prefix={prefix!r} must start and end with '/'")
    routes: list[tuple[Any, ...]] = [(re.escape(prefix + path), cls) for path, cls in ROUTES]
    routes += hackathon_routes(prefix)  # api/hackathon/<event>[/submit|/leaderboard]
    routes += hackathon_page_routes(prefix)  # dash/hackathon/<event>, before the dashboard's catch-all
    routes += dashboard_routes(prefix)  # HTML pages under dash/, behind the same authentication
    routes.append((re.escape(prefix) + "?", RootHandler))
    if hub_auth is not None:
        routes.append((re.escape(prefix + "oauth_callback"), OAuthCallbackHandler))
    settings: dict[str, Any] = {
        "vault": vault,
        "identity": identity,
        "executor": executor,
        "prefix": prefix,
        "hub_auth": hub_auth,
        "admission": admission,
        "default_handler_class": NotFoundHandler,
        "log_function": _log_request,
        # Signs HubOAuth's login cookie; a restart only sends browsers through OAuth again.
        "cookie_secret": secrets.token_bytes(32),
    }
    return Application(routes, **settings)


async def serve(app: Application, host: str, port: int, *, public_prefix: str = "/",
                behind_proxy: bool = False) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and return.

    Prints ``lab-vault: listening on http://HOST:PORT/PREFIX`` (flushed) once it accepts
    connections; ``port`` 0 picks a free port, which the line names.
    """
    server = HTTPServer(app, max_body_size=BODY_LIMIT, xheaders=behind_proxy)
    sockets = bind_sockets(port, address=host)
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"lab-vault: listening on http://{shown}:{bound}{public_prefix}", flush=True)
    log.info("vault service ready on %s:%d%s", host, bound, public_prefix)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping: no new connections; finishing requests in flight")
    server.stop()
    try:
        await asyncio.wait_for(server.close_all_connections(), SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.warning("requests still running after %.0f s; stopping anyway", SHUTDOWN_GRACE_SECONDS)


def run(vault: VaultService, app: Application, host: str, port: int, *, executor: ThreadPoolExecutor,
        public_prefix: str = "/", behind_proxy: bool = False) -> None:
    """Serve ``app`` (see :func:`serve`), then let running work finish and close the ledger."""
    try:
        asyncio.run(serve(app, host, port, public_prefix=public_prefix, behind_proxy=behind_proxy))
    finally:
        # A release already running gets recorded; queued work has reserved nothing and is dropped.
        executor.shutdown(wait=True, cancel_futures=True)
        vault.close()
        sys.stdout.flush()
        log.info("vault service stopped")


def _log_request(handler: RequestHandler) -> None:
    """One line per request: who (never a token), what, the status, how long."""
    status = handler.get_status()
    caller = getattr(handler, "_caller", None)
    level = logging.INFO if status < 500 else logging.ERROR
    log.log(level, "%d %s %s %s %.1fms", status, handler.request.method, handler.request.path,
            caller.name if caller else "-", 1000.0 * handler.request.request_time())
