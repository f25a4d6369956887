"""The issue's five lines, typed into a real Jupyter kernel, against the real vault service.

This is what a staff member sees: each cell's rich output (HTML, as JupyterLab renders it)
and plain text, and a refusal shown as one line instead of a traceback.
"""

from __future__ import annotations

import os
import queue
import time
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

#: The session fixture builds a real twin (about half a minute).
pytestmark = pytest.mark.slow

FIVE_LINES = [
    "import lab",
    "lab.datasets()",
    'q = lab.query("welfare").mean("household_income", bounds=(0, 100_000)).where("age", ">=", 66).by("region")',
    "q.preview()",
    "q.run(epsilon=0.2)",
]


@pytest.fixture
def kernel(vault):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "JUPYTERHUB_"))}
    env.update(LAB_VAULT_URL=vault.url, LAB_VAULT_TOKEN=vault.tokens["erin"], LAB_TWINS_DIR=str(vault.twins_dir))
    manager = jupyter_client.KernelManager(kernel_name="python3")
    manager.start_kernel(env=env, cwd=str(vault.root))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run_cell(client: Any, code: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Execute one cell and return its iopub output messages (results, displays, errors, streams)."""
    msg_id = client.execute(code)
    outputs = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            message = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the cell did not finish within {timeout} s: {code}") from None
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind = message["msg_type"]
        if kind == "status" and message["content"]["execution_state"] == "idle":
            return outputs
        if kind in ("execute_result", "display_data", "error", "stream"):
            outputs.append({"type": kind, **message["content"]})


def _only_result(outputs: list[dict[str, Any]]) -> dict[str, str]:
    errors = [o for o in outputs if o["type"] == "error" or o.get("name") == "stderr"]
    assert not errors, errors
    results = [o for o in outputs if o["type"] == "execute_result"]
    assert len(results) == 1, outputs
    return results[0]["data"]


def test_the_five_lines_in_a_notebook(kernel):
    outputs = [run_cell(kernel, line) for line in FIVE_LINES]
    assert outputs[0] == [] and outputs[2] == []

    catalog = _only_result(outputs[1])
    assert "<table" in catalog["text/html"]
    for shown in ("welfare", "v0001", "can_query", "twin_version"):
        assert shown in catalog["text/html"]

    preview = _only_result(outputs[3])
    assert "Twin preview (v0001, exact, free)" in preview["text/html"]
    assert "unchanged (previews are free)" in preview["text/plain"]

    answer = _only_result(outputs[4])
    page, text = answer["text/html"], answer["text/plain"]
    assert "DP answer · welfare: mean of household_income, bounds [0, 100000], where age &gt;= 66, by region" in page
    for shown in ("north_east", "scotland", "95% interval", "ε charged", ">0.2<", "ε remaining",
                  "1.8 (your allowance)", "Integer Laplace"):
        assert shown in page, shown
    for shown in ("95% interval", "confidence: 95%", "ε charged: 0.2", "ε remaining: 1.8 (your allowance)"):
        assert shown in text, shown
    # A value and its interval on each region's line, e.g. "london  9,876  [1,234, 20,000]".
    london = next(line for line in text.splitlines() if line.strip().startswith("london"))
    assert "[" in london and "]" in london

    result = run_cell(kernel, "r = _; print(r.epsilon, r.remaining, r.frame.shape)")  # _: the last result
    assert result == [{"type": "stream", "name": "stdout", "text": "0.2 1.8 (11, 4)\n"}]


def test_a_refusal_is_one_clean_line(kernel):
    run_cell(kernel, "import lab")
    outputs = run_cell(kernel, 'lab.query("welfare").mean("household_incme").run(epsilon=0.1)')
    (error,) = [o for o in outputs if o["type"] == "error"]
    assert error["ename"] == "BadColumn"
    assert len(error["traceback"]) == 1
    assert "did you mean 'household_income'?" in error["traceback"][0]
    assert "Traceback" not in error["traceback"][0] and "requests" not in error["traceback"][0]
