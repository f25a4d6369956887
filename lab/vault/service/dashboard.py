"""The dashboard: HTML pages of the vault service under ``<prefix>dash/``.

Pages: *My datasets* (``dash/``), a twin's data card (``dash/datasets/NAME/card``) and its
documents such as the report (``dash/twins/NAME/vNNNN/files/report.html``), *My budgets*
(``dash/budgets``), and for vault admins *everyone's budgets* (``dash/admin``), the ledger
(``dash/admin/ledger``, with CSV and JSON exports) and the twin builds
(``dash/admin/builds``). What each page shows is decided in :mod:`dashboard_views`, with
the API's own access rules; this module only does HTTP.

Who is calling is decided as for the API. Under the hub a browser without a session is sent
through the hub's login (HubOAuth), as the service's root does. Standalone, a page accepts
the ``Authorization`` header or the dashboard's login cookie, which ``dash/login`` sets
from a token (a form, or ``?token=``); the cookie is signed, HttpOnly, limited to
``dash/``, and holds the token's SHA-256 digest, never the token. Pages are only ever read
(GET): the one form that posts, the standalone login, carries an XSRF token.

Every page is a Jinja2 template with autoescaping, under a Content-Security-Policy that
allows no script at all; twin documents are served in a CSP sandbox. Errors are pages with
the same user-safe message and fix as the API's JSON, never a traceback.
"""

from __future__ import annotations

import hashlib
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jupyterhub.utils import url_path_join
from tornado.web import HTTPError, RedirectHandler, RequestHandler, StaticFileHandler

from lab.errors import LabError
from lab.vault.service import dashboard_views as views
from lab.vault.service.auth import Caller, StandaloneIdentity, token_digest
from lab.vault.service.errors import RouteNotFound, error_document, http_status
from lab.vault.service.handlers import VaultHandler, as_lab_error

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
#: The standalone login cookie, and how long a login lasts.
COOKIE, COOKIE_DAYS = "lab-vault-dash", 1
#: No script, no framing, nothing from elsewhere; inline images only as ``data:`` URLs.
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
#: Twin documents (the report has inline styles and ``data:`` figures) run in a sandbox.
DOCUMENT_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox")
_NAME = r"([A-Za-z0-9][A-Za-z0-9_.-]*)"
_VERSION = r"(v[0-9]{4,})"
_TITLES = {400: "That request cannot be answered", 401: "Please log in", 403: "Not available to you",
           404: "Not found", 405: "Not allowed here", 409: "Refused", 500: "Something went wrong",
           503: "Temporarily unavailable"}


class DashboardPage(VaultHandler):
    """Base of every page: the caller (or a login), HTML answers and error pages."""

    requires_caller = False  # prepare() identifies the caller itself, to send them to a login instead of a 401
    nav = ""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")  # pages are personal
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "no-referrer")  # never leak a ?token= URL
        self.set_header("Content-Security-Policy", PAGE_CSP)

    async def prepare(self) -> None:
        caller = await self.identify()
        if caller is not None:
            self._caller = caller
        elif self.hub_auth is not None:
            self.redirect(self.get_login_url())  # the hub's OAuth, then oauth_callback, then back here
        else:
            self.login_page(status=401)

    async def identify(self) -> Caller | None:
        """The caller from a token or the hub's cookie (as the API), else from the standalone login cookie."""
        identity = self.settings["identity"]
        caller = await identity.identify(self)
        if caller is None and isinstance(identity, StandaloneIdentity):
            signed = self.get_signed_cookie(COOKIE, max_age_days=COOKIE_DAYS)
            if signed and re.fullmatch(rb"[0-9a-f]{64}", signed):
                caller = identity.caller_for_digest(bytes.fromhex(signed.decode("ascii")))
        return caller

    @property
    def dash(self) -> str:
        """The dashboard's URL path, e.g. ``/services/vault/dash/``."""
        return str(self.settings["prefix"]) + "dash/"

    @property
    def xsrf_token(self) -> bytes:
        # Standalone there is no HubOAuth to issue it: tornado's own (cookie + form field).
        if self.hub_auth is None:
            return RequestHandler.xsrf_token.fget(self)  # type: ignore[attr-defined,no-any-return]
        return super().xsrf_token  # type: ignore[no-any-return]

    def check_xsrf_cookie(self) -> None:
        if self.hub_auth is None:
            RequestHandler.check_xsrf_cookie(self)
        else:
            super().check_xsrf_cookie()

    def page(self, template: str, status: int = 200, **values: Any) -> None:
        """Render ``template`` with the values every page needs, and finish."""
        hub = self.hub_auth
        namespace = {
            "caller": self._caller, "dash": self.dash, "nav": self.nav,
            "css": f"{self.dash}static/dashboard.css?v={_css_version()}",
            "hub_home": url_path_join(hub.hub_prefix, "home") if hub is not None else None,
            "events": self._my_events(),
            **values,
        }
        self.set_status(status)
        self.finish(environment().get_template(template).render(**namespace))

    def _my_events(self) -> list[str]:
        """Hackathon events the caller takes part in (every event for admins), for the menu."""
        desk, caller = self.vault.hackathon, getattr(self, "_caller", None)
        if desk is None or caller is None:
            return []
        return [name for name, event in sorted(desk.events.items())
                if caller.admin or set(event.teams) & set(caller.groups)]

    def login_page(self, status: int = 200, problem: str = "", notice: str = "") -> None:
        """The standalone login form (the page asked for comes back after login)."""
        wanted = self.request.uri if self.request.path.startswith(self.dash) and \
            not self.request.path.startswith(self.dash + "log") else self.dash
        self.page("login.html", status=status, next_url=self.get_argument("next", wanted), problem=problem,
                  notice=notice, xsrf_form_html=self.xsrf_form_html())

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = as_lab_error(kwargs.get("exc_info", (None, None, None))[1], status_code)
        status = http_status(error)
        document = error_document(error)["error"]
        self.clear()  # drop headers a handler set for a document; set_default_headers runs again
        try:
            self.page("error.html", status=status, title=_TITLES.get(status, "Something went wrong"),
                      message=document["message"], fix=document["fix"], kind=document["type"], code=status)
        except Exception:  # noqa: BLE001 - the error page must not fail with a traceback
            log.exception("could not render the error page for %s", document["type"])
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.set_status(status)
            self.finish(f"{status}: {document['message']}")


