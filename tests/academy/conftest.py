"""A real vault and the demo twins for the academy's lessons, built once per test session.

Exactly as an administrator would, in a temporary lab root (tests/support/vault_service.py):
the repository's dataset policies, ``lab demo-data --rows 2000``, ``lab twin build welfare``,
then the standalone vault service on 127.0.0.1. Each notebook run gets its own analyst, so
no run can spend another's budget; a notebook kernel reaches the vault only through
LAB_VAULT_URL / LAB_VAULT_TOKEN / LAB_TWINS_DIR, as in a learner's server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.vault_service import REPO, VaultService, VaultSite

ACADEMY = REPO / "notebooks" / "academy"
LESSONS = sorted(p for p in (ACADEMY / "source").glob("*/*.ipynb") if p.parent.name == p.stem)
STAFF = REPO / "notebooks" / "staff" / "getting-started.ipynb"
#: Every run of a notebook in this session that may charge budget, one analyst each.
RUNS = [f"course-{p.stem}" for p in LESSONS] + ["course-staff", "nbval", "grading", "student-carol", "student-dan"]


@dataclass(frozen=True)
class AcademyVault:
    """The running vault, its lab root and an analyst token per run (see RUNS)."""

    url: str
    site: VaultSite
    tokens: dict[str, str]

    def kernel_env(self, run: str) -> dict[str, str]:
        """What a learner's server sets for their kernels, for the analyst of ``run``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "JUPYTERHUB_"))}
        env.update(LAB_VAULT_URL=self.url, LAB_VAULT_TOKEN=self.tokens[run], LAB_TWINS_DIR=str(self.site.twins_dir))
        return env


@pytest.fixture(scope="session")
def academy_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcademyVault]:
    site = VaultSite(tmp_path_factory.mktemp("academy-lab"))
    for policy in sorted((REPO / "policies").glob("*.yaml")):
        site.add_policy(policy.stem, policy.read_text())
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "JUPYTERHUB_"))}, **site.environment()}
    for command in (["demo-data", "--rows", "2000", "--no-progress"], ["twin", "build", "welfare", "--no-progress"]):
        done = subprocess.run([sys.executable, "-m", "lab.cli", *command], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"lab {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"
    tokens = {run: site.add_user(run, groups=["analysts"]).token for run in RUNS}
    with VaultService(site) as service:
        yield AcademyVault(url=service.url, site=site, tokens=tokens)
