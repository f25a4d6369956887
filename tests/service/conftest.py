"""A lab with demo data and a released welfare twin, and the real vault service on loopback.

The service runs as a subprocess (``python -m lab.vault.service --standalone``) on a free
port of 127.0.0.1, once per test session; tests share its ledger, so each test charges
its own users (the names below), and the welfare budgets (dataset 20, user 2, analysts 8,
0.5 per query) are never the limit of a test that does not mean to hit them.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.running import REPO, RunningVault, lab_environ, running_vault

#: Users of the standalone service: name -> (groups, admin). The demo policies give
#: analysts query access to every dataset; staff, trainers and academy see every twin;
#: hackathon sees the welfare and census twins.
USERS: dict[str, tuple[list[str], bool]] = {
    "alice": (["analysts"], False),
    "bob": (["staff"], False),
    "carol": (["analysts"], False),
    "dora": (["analysts", "staff"], False),
    "erin": (["analysts"], False),
    "gus": (["analysts"], False),
    "hana": (["hackathon"], False),
    "nobody": ([], False),
    "ada": ([], True),
}


@pytest.fixture(scope="session")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """LAB_* variables for a fresh lab: demo data (2,000 rows) and a released welfare twin."""
    root = tmp_path_factory.mktemp("lab") / "root"
    env = {"LAB_ROOT": str(root), "LAB_POLICIES_DIR": str(demo_policies(tmp_path_factory.mktemp("policies")))}
    from lab.demo import write_demo_datasets

    write_demo_datasets(root / "vault" / "data", rows=2000, seed=0, progress=False)
    subprocess.run([sys.executable, "-m", "tests.service.fixture_twin", "welfare", "--rows", "2000"], cwd=REPO,
                   env=lab_environ(env), check=True, capture_output=True, timeout=300)
    return env


def demo_policies(directory: Path) -> Path:
    """A policies directory holding only the demo datasets' policies (whatever else policies/ gains)."""
    for name in ("census", "tax", "welfare"):
        shutil.copy(REPO / "policies" / f"{name}.yaml", directory / f"{name}.yaml")
    return directory


@pytest.fixture(scope="session")
def vault_users() -> dict[str, tuple[list[str], bool]]:
    """The standalone vault's users: name -> (groups, admin). Other test folders may add some."""
    return USERS


@pytest.fixture(scope="session")
def tokens(vault_users: dict[str, tuple[list[str], bool]]) -> dict[str, str]:
    """A fresh random token per user."""
    return {name: secrets.token_hex(24) for name in vault_users}


@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory, tokens: dict[str, str],
               vault_users: dict[str, tuple[list[str], bool]]) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.json"
    path.write_text(json.dumps({"tokens": {tokens[name]: {"name": name, "groups": groups, "admin": admin}
                                           for name, (groups, admin) in vault_users.items()}}))
    return path


@pytest.fixture(scope="session")
def vault(lab_env: dict[str, str], users_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningVault]:
    """The standalone vault service, for the whole session."""
    log = tmp_path_factory.mktemp("logs") / "vault.log"
    with running_vault(["--standalone", "--users", str(users_file), "--host", "127.0.0.1", "--port", "0"],
                       lab_env, log) as running:
        yield running
