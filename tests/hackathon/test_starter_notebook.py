"""The starter notebook, as a new team member runs it: task, twin, a submission, the leaderboard.

Runs ``notebooks/hackathon/starter.ipynb`` top to bottom in a fresh kernel against the real
service, with the event name and the submit cell switched on as the spawn hook and the
member would (a quick twin stands in for a released one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from lab.hub.home import STARTER_EVENT
from tests.support.vault_service import REPO, VaultService, VaultSite, VaultUser


def test_a_new_member_runs_the_starter_and_submits(site: VaultSite, service: VaultService,
                                                   users: dict[str, VaultUser], tmp_path: Path) -> None:
    env = {**os.environ, **site.environment()}
    built = subprocess.run([sys.executable, "-m", "tests.service.fixture_twin", "welfare", "--rows", "1000"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    text = (REPO / "notebooks" / "hackathon" / "starter.ipynb").read_text()
    text = text.replace(STARTER_EVENT, STARTER_EVENT.replace("welfare-challenge", "starter-challenge"))
    text = text.replace("# answer = lab.submit", "answer = lab.submit").replace("# answer\"", "answer\"")
    notebook = nbformat.reads(text, as_version=4)
    kernel_env = {**env, "LAB_VAULT_URL": service.url, "LAB_VAULT_TOKEN": users["sam"].token}
    client = NotebookClient(notebook, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=kernel_env)
    except CellExecutionError as error:
        pytest.fail(f"the starter notebook failed:\n{str(error)[-3000:]}")
    outputs = json.dumps([cell.get("outputs", []) for cell in notebook.cells])
    assert "accuracy on the twin" in outputs and "remaining_epsilon" in outputs and "team-starter" in outputs