class DatasetsPage(DashboardPage):
    """``dash/``: the datasets the caller may see, their twins, cards and reports."""

    nav = "datasets"

    async def get(self) -> None:
        datasets = await self.work(views.my_datasets, self.vault, self.caller)
        self.page("datasets.html", datasets=datasets)


class CardPage(DashboardPage):
    """``dash/datasets/NAME/card[?version=vNNNN]``: the twin's data card, rendered."""

    nav = "datasets"

    async def get(self, dataset: str) -> None:
        card = await self.work(views.card, self.vault, self.caller, dataset, self.argument("version"))
        self.page("card.html", card=card)


class TwinDocument(DashboardPage):
    """``dash/twins/NAME/vNNNN/files/PATH``: a document of a released twin, read-only, as it is."""

    released = True

    async def get(self, dataset: str, version: str, name: str) -> None:
        view = views.twin_document if self.released else views.rejected_document
        path, content_type = await self.work(view, self.vault, self.caller, dataset, version, name)
        body = await self.work(path.read_bytes)
        self.set_header("Content-Type", content_type)
        self.set_header("Content-Security-Policy", DOCUMENT_CSP)
        self.finish(body)


class RejectedDocument(TwinDocument):
    """``dash/admin/rejected/NAME/vNNNN/files/PATH``: admins review a build that failed its gates."""

    released = False


class OwnerReport(DashboardPage):
    """``dash/admin/owner/NAME/vNNNN``: a DP twin's full comparison with the real data (admins)."""

    async def get(self, dataset: str, version: str) -> None:
        path = await self.work(views.owner_report, self.vault, self.caller, dataset, version)
        body = await self.work(path.read_bytes)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", DOCUMENT_CSP)
        self.set_header("Cache-Control", "no-store")  # real-data figures: not kept in shared browser caches
        self.finish(body)


class BudgetsPage(DashboardPage):
    """``dash/budgets``: the caller's budgets and their own ledger entries."""

    nav = "budgets"

    async def get(self) -> None:
        budgets = await self.work(views.my_budget_rows, self.vault, self.caller)
        history = await self.work(views.my_history, self.vault, self.caller)
        self.page("budgets.html", budgets=budgets, history=history)


class AdminBudgetsPage(DashboardPage):
    """``dash/admin``: every budget, and the vault's load (lanes, memory, refusals) (admins)."""

    nav = "admin"

    async def get(self) -> None:
        budgets = await self.work(views.all_budgets, self.vault, self.caller)
        admission = self.settings.get("admission")  # the vault's saturation, as api/health reports it
        self.page("admin_budgets.html", budgets=budgets, tab="budgets", load=admission.health() if admission else None)


class AdminLedgerPage(DashboardPage):
    """``dash/admin/ledger[?dataset=&user=&limit=]``: the last entries of the ledger (admins)."""

    nav = "admin"

    async def get(self) -> None:
        ledger = await self.work(views.ledger, self.vault, self.caller, dataset=self.argument("dataset"),
                                 user=self.argument("user"), limit=self.argument("limit"))
        self.page("admin_ledger.html", ledger=ledger, datasets=sorted(self.vault.policies), tab="ledger",
                  filters={k: v for k, v in (("dataset", ledger.dataset), ("user", ledger.user)) if v})


