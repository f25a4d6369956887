"""Committed notebooks carry no outputs (outputs can carry data), except checkpoint cells.

A checkpoint cell (tag ``checkpoint``, first line ``# NBVAL_CHECK_OUTPUT``) keeps the
expected text that nbval compares (tests/academy/test_lessons.py); it computes from a fixed
seed and the demo generator only, never from a twin or the vault, and may hold only
plain-text stream output (and an execution count: nbval ignores a reference cell without one).
"""

from __future__ import annotations

import json

import pytest

from tests.academy.conftest import LESSONS
from tests.support.vault_service import REPO

NOTEBOOKS = sorted(p for p in (REPO / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        checkpoint = "checkpoint" in cell.get("metadata", {}).get("tags", [])
        if not checkpoint:
            assert cell.get("execution_count") is None, f"cell {index} has an execution count: clear the outputs"
        if not cell.get("outputs"):
            continue
        assert checkpoint and source.startswith("# NBVAL_CHECK_OUTPUT"), (
            f"cell {index} of {path.name} has outputs: clear them (Edit > Clear Outputs of All Cells) before committing")
        assert "lab." not in source.replace("lab.demo", ""), f"checkpoint cell {index} must not read twins or the vault"
        assert all(o["output_type"] == "stream" for o in cell["outputs"]), f"checkpoint cell {index}: text only"


def test_every_lesson_has_the_lesson_parts():
    assert len(LESSONS) >= 8
    for path in LESSONS:
        notebook = json.loads(path.read_text())
        text = "\n".join("".join(c["source"]) for c in notebook["cells"])
        for part in ("**Time:**", "**Questions this lesson answers**", "**Objectives.**", "## Key points",
                     "### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
            assert part in text, f"{path.name} lacks {part!r}"
        graded = [c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
        assert graded, f"{path.name} has no autograded test cell"
