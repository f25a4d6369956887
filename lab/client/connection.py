"""Where the vault service is, who you are to it, and one HTTP session to talk to it.

The client finds the vault without being told, in this order:

1. ``LAB_VAULT_URL``: an explicit base URL (``http://127.0.0.1:8765/`` for a standalone
   vault; the hub's configuration may set it for every server).
2. Inside JupyterHub: the hub serves the vault as the managed service ``vault``, so its
   URL is ``<origin of JUPYTERHUB_API_URL><JUPYTERHUB_BASE_URL>services/vault/``. This
   does not depend on ``JUPYTERHUB_SERVICE_PREFIX`` (that is *your* server's prefix, not
   the vault's). ``JUPYTERHUB_BASE_URL`` may also be a full URL, whose origin then wins.

The token is ``LAB_VAULT_TOKEN`` if set, else ``JUPYTERHUB_API_TOKEN`` (the token the hub
gives every server). It is sent as ``Authorization: token ...`` and never printed: the
vault charges whoever owns the token, so a token is as good as your privacy budget.

Errors: every answer that is not a success becomes one of the types in
:mod:`lab.client.errors`, carrying the vault's own message and fix. Network failures,
timeouts and answers that are not the vault's JSON (a proxy's error page, a login
redirect) become :class:`~lab.client.errors.VaultUnavailable` or
:class:`~lab.client.errors.NotSignedIn`, with a hint about the URL in use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lab.client.errors import NotSignedIn, VaultUnavailable, error_from_response

#: The name the hub's configuration gives the vault service.
SERVICE_NAME = "vault"
#: Seconds to wait for the vault: a DP release on a large table can take a while.
DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class VaultAddress:
    """The vault's base URL and the caller's token, with where each was found.

    Attributes:
        url: the base URL, ending in ``/``; routes such as ``api/catalog`` are relative to it.
        url_from: the environment variable (or ``"argument"``) the URL came from.
        token: the token (hidden from ``repr``), or ``None`` if none was found.
        token_from: where the token came from, or ``None``.
    """

    url: str
    url_from: str
    token: str | None = field(default=None, repr=False)
    token_from: str | None = None


def find_vault(environ: Mapping[str, str] | None = None, *, url: str | None = None,
               token: str | None = None) -> VaultAddress:
    """Find the vault's URL and the caller's token (arguments win over the environment).

    Raises:
        VaultUnavailable: no URL was given and none can be derived from the environment.

    >>> find_vault({"LAB_VAULT_URL": "http://127.0.0.1:8765"}).url
    'http://127.0.0.1:8765/'
    >>> address = find_vault({"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
    ...                       "JUPYTERHUB_BASE_URL": "/lab/", "JUPYTERHUB_API_TOKEN": "secret"})
    >>> address.url, address.url_from, address.token_from
    ('http://127.0.0.1:8081/lab/services/vault/', 'JUPYTERHUB_API_URL', 'JUPYTERHUB_API_TOKEN')
    """
    env = os.environ if environ is None else environ
    if url:
        found_url, url_from = url, "argument"
    elif env.get("LAB_VAULT_URL"):
        found_url, url_from = env["LAB_VAULT_URL"], "LAB_VAULT_URL"
    else:
        found_url, url_from = _hub_service_url(env)
    if token:
        found_token, token_from = token, "argument"
    else:
        found_token, token_from = next(((env[name], name) for name in ("LAB_VAULT_TOKEN", "JUPYTERHUB_API_TOKEN")
                                        if env.get(name)), (None, None))
    return VaultAddress(url=_with_slash(found_url), url_from=url_from, token=found_token, token_from=token_from)


class Connection:
    """One HTTP session with the vault service: JSON in, JSON out, typed errors.

    Use :func:`connect` to make the connection every ``lab.*`` call uses, or build one
    and pass it as ``connection=`` (tests, two vaults in one notebook).

    Args:
        url: the vault's base URL (default: found from the environment, see the module).
        token: your token (default: ``LAB_VAULT_TOKEN``, else ``JUPYTERHUB_API_TOKEN``).
        timeout: seconds to wait for one answer.
        environ: the environment to read instead of ``os.environ`` (tests).
    """

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 environ: Mapping[str, str] | None = None) -> None:
        import requests

        self.address = find_vault(environ, url=url, token=token)
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers.update({"Accept": "application/json", "User-Agent": "lab-client"})
        if self.address.token:
            self._session.headers["Authorization"] = f"token {self.address.token}"

    @property
    def url(self) -> str:
        """The vault's base URL."""
        return self.address.url

    def __repr__(self) -> str:
        signed = f"token from {self.address.token_from}" if self.address.token else "no token"
        return f"<lab Connection to {self.url} (from {self.address.url_from}; {signed})>"

    def get(self, route: str, params: Mapping[str, str] | None = None, *, auth: bool = True) -> Any:
        """``GET`` a route (``api/catalog``...) and return its parsed JSON.

        Raises:
            ClientError: one of its subclasses, from the vault's answer or the network.
        """
        return self._request("GET", route, params=params, auth=auth)

    def post(self, route: str, body: Any) -> Any:
        """``POST`` a JSON body to a route and return the parsed JSON answer.

        Raises:
            ClientError: one of its subclasses, from the vault's answer or the network.
        """
        return self._request("POST", route, json=body)

    def health(self) -> bool:
        """True if the vault answers its health check (needs no token)."""
        try:
            return self.get("api/health", auth=False).get("status") == "ok"
        except VaultUnavailable:
            return False

    def close(self) -> None:
        """Close the HTTP session (a new call opens a new one)."""
        self._session.close()

    def _request(self, method: str, route: str, *, auth: bool = True, **kwargs: Any) -> Any:
        import requests

        if auth and not self.address.token:
            raise NotSignedIn(
                "no token for the vault: neither LAB_VAULT_TOKEN nor JUPYTERHUB_API_TOKEN is set",
                fix="inside JupyterHub, restart your server from the hub's home page; elsewhere, "
                    "set LAB_VAULT_TOKEN to the token an administrator gave you")
        target = self.url + route.lstrip("/")
        try:
            response = self._session.request(method, target, timeout=self.timeout, allow_redirects=False,
                                             **kwargs)
        except requests.Timeout:
            raise VaultUnavailable(f"the vault at {self.url} did not answer within {self.timeout:g} s",
                                   fix="try again; a large query may need Connection(timeout=...) "
                                       "to be larger") from None
        except requests.RequestException as exc:
            raise VaultUnavailable(f"cannot reach the vault at {self.url} ({_reason(exc)})",
                                   fix=f"check the URL (it came from {self.address.url_from}); if it is right, "
                                       "the vault may be restarting: try again in a minute") from None
        return self._read(response)

    def _read(self, response: Any) -> Any:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if 200 <= status < 300 and payload is not None:
            return payload
        if isinstance(payload, Mapping) and isinstance(payload.get("error"), Mapping):
            raise error_from_response(status, payload)
        # Not the vault's JSON: a login redirect, a proxy's error page, another server.
        location = response.headers.get("Location", "") if 300 <= status < 400 else ""
        if status == 401 or any(word in location for word in ("login", "oauth", "authorize")):
            raise NotSignedIn(f"the vault at {self.url} did not accept your token (HTTP {status})",
                              fix="inside JupyterHub, restart your server from the hub's home page; "
                                  "elsewhere, check LAB_VAULT_TOKEN", status=status)
        if location:
            raise VaultUnavailable(
                f"{self.url} redirected to {location} (HTTP {status}) instead of answering as the vault",
                fix=f"check that this is the vault's URL (it came from {self.address.url_from}); inside "
                    "JupyterHub, the hub's configuration can set LAB_VAULT_URL for every server", status=status)
        raise VaultUnavailable(
            f"{self.url} answered HTTP {status} with something that is not the vault's JSON",
            fix=f"check that this is the vault's URL (it came from {self.address.url_from}); if it is, "
                "the vault may be restarting: try again in a minute", status=status)


