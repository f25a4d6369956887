"""Who is calling: the two identity providers of the vault service.

The vault charges privacy loss to the caller this module names, so the name and groups
come only from a credential, never from the request body:

* :class:`StandaloneIdentity` (development and tests): a JSON users file maps tokens to
  ``{"name", "groups", "admin"}``. Tokens are compared by their SHA-256 digest, so the
  lookup's timing says nothing about the tokens on file.
* :class:`HubIdentity` (production): JupyterHub's ``HubOAuth`` identifies the owner of the
  token in the ``Authorization`` header, or of the OAuth cookie a browser got through
  ``oauth_callback``; the groups are the hub's. The token must carry the service's access
  scope (``access:services!service=<name>``), as ``HubOAuthenticated`` handlers require.
  Asked on every request, with answers cached for at most ``HUB_CACHE_SECONDS`` (30 s):
  a person removed from a group, or whose token was revoked, loses access within that.

A token acts for its owner, so whoever holds it spends the owner's budget: that is why
JupyterHub's server sharing must stay disabled on a lab hub (a guest on a shared server
runs code with the owner's token). See docs/vault.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from tornado.web import HTTPError, RequestHandler

from lab.errors import SettingsError
from lab.vault.service.errors import HubUnavailable, NoAccess

log = logging.getLogger(__name__)

_HEADER = re.compile(r"^\s*(?:token|bearer)\s+(\S+)\s*$", re.IGNORECASE)

#: How long the vault reuses the hub's answer about a token (its owner and groups). Every
#: request is checked against the hub; within this many seconds the answer may come from
#: the cache, so a revoked token or a group removal takes effect within 30 s (docs/security.md).
HUB_CACHE_SECONDS = 30


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: the user charged, the groups that give access, admin rights."""

    name: str
    groups: tuple[str, ...] = ()
    admin: bool = False

    def to_dict(self) -> dict[str, Any]:
        """As ``api/whoami`` shows it."""
        return {"name": self.name, "groups": list(self.groups), "admin": self.admin}


class Identity(Protocol):
    """Names the caller of a request (``None``: not authenticated).

    Conforming: :class:`StandaloneIdentity`, :class:`HubIdentity`.
    """

    async def identify(self, handler: RequestHandler) -> Caller | None:
        """The caller of the request ``handler`` serves.

        Raises:
            NoAccess: authenticated, but not allowed to use the service.
            HubUnavailable: the hub could not be asked.
        """
        ...


def bearer_token(handler: RequestHandler) -> str | None:
    """The token in ``Authorization: token <t>`` (or ``Bearer <t>``), if any."""
    match = _HEADER.match(handler.request.headers.get("Authorization", ""))
    return match.group(1) if match else None


class StandaloneIdentity:
    """Tokens from a users file: ``{"tokens": {"<token>": {"name", "groups", "admin"}}}``.

    Args:
        users: the parsed file (see :func:`load_users`).
    """

    def __init__(self, users: Mapping[str, Caller]) -> None:
        self._by_digest = {token_digest(token): caller for token, caller in users.items()}

    async def identify(self, handler: RequestHandler) -> Caller | None:
        token = bearer_token(handler)
        return None if token is None else self.caller_for_digest(token_digest(token))

    def caller_for_digest(self, digest: bytes) -> Caller | None:
        """The caller whose token has this SHA-256 digest (the dashboard's login cookie holds
        the digest, so that the cookie never carries the token itself)."""
        return self._by_digest.get(digest)


