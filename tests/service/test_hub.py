"""The vault as a JupyterHub-managed service: callers and their groups come from the hub.

A real JupyterHub 6 (DummyAuthenticator, SQLite, configurable-http-proxy on loopback)
starts the vault itself, with the environment the hub gives its services. Requests go
through the hub's proxy to ``/services/vault/``, as a notebook's would.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.dummy_hub import VAULT_SCOPE, running_dummy_hub

COUNT = {"dataset": "welfare", "statistic": "count", "epsilon": "0.1"}


@dataclass
class Hub:
    url: str            # the proxy's public URL, e.g. http://127.0.0.1:PORT/
    service_token: str  # a hub service allowed to issue user tokens
    log: Path

    @property
    def vault(self) -> str:
        return self.url + "services/vault/"

    def token_for(self, user: str, scopes: list[str] | None = None) -> str:
        """A new API token for ``user``, through the hub's REST API."""
        response = requests.post(f"{self.url}hub/api/users/{user}/tokens", timeout=30,
                                 headers={"Authorization": f"token {self.service_token}"},
                                 json={"note": "vault test", "expires_in": 900,
                                       "scopes": [VAULT_SCOPE] if scopes is None else scopes})
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, lab_env: dict[str, str]) -> Iterator[Hub]:
    service_token = secrets.token_hex(24)
    config = f"""
        c.Authenticator.allowed_users = {{"alice", "bob", "ada"}}
        c.Authenticator.admin_users = {{"ada"}}
        c.JupyterHub.load_groups = {{"analysts": {{"users": ["alice"]}}, "staff": {{"users": ["bob"]}}}}
        c.JupyterHub.load_roles = [
            {{"name": "user", "scopes": ["self", {VAULT_SCOPE!r}]}},
            {{"name": "token-issuer", "scopes": ["tokens"], "services": ["tester"]}},
        ]
    """
    with running_dummy_hub(tmp_path_factory.mktemp("hub"), lab_env, config,
                           extra_services=[{"name": "tester", "api_token": service_token}]) as (url, log):
        yield Hub(url, service_token, log)


def test_the_caller_and_groups_come_from_the_hub(hub: Hub):
    alice, bob, ada = (hub.token_for(name) for name in ("alice", "bob", "ada"))

    def call(token: str, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, hub.vault + path, headers={"Authorization": f"token {token}"}, timeout=30,
                                **kwargs)

    assert call(alice, "GET", "api/whoami").json()["user"] == {"name": "alice", "groups": ["analysts"],
                                                               "admin": False}
    assert call(ada, "GET", "api/whoami").json()["user"]["admin"] is True  # hub admins administer the vault

    answer = call(alice, "POST", "api/query", json=COUNT)
    assert answer.status_code == 200, answer.text
    [entry] = [e for e in call(alice, "GET", "api/history").json()["entries"] if e["action"] == "reserve"]
    assert entry["actor"] == "alice" and entry["groups"] == ["analysts"] and entry["status"] == "released"
    assert entry["id"] == answer.json()["charge"]["entry_id"]

    refused = call(bob, "POST", "api/query", json=COUNT)  # staff: twin only
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "NoAccess"
    assert call(bob, "POST", "api/preview", json=COUNT).json()["charge"] is None
    assert call(bob, "GET", "api/ledger").status_code == 403
    ledger = call(ada, "GET", "api/ledger", params={"format": "json"}).json()["entries"]
    assert {e["actor"] for e in ledger if e["action"] == "reserve"} == {"alice"}

    forged = call(alice + "x", "GET", "api/catalog")
    assert forged.status_code == 401 and forged.json()["error"]["type"] == "NotAuthenticated"
    no_scope = call(hub.token_for("alice", scopes=[]), "GET", "api/catalog")  # identifies alice, not for the vault
    assert no_scope.status_code == 403 and no_scope.json()["error"]["type"] == "NoAccess"


def test_a_browser_logs_in_through_oauth_and_needs_xsrf_to_post(hub: Hub):
    browser = requests.Session()
    browser.get(hub.url + "hub/login", timeout=30)
    login = browser.post(hub.url + "hub/login", timeout=30, allow_redirects=False,  # not on to spawning a server
                         data={"username": "alice", "password": "any", "_xsrf": browser.cookies.get("_xsrf", path="/hub/")})
    assert login.status_code == 302, login.text
    landing = browser.get(hub.vault, timeout=30)  # -> hub OAuth -> oauth_callback -> back, with a cookie
    assert landing.status_code == 200, landing.text
    assert landing.json()["user"]["name"] == "alice"
    assert any(r.status_code == 302 and "oauth_callback" in r.headers.get("Location", "") or
               re.search(r"oauth2/authorize", r.headers.get("Location", "")) for r in landing.history)

    assert browser.get(hub.vault + "api/budgets", timeout=30).json()["user"] == "alice"
    # A cookie alone cannot spend budget: a cross-site form post carries no XSRF token.
    forged = browser.post(hub.vault + "api/query", json=COUNT, timeout=30)
    assert forged.status_code == 401
    xsrf = browser.cookies.get("_xsrf", path="/services/vault/")
    assert xsrf
    posted = browser.post(hub.vault + "api/query", json=COUNT, headers={"X-XSRFToken": xsrf}, timeout=30)
    assert posted.status_code == 200, posted.text
