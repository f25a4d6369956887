"""A real vault for the client's round-trip tests: demo data, one twin, the standalone service.

Built once per test session in a temporary LAB_ROOT, exactly as an administrator would:
``lab demo-data --rows 2000``, ``lab twin build welfare``, then
``python -m lab.vault.service --standalone --users FILE --host 127.0.0.1 --port P`` as a
subprocess, ready when it prints ``lab-vault: listening on ...``. The client under test
only ever reaches it over HTTP.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICE_MAIN = REPO / "lab" / "vault" / "service" / "__main__.py"
START_TIMEOUT = 60.0

#: Who is who in the test vault. Each test that counts budget uses its own user.
USERS = {
    "alice": ["analysts"],      # the five-line example and refusals
    "bob": ["staff"],           # may see twins, may not query
    "dave": ["analysts"],       # spends his whole allowance
    "erin": ["analysts"],       # the notebook kernel test
    "frank": ["analysts"],      # every statistic once
}


@dataclass(frozen=True)
class RunningVault:
    """The running service: its URL, the lab root it serves, and a token per user."""

    url: str
    root: Path
    tokens: dict[str, str]

    @property
    def twins_dir(self) -> Path:
        return self.root / "twins"

    def connection(self, user: str):
        from lab.client import Connection

        return Connection(self.url, self.tokens[user], timeout=120)


def _admin_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "JUPYTERHUB_"))}
    env["LAB_ROOT"] = str(root)
    return env


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab root with the demo datasets (2000 rows) and a released twin of welfare."""
    root = tmp_path_factory.mktemp("lab-root")
    env = _admin_env(root)
    for command in (["demo-data", "--rows", "2000", "--no-progress"], ["twin", "build", "welfare", "--no-progress"]):
        done = subprocess.run([sys.executable, "-m", "lab.cli", *command], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"lab {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    return root


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def vault(lab_root: Path) -> Iterator[RunningVault]:
    """The standalone vault service, started as the contract says, stopped with SIGTERM."""
    if not SERVICE_MAIN.exists():
        pytest.skip("the vault service (lab/vault/service/__main__.py) does not exist yet")
    tokens = {name: f"{name}-token-{os.urandom(6).hex()}" for name in USERS}
    users = lab_root / "users.json"
    users.write_text(json.dumps({"tokens": {tokens[name]: {"name": name, "groups": groups, "admin": False}
                                            for name, groups in USERS.items()}}))
    port = _free_port()
    log = (lab_root / "vault.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "lab.vault.service", "--standalone", "--users", str(users), "--host", "127.0.0.1",
         "--port", str(port)],
        env=_admin_env(lab_root), cwd=REPO, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        url = _wait_until_listening(process, lab_root / "vault.log")
        yield RunningVault(url=url, root=lab_root, tokens=tokens)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_listening(process: subprocess.Popen, log: Path) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            break
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("lab-vault: listening on "):
            selector.close()
            return line.removeprefix("lab-vault: listening on ").strip()
    selector.close()
    raise AssertionError(f"the vault service did not start (exit {process.poll()}):\n{log.read_text()[-3000:]}")