_default: Connection | None = None
_default_lock = threading.Lock()


def connect(url: str | None = None, token: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Connection:
    """Connect to the vault and make that the connection every ``lab.*`` call uses.

    Without arguments it finds the vault from the environment (see the module). Call it
    again to switch vault or token.
    """
    global _default
    connection = Connection(url, token, timeout=timeout)
    with _default_lock:
        previous, _default = _default, connection
    if previous is not None:
        previous.close()
    return connection


def default_connection() -> Connection:
    """The connection ``lab.*`` calls use: the last :func:`connect`, else one from the environment."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Connection()
        return _default


def _hub_service_url(env: Mapping[str, str]) -> tuple[str, str]:
    base = env.get("JUPYTERHUB_BASE_URL") or "/"
    if urlsplit(base).scheme:
        return _with_slash(base) + f"services/{SERVICE_NAME}/", "JUPYTERHUB_BASE_URL"
    api = env.get("JUPYTERHUB_API_URL")
    if not api:
        raise VaultUnavailable(
            "cannot tell where the vault is: LAB_VAULT_URL is not set and this is not a JupyterHub server "
            "(no JUPYTERHUB_API_URL)",
            fix="set LAB_VAULT_URL (for example http://127.0.0.1:8765/), or call lab.connect(url=...)")
    parts = urlsplit(api)
    return f"{parts.scheme}://{parts.netloc}{_with_slash('/' + base.lstrip('/'))}services/{SERVICE_NAME}/", \
        "JUPYTERHUB_API_URL"


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "Temporary failure in name resolution", "Connection reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


__all__ = ["DEFAULT_TIMEOUT", "SERVICE_NAME", "Connection", "VaultAddress", "connect", "default_connection",
           "find_vault"]
