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
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.service.running import REPO, running_vault

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


@pytest.fixture(scope="session")
def vault(lab_root: Path) -> Iterator[RunningVault]:
    """The standalone vault service, started as the contract says, stopped with SIGTERM."""
    tokens = {name: f"{name}-token-{os.urandom(6).hex()}" for name in USERS}
    users = lab_root / "users.json"
    users.write_text(json.dumps({"tokens": {tokens[name]: {"name": name, "groups": groups, "admin": False}
                                            for name, groups in USERS.items()}}))
    with running_vault(["--standalone", "--users", str(users), "--host", "127.0.0.1", "--port", "0"],
                       _admin_env(lab_root), lab_root / "vault.log", timeout=START_TIMEOUT) as service:
        yield RunningVault(url=service.url, root=lab_root, tokens=tokens)
