"""A JupyterHub 6 with the vault as a managed service, for tests of the vault in hub mode.

DummyAuthenticator, SQLite and configurable-http-proxy on loopback, in a work directory of
the test's; the vault runs ``python -m lab.vault.service`` with a ledger of its own. Each
test adds its own users, groups, roles and extra services as config lines.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.service.running import REPO, free_port, lab_environ
from tests.support.processes import stop

VAULT_SCOPE = "access:services!service=vault"


@contextmanager
def running_dummy_hub(workdir: Path, lab_env: dict[str, str], config: str, *, base_url: str = "/",
                      vault: dict[str, Any] | None = None,
                      extra_services: list[dict[str, Any]] = ()) -> Iterator[tuple[str, Path]]:
    """Start the hub, wait until the vault answers through its proxy, yield (public URL, log); stop it.

    Args:
        config: more ``c.…`` lines (users, groups, roles).
        vault: more keys for the vault's service entry (e.g. ``{"display": False}``).
        extra_services: more entries of ``c.JupyterHub.services``.
    """
    if shutil.which("configurable-http-proxy") is None:
        pytest.skip("configurable-http-proxy is not installed. Fix: bash deploy/ensure-proxy.sh")
    port = free_port()
    vault_env = {**lab_env, "LAB_LEDGER_URL": f"sqlite:///{workdir / 'ledger.sqlite'}"}  # a ledger of its own
    services = [{"name": "vault", "url": f"http://127.0.0.1:{free_port()}", "oauth_no_confirm": True,
                 "command": [sys.executable, "-m", "lab.vault.service"], "cwd": str(REPO),
                 "environment": vault_env, **(vault or {})}, *extra_services]
    (workdir / "jupyterhub_config.py").write_text(textwrap.dedent(f"""
        c.JupyterHub.ip = "127.0.0.1"
        c.JupyterHub.port = {port}
        c.JupyterHub.base_url = {base_url!r}
        c.JupyterHub.hub_ip = "127.0.0.1"
        c.JupyterHub.hub_port = {free_port()}
        c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
        c.ConfigurableHTTPProxy.pid_file = {str(workdir / "proxy.pid")!r}
        c.JupyterHub.db_url = "sqlite:///{workdir / "jupyterhub.sqlite"}"
        c.JupyterHub.cookie_secret_file = {str(workdir / "cookie_secret")!r}
        c.JupyterHub.authenticator_class = "dummy"
        c.JupyterHub.services = {services!r}
    """) + textwrap.dedent(config))
    log = workdir / "jupyterhub.log"
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", "jupyterhub_config.py"], cwd=workdir,
                                   env=lab_environ({}), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{base_url}"
    try:
        _wait_for(url + "services/vault/api/health", process, log)
        yield url, log
    finally:
        stop(process, 30)


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
