"""The dashboard under a real JupyterHub: the home page's link, and the hub's login in front of it.

A JupyterHub 6 (DummyAuthenticator, SQLite, configurable-http-proxy on loopback) under a
non-root base URL (``/jh/``, so that the link has to be computed, not assumed), with the
lab's home template (lab/hub/templates) and the vault as a managed service in hub mode,
as jupyterhub_config.py runs it. Chromium logs in at the hub, follows the link from the
home page, and lands on the dashboard through the hub's OAuth.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.service.running import REPO, free_port, lab_environ

BASE = "/jh/"
VAULT_SCOPE = "access:services!service=vault"


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory, lab_env: dict[str, str]) -> Iterator[str]:
    """The public URL of a hub (ending in ``/jh/``) whose vault service serves the dashboard."""
    if shutil.which("configurable-http-proxy") is None:
        pytest.skip("configurable-http-proxy is not installed. Fix: bash deploy/ensure-proxy.sh")
    workdir = tmp_path_factory.mktemp("hub")
    port = free_port()
    vault_env = {**lab_env, "LAB_LEDGER_URL": f"sqlite:///{workdir / 'ledger.sqlite'}"}  # a ledger of its own
    config = workdir / "jupyterhub_config.py"
    config.write_text(textwrap.dedent(f"""
        c.JupyterHub.ip = "127.0.0.1"
        c.JupyterHub.port = {port}
        c.JupyterHub.base_url = {BASE!r}
        c.JupyterHub.hub_ip = "127.0.0.1"
        c.JupyterHub.hub_port = {free_port()}
        c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
        c.ConfigurableHTTPProxy.pid_file = {str(workdir / "proxy.pid")!r}
        c.JupyterHub.db_url = "sqlite:///{workdir / "jupyterhub.sqlite"}"
        c.JupyterHub.cookie_secret_file = {str(workdir / "cookie_secret")!r}
        c.JupyterHub.authenticator_class = "dummy"
        c.JupyterHub.default_url = "{BASE}hub/home"  # land on the home page after login, not a spawn
        c.JupyterHub.template_paths = [{str(REPO / "lab" / "hub" / "templates")!r}]
        c.Authenticator.allowed_users = {{"alice", "hana"}}
        c.JupyterHub.load_groups = {{"analysts": {{"users": ["alice"]}}, "hackathon": {{"users": ["hana"]}}}}
        c.JupyterHub.load_roles = [{{"name": "user", "scopes": ["self", {VAULT_SCOPE!r}]}}]
        c.JupyterHub.services = [
            {{"name": "vault", "url": "http://127.0.0.1:{free_port()}", "oauth_no_confirm": True,
              "display": False,  # not in the Services menu (its root answers JSON); the home page links it
              "command": [{sys.executable!r}, "-m", "lab.vault.service"], "cwd": {str(REPO)!r},
              "environment": {vault_env!r}}},
        ]
    """))
    log = workdir / "jupyterhub.log"
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=workdir,
                                   env=lab_environ({}), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{BASE}"
    try:
        _wait_for(url + "services/vault/api/health", process, log)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)  # the hub stops its managed services and the proxy
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the hub or its vault service did not come up; the hub's log:\n{log.read_text()[-5000:]}")


def test_the_hub_home_page_links_to_the_dashboard_behind_the_hub_login(browser, hub_url, shots):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        # Without a session, the dashboard sends the browser to the hub's login.
        page.goto(hub_url + "services/vault/dash/budgets")
        assert "/jh/hub/login" in page.url
        page.fill("#username_input", "alice")
        page.fill("#password_input", "any")
        page.click("#login_submit")
        page.wait_for_load_state("load")
        assert page.url.endswith("/jh/services/vault/dash/budgets")  # back where it was going
        assert page.locator("#caller").inner_text() == "alice"

        page.goto(hub_url + "hub/home")
        link = page.locator("#lab-dashboard-link")
        assert link.get_attribute("href") == "/jh/services/vault/dash/"  # computed from the hub's base URL
        assert page.get_by_role("link", name="Services").count() == 0
        page.screenshot(path=str(shots / "20-hub-home.png"), full_page=True)
        link.click()
        page.wait_for_load_state("load")
        assert page.url == hub_url + "services/vault/dash/"
        assert page.locator("article.dataset code.name").all_inner_texts() == ["census", "tax", "welfare"]
        hub_home = page.get_by_role("link", name="Hub home")
        assert hub_home.get_attribute("href") == "/jh/hub/home"
        page.screenshot(path=str(shots / "21-dashboard-under-hub.png"), full_page=True)

        refused = page.goto(hub_url + "services/vault/dash/admin")
        assert refused is not None and refused.status == 403
        assert "for vault administrators" in page.locator("#error").inner_text()
    finally:
        context.close()
