"""The dashboard under a real JupyterHub: the home page's link, and the hub's login in front of it.

A JupyterHub 6 (DummyAuthenticator, SQLite, configurable-http-proxy on loopback) under a
non-root base URL (``/jh/``, so that the link has to be computed, not assumed), with the
lab's home template (lab/hub/templates) and the vault as a managed service in hub mode,
as jupyterhub_config.py runs it. Chromium logs in at the hub, follows the link from the
home page, and lands on the dashboard through the hub's OAuth.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.running import REPO
from tests.support.dummy_hub import VAULT_SCOPE, running_dummy_hub

BASE = "/jh/"


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory, lab_env: dict[str, str]) -> Iterator[str]:
    """The public URL of a hub (ending in ``/jh/``) whose vault service serves the dashboard."""
    config = f"""
        c.JupyterHub.default_url = "{BASE}hub/home"  # land on the home page after login, not a spawn
        c.JupyterHub.template_paths = [{str(REPO / "lab" / "hub" / "templates")!r}]
        c.Authenticator.allowed_users = {{"alice", "hana"}}
        c.JupyterHub.load_groups = {{"analysts": {{"users": ["alice"]}}, "hackathon": {{"users": ["hana"]}}}}
        c.JupyterHub.load_roles = [{{"name": "user", "scopes": ["self", {VAULT_SCOPE!r}]}}]
    """
    # Not in the Services menu (its root answers JSON); the home page links it.
    with running_dummy_hub(tmp_path_factory.mktemp("hub"), lab_env, config, base_url=BASE,
                           vault={"display": False}) as (url, _):
        yield url


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
