"""Finding the vault and the token from the environment, and what network failures look like."""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

import lab
from lab.client.connection import Connection, find_vault


@pytest.mark.parametrize(("env", "url", "url_from"), [
    ({"LAB_VAULT_URL": "http://127.0.0.1:8765"}, "http://127.0.0.1:8765/", "LAB_VAULT_URL"),
    ({"LAB_VAULT_URL": "http://vault:80/x/", "JUPYTERHUB_API_URL": "http://hub:8081/hub/api"},
     "http://vault:80/x/", "LAB_VAULT_URL"),
    ({"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api", "JUPYTERHUB_BASE_URL": "/"},
     "http://127.0.0.1:8081/services/vault/", "JUPYTERHUB_API_URL"),
    ({"JUPYTERHUB_API_URL": "http://hub:8081/lab/hub/api", "JUPYTERHUB_BASE_URL": "/lab/",
      "JUPYTERHUB_SERVICE_PREFIX": "/lab/user/alice/"},
     "http://hub:8081/lab/services/vault/", "JUPYTERHUB_API_URL"),
    ({"JUPYTERHUB_API_URL": "http://hub:8081/hub/api"}, "http://hub:8081/services/vault/", "JUPYTERHUB_API_URL"),
    ({"JUPYTERHUB_BASE_URL": "https://lab.example.org/base", "JUPYTERHUB_API_URL": "http://hub:8081/hub/api"},
     "https://lab.example.org/base/services/vault/", "JUPYTERHUB_BASE_URL"),
], ids=["explicit", "explicit-wins", "hub", "hub-prefixed", "hub-no-base", "hub-base-is-url"])
def test_the_vault_url_comes_from_the_environment(env, url, url_from):
    found = find_vault(env)
    assert (found.url, found.url_from) == (url, url_from)


def test_the_token_prefers_lab_vault_token_and_is_never_shown():
    both = find_vault({"LAB_VAULT_URL": "http://v/", "LAB_VAULT_TOKEN": "mine", "JUPYTERHUB_API_TOKEN": "hub"})
    assert (both.token, both.token_from) == ("mine", "LAB_VAULT_TOKEN")
    hub = find_vault({"LAB_VAULT_URL": "http://v/", "JUPYTERHUB_API_TOKEN": "hub-secret"})
    assert (hub.token, hub.token_from) == ("hub-secret", "JUPYTERHUB_API_TOKEN")
    assert "hub-secret" not in repr(hub)
    connection = Connection(environ={"LAB_VAULT_URL": "http://v/", "JUPYTERHUB_API_TOKEN": "hub-secret"})
    assert "hub-secret" not in repr(connection) and "JUPYTERHUB_API_TOKEN" in repr(connection)


def test_arguments_win_over_the_environment():
    found = find_vault({"LAB_VAULT_URL": "http://env/", "LAB_VAULT_TOKEN": "env"}, url="http://arg", token="t")
    assert (found.url, found.url_from, found.token, found.token_from) == ("http://arg/", "argument", "t", "argument")


def test_no_url_anywhere_says_how_to_set_one():
    with pytest.raises(lab.VaultUnavailable, match="set LAB_VAULT_URL"):
        find_vault({})


def test_no_token_is_refused_before_anything_is_sent():
    connection = Connection(environ={"LAB_VAULT_URL": "http://127.0.0.1:9/"})
    with pytest.raises(lab.NotSignedIn, match="set LAB_VAULT_TOKEN"):
        lab.datasets(connection=connection)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nothing_listening_is_vault_unavailable_with_the_url_and_its_source():
    connection = Connection(environ={"LAB_VAULT_URL": f"http://127.0.0.1:{_closed_port()}/",
                                     "LAB_VAULT_TOKEN": "t"}, timeout=5)
    with pytest.raises(lab.VaultUnavailable) as caught:
        lab.budget(connection=connection)
    text = str(caught.value)
    assert "cannot reach the vault at http://127.0.0.1:" in text and "LAB_VAULT_URL" in text
    assert "Traceback" not in text and caught.value.__cause__ is None
    assert connection.health() is False


class _NotTheVault(http.server.BaseHTTPRequestHandler):
    """A web server that is not the vault: an HTML 404, a login redirect, a JSON 200 that is fine."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path.startswith(("/login-redirect/", "/hub-redirect/")):
            self.send_response(302)
            self.send_header("Location", "/hub/login?next=x" if "login" in self.path else "/hub" + self.path)
            self.end_headers()
            return
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>404 Not Found</html>")

    def log_message(self, *args):
        pass


@pytest.fixture
def not_the_vault():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotTheVault)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_web_page_instead_of_the_vault_says_to_check_the_url(not_the_vault):
    connection = Connection(url=not_the_vault + "/services/vault/", token="t")
    with pytest.raises(lab.VaultUnavailable) as caught:
        lab.datasets(connection=connection)
    assert "answered HTTP 404 with something that is not the vault's JSON" in str(caught.value)
    assert "it came from argument" in str(caught.value)


def test_a_login_redirect_means_the_token_was_not_accepted(not_the_vault):
    connection = Connection(url=not_the_vault + "/login-redirect/", token="t")
    with pytest.raises(lab.NotSignedIn, match="did not accept your token"):
        lab.budget(connection=connection)


def test_another_redirect_means_the_url_is_wrong(not_the_vault):
    # What the hub itself answers for a path outside its prefix, e.g. /services/vault/ sent to the hub's port.
    connection = Connection(url=not_the_vault + "/hub-redirect/", token="t")
    with pytest.raises(lab.VaultUnavailable) as caught:
        lab.budget(connection=connection)
    assert "redirected to /hub/hub-redirect/api/budgets (HTTP 302)" in str(caught.value)
    assert "LAB_VAULT_URL" in str(caught.value)


def test_connect_sets_the_default_connection(monkeypatch):
    from lab.client import connection as module

    monkeypatch.setattr(module, "_default", None)
    monkeypatch.setenv("LAB_VAULT_URL", "http://127.0.0.1:1/")
    monkeypatch.setenv("LAB_VAULT_TOKEN", "from-env")
    assert module.default_connection().url == "http://127.0.0.1:1/"
    chosen = lab.connect("http://127.0.0.1:2", token="other")
    assert module.default_connection() is chosen and chosen.url == "http://127.0.0.1:2/"
    assert lab.query("welfare")._connection() is chosen