def load_users(path: Path | str) -> dict[str, Caller]:
    """Read a standalone users file, checking every entry before accepting any.

    Raises:
        SettingsError: the file is unreadable, not JSON, or an entry is malformed.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: the users file does not exist. Fix: pass --users with an existing "
                            'file such as {"tokens": {"<token>": {"name": "alice", "groups": ["analysts"]}}}.') from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{path}: the users file cannot be read as JSON ({type(exc).__name__}). "
                            "Fix: correct it.") from None
    tokens = document.get("tokens") if isinstance(document, dict) else None
    if not isinstance(tokens, dict) or not tokens:
        raise SettingsError(f'{path}: expected {{"tokens": {{"<token>": {{"name": ..., "groups": [...], '
                            '"admin": false}}}}}} with at least one token. Fix: add a "tokens" object.')
    problems: list[str] = []
    users: dict[str, Caller] = {}
    for index, (token, entry) in enumerate(tokens.items(), start=1):
        where = f"token #{index}"  # never the token itself: it is a secret
        if len(token) < 16:
            log.warning("%s: %s is shorter than 16 characters; use long random tokens (openssl rand -hex 32)",
                        path, where)
        if not isinstance(entry, dict) or set(entry) - {"name", "groups", "admin"}:
            problems.append(f"{where}: must be an object with only name, groups and admin")
            continue
        name, groups, admin = entry.get("name"), entry.get("groups", []), entry.get("admin", False)
        found = []
        if not isinstance(name, str) or not name.strip():
            found.append(f"{where}: name must be a non-empty string")
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            found.append(f"{where}: groups must be a list of group names")
        if not isinstance(admin, bool):
            found.append(f"{where}: admin must be true or false")
        problems += found
        if not found:
            users[token] = Caller(name=str(name).strip(), groups=tuple(sorted(set(groups))), admin=admin)
    if problems:
        raise SettingsError(f"{path}: " + "; ".join(problems) + ". Fix: correct those entries.")
    return users


class HubIdentity:
    """The caller as JupyterHub knows them, through ``HubOAuth``.

    Args:
        hub_auth: configured for this service (see :func:`make_hub_auth`).
        admin_groups: hub groups whose members are vault admins (hub admins always are).
    """

    def __init__(self, hub_auth: HubOAuth, admin_groups: tuple[str, ...] = ()) -> None:
        self.hub_auth = hub_auth
        self.admin_groups = frozenset(admin_groups)

    async def identify(self, handler: RequestHandler) -> Caller | None:
        try:
            # Token first, then the OAuth cookie (which HubOAuth accepts on a POST only with
            # a valid XSRF token: the handler must be HubOAuthenticated).
            model = await self.hub_auth.get_user(handler, sync=False)
        except HTTPError as exc:
            log.error("cannot ask the hub who is calling: %s", exc)
            raise HubUnavailable("The vault could not ask JupyterHub who you are; nothing was charged.") from None
        if not model:
            return None
        kind, name = model.get("kind", "user"), model.get("name", "")
        if kind != "user":
            raise NoAccess(f"{kind} '{name}' is not a user; the vault answers users, who each have a budget.",
                           "Call the vault with a user's token.")
        scopes = self.hub_auth.access_scopes
        if scopes and not self.hub_auth.check_scopes(scopes, model):
            raise NoAccess(f"your token does not give access to this service (it needs one of the scopes "
                           f"{', '.join(sorted(scopes))}).",
                           "Use a token issued for the vault (the lab client's), or ask an admin to grant the scope.")
        groups = tuple(sorted(model.get("groups") or ()))
        admin = bool(model.get("admin")) or bool(self.admin_groups.intersection(groups))
        return Caller(name=name, groups=groups, admin=admin)


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """Finishes a browser's OAuth login with the hub and sets the service's cookie."""

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings["hub_auth"]


@dataclass(frozen=True)
class HubEnvironment:
    """What a hub-managed service learns from JupyterHub's environment variables."""

    prefix: str
    api_token: str
    api_url: str
    host: str
    port: int


def hub_environment(environ: Mapping[str, str] | None = None) -> HubEnvironment:
    """Read ``JUPYTERHUB_SERVICE_PREFIX``, ``_API_TOKEN``, ``_API_URL`` and ``_SERVICE_URL``.

    Raises:
        SettingsError: a variable is missing (the service is not running under the hub) or
            the service URL is unusable.
    """
    env = os.environ if environ is None else environ
    names = ("JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_SERVICE_URL")
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise SettingsError(f"hub mode needs {', '.join(missing)}, which JupyterHub sets for the services it "
                            "manages. Fix: run the vault as a JupyterHub service, or pass --standalone --users FILE.")
    url = urlsplit(env["JUPYTERHUB_SERVICE_URL"])
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        port = 0
    if url.scheme not in ("http", "https") or not url.hostname or not port:
        raise SettingsError(f"JUPYTERHUB_SERVICE_URL={env['JUPYTERHUB_SERVICE_URL']!r} is not an http URL with "
                            "a host. Fix: set the service's url in the hub's configuration.")
    prefix = env["JUPYTERHUB_SERVICE_PREFIX"]
    return HubEnvironment(prefix=prefix if prefix.endswith("/") else prefix + "/",
                          api_token=env["JUPYTERHUB_API_TOKEN"], api_url=env["JUPYTERHUB_API_URL"],
                          host=url.hostname, port=port)


def make_hub_auth(hub: HubEnvironment) -> HubOAuth:
    """A ``HubOAuth`` for this service; the rest (client id, scopes) comes from the hub's environment.

    Raises:
        SettingsError: JUPYTERHUB_CLIENT_ID is missing (the service has no OAuth client).
    """
    try:
        return HubOAuth(api_token=hub.api_token, api_url=hub.api_url, base_url=hub.prefix,
                        cache_max_age=HUB_CACHE_SECONDS)
    except Exception as exc:  # noqa: BLE001 - traitlets raises TraitError subclasses of several kinds
        raise SettingsError(f"cannot set up JupyterHub OAuth ({exc}). Fix: run the vault as a JupyterHub "
                            "service with a url (the hub then sets JUPYTERHUB_CLIENT_ID).") from None


def token_digest(token: str) -> bytes:
    """The SHA-256 digest by which standalone tokens are looked up (never the token itself)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