class LedgerExport(DashboardPage):
    """``dash/admin/ledger/export?format=csv|json``: what ``api/ledger`` exports, as a download (admins).

    The API route takes a token only; this one takes the dashboard's login as well, and
    calls the same export.
    """

    async def get(self) -> None:
        fmt = self.argument("format") or "csv"
        text = await self.work(self.vault.ledger_export, self.caller, fmt, dataset=self.argument("dataset"),
                               user=self.argument("user"))
        kind = "text/csv" if fmt == "csv" else "application/json"
        self.set_header("Content-Type", f"{kind}; charset=UTF-8")
        self.set_header("Content-Disposition", f'attachment; filename="ledger.{fmt}"')
        self.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
        self.finish(text)


class AdminBuildsPage(DashboardPage):
    """``dash/admin/builds``: every twin build, released or rejected, with its gates (admins)."""

    nav = "admin"

    async def get(self) -> None:
        builds = await self.work(views.builds, self.vault, self.caller)
        self.page("admin_builds.html", builds=builds, tab="builds")


class LoginPage(DashboardPage):
    """``dash/login``: standalone, trade a token for the login cookie; under the hub, the hub logs in."""

    async def prepare(self) -> None:
        if self.hub_auth is not None:
            self.redirect(self.dash)  # a page: without a session, it sends the browser to the hub's login

    def get(self) -> None:
        token = self.get_query_argument("token", None)
        if token:
            self.log_in(token)
        else:
            self.login_page()

    def post(self) -> None:
        try:
            self.check_xsrf_cookie()
        except HTTPError:
            self.login_page(status=403, problem="The form had expired. Please paste your token again.")
            return
        self.log_in(self.get_body_argument("token", ""))

    def log_in(self, token: str) -> None:
        identity: StandaloneIdentity = self.settings["identity"]
        digest = token_digest(token.strip())
        caller = identity.caller_for_digest(digest)
        if caller is None:
            self.login_page(status=401, problem="That token is not valid here. Check it and try again.")
            return
        self.set_signed_cookie(COOKIE, digest.hex(), expires_days=None, path=self.dash, httponly=True,
                               samesite="Lax")
        log.info("dashboard login: %s", caller.name)
        self.redirect(_local(self.get_argument("next", ""), self.dash))


class LogoutPage(DashboardPage):
    """``dash/logout``: standalone, forget the login cookie; under the hub, log out of the hub."""

    async def prepare(self) -> None:
        pass

    def get(self) -> None:
        if self.hub_auth is not None:
            self.redirect(url_path_join(self.hub_auth.hub_prefix, "logout"))
            return
        self.clear_cookie(COOKIE, path=self.dash)
        self.login_page(notice="You are logged out of the dashboard.")


class NotFoundPage(DashboardPage):
    """Any other path under ``dash/``: a 404 page."""

    async def prepare(self) -> None:
        try:
            self._caller = await self.identify()  # only to show the usual navigation
        except LabError:
            pass
        raise RouteNotFound(f"there is no dashboard page at {self.request.path}.",
                            "Start again from 'My datasets'.")


class DashboardStatic(StaticFileHandler):
    """The dashboard's stylesheet; public (it says nothing about anyone)."""

    def set_extra_headers(self, path: str) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")


def dashboard_routes(prefix: str) -> list[tuple[Any, ...]]:
    """The dashboard's routes under the service's ``prefix``."""
    base = re.escape(prefix + "dash/")
    return [
        (re.escape(prefix + "dash"), RedirectHandler, {"url": prefix + "dash/"}),
        (base, DatasetsPage),
        (base + rf"datasets/{_NAME}/card", CardPage),
        (base + rf"twins/{_NAME}/{_VERSION}/files/(.+)", TwinDocument),
        (base + "budgets", BudgetsPage),
        (base + "admin", AdminBudgetsPage),
        (base + "admin/ledger", AdminLedgerPage),
        (base + "admin/ledger/export", LedgerExport),
        (base + "admin/builds", AdminBuildsPage),
        (base + rf"admin/rejected/{_NAME}/{_VERSION}/files/(.+)", RejectedDocument),
        (base + rf"admin/owner/{_NAME}/{_VERSION}", OwnerReport),
        (base + "login", LoginPage),
        (base + "logout", LogoutPage),
        (base + "static/(.*)", DashboardStatic, {"path": str(STATIC)}),
        (base + ".*", NotFoundPage),
    ]


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The pages' Jinja2 environment: autoescaping everywhere, and undefined names are errors."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["percent"] = lambda share: f"{100 * share:.0f}%"
    return env


@lru_cache(maxsize=1)
def _css_version() -> str:
    """A hash of the stylesheet, so that browsers may cache it until it changes."""
    return hashlib.sha256((STATIC / "dashboard.css").read_bytes()).hexdigest()[:12]


def _local(url: str, default: str) -> str:
    """``url`` if it is a path on the dashboard (no open redirect through ``next``), else ``default``."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith(default) or "\\" in url or "//" in parts.path:
        return default
    return url


__all__ = ["DashboardPage", "dashboard_routes", "environment"]
