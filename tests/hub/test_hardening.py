"""Smaller holes, each probed on the real hub: tokens that never expire, the demo mode run as
root, demo passwords on disk and on screen, and owners' real-data reports.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.hub import REPO, RunningHub, free_port, hub_environ, start_hub
from tests.support.hub_person import HubPerson

#: jupyterhub_config.py's c.JupyterHub.token_expires_in_max_seconds (docs/security.md).
TOKEN_MAX_SECONDS = 8 * 3600


def test_api_tokens_expire(servers: dict[str, HubPerson]):
    alice = servers["alice"]
    made = alice.api("POST", "hub/api/users/alice/tokens", json={"note": "no expiry asked"})
    assert made.status_code == 201, made.text
    assert made.json()["expires_at"] is not None  # never "never"
    forever = alice.api("POST", "hub/api/users/alice/tokens", json={"expires_in": TOKEN_MAX_SECONDS + 1})
    assert forever.status_code == 400 and str(TOKEN_MAX_SECONDS) in forever.text
    alice.api("DELETE", f"hub/api/users/alice/tokens/{made.json()['id']}")


def test_the_demo_mode_without_isolation_is_refused_as_root(settings: dict[str, str], lab_root: Path):
    assert os.geteuid() == 0
    state = lab_root / "root-demo-hub"
    state.mkdir()
    values = {**settings, "LAB_HUB_ISOLATION": "off", "LAB_HUB_STATE_DIR": str(state),
              "LAB_HUB_PORT": str(free_port()), "LAB_HUB_INTERNAL_PORT": str(free_port()),
              "LAB_HUB_PROXY_API_PORT": str(free_port()), "LAB_HUB_VAULT_PORT": str(free_port())}
    with pytest.raises(RuntimeError) as refused:
        start_hub(values, lab_root / "root-demo-hub.log", timeout=60)
    assert "every user would run code as root" in str(refused.value)
    assert "Fix: as root, run with isolation" in str(refused.value)
    demo = subprocess.run(["bash", str(REPO / "deploy" / "demo.sh"), "--no-isolation"], capture_output=True,
                          text=True, timeout=60, env=hub_environ({**values, "LAB_HUB_ISOLATION": ""}))
    assert demo.returncode == 1 and "refusing the demo mode without isolation as root" in demo.stderr


def test_demo_passwords_are_root_only_and_never_in_a_log(hub: RunningHub, passwords: dict[str, str]):
    state = Path(hub.env["LAB_ROOT"]) / "hub"
    credentials = state / "demo-credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600 and credentials.stat().st_uid == 0
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    log = hub.log.read_text()
    assert not any(password in log for password in passwords.values())
    # Asked again (with output to a pipe, as into a log), the command names the file, not the passwords.
    again = subprocess.run([str(Path(os.sys.executable)), "-m", "lab.cli", "hub", "demo-accounts"], timeout=120,
                           env=hub_environ(hub.env), capture_output=True, text=True)
    assert again.returncode == 0 and str(credentials) in again.stdout
    assert not any(password in again.stdout + again.stderr for password in passwords.values())


def test_owners_reports_are_for_admins_only(servers: dict[str, HubPerson]):
    for name in ("alice", "bob"):  # an analyst, and staff: neither sees real-data figures
        page = servers[name].api("GET", "services/vault/dash/admin/owner/welfare/v0001")
        assert page.status_code == 403, (name, page.status_code)
        rejected = servers[name].api("GET", "services/vault/dash/admin/rejected/welfare/v0001/files/report.html")
        assert rejected.status_code == 403, (name, rejected.status_code)
    admin = servers["ada"].api("GET", "services/vault/dash/admin/owner/welfare/v0001")
    assert admin.status_code == 404  # an admin is let in (the welfare twin here is not a DP one: no report)
