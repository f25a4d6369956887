"""The real standalone vault service with demo data and twins, and Chromium to look at its pages.

Reuses the service tests' set-up (tests/service): the same users and groups, the demo
policies, the service started as a subprocess on loopback (their ``vault`` fixture, fed by
this directory's ``lab_env`` and ``users_file``). The twins differ: see fixture_builds.
Screenshots of every page go to ``$LAB_DASHBOARD_SHOTS`` or a pytest temporary directory
(its path is printed at the end of the session).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.dashboard.browsing import Visitor
from tests.service.conftest import USERS, demo_policies, tokens, users_file, vault  # noqa: F401 - fixtures used here
from tests.service.running import REPO, RunningVault, lab_environ

if TYPE_CHECKING:
    from playwright.sync_api import Browser

#: Beyond the service tests' users: one whose name and group are HTML, to see pages escape them.
MARKUP_USER = ("<i>mallory</i>", (["<script>alert(1)</script>"], False))
DASHBOARD_USERS = {**USERS, MARKUP_USER[0]: MARKUP_USER[1]}


@pytest.fixture(scope="session")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh lab: the demo policies, 1,000 rows of demo data, the twins of fixture_builds."""
    root = tmp_path_factory.mktemp("dashlab") / "root"
    env = {"LAB_ROOT": str(root), "LAB_POLICIES_DIR": str(demo_policies(tmp_path_factory.mktemp("policies")))}
    from lab.demo import write_demo_datasets

    write_demo_datasets(root / "vault" / "data", rows=1000, seed=0, progress=False)
    built = subprocess.run([sys.executable, "-m", "tests.dashboard.fixture_builds"], cwd=REPO,
                           env=lab_environ(env), capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-4000:]
    return env


@pytest.fixture(scope="session")
def vault_users() -> dict[str, tuple[list[str], bool]]:
    return DASHBOARD_USERS


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where screenshots go; printed at the end so that a person can look at them."""
    wanted = os.environ.get("LAB_DASHBOARD_SHOTS")
    directory = Path(wanted) if wanted else tmp_path_factory.mktemp("dashboard-shots")
    directory.mkdir(parents=True, exist_ok=True)
    yield directory
    print(f"\ndashboard screenshots: {directory}")


@pytest.fixture
def visit(browser: Browser, vault: RunningVault, tokens: dict[str, str],
          shots: Path) -> Iterator[Callable[[str | None], Visitor]]:
    """``visit(user)``: a fresh browser context logged in as ``user`` (None: not logged in).

    At the end of the test, every page the visitors opened must have logged no console
    error, no script error and no failed sub-resource (expected error pages aside).
    """
    visitors: list[Visitor] = []

    def open_as(user: str | None) -> Visitor:
        visitor = Visitor(browser.new_context(viewport={"width": 1280, "height": 900}), vault.url, shots)
        visitors.append(visitor)
        if user is not None:
            visitor.login(tokens[user])
        return visitor

    yield open_as
    problems = [problem for visitor in visitors for problem in visitor.problems]
    for visitor in visitors:
        visitor.close()
    assert problems == []
