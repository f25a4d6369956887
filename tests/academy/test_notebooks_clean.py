"""Committed notebooks carry no outputs (outputs can carry data).

The expected text of checkpoint cells (first line ``# NBVAL_CHECK_OUTPUT``), which nbval
compares (tests/academy/test_lessons.py), lives in tests/academy/checkpoints.json; those
cells compute from a fixed seed and the demo generator only, never from a twin or the vault,
and their expected outputs are plain-text streams.
"""

from __future__ import annotations

import json

import pytest

from tests.academy.checkpoints import EXPECTED
from tests.academy.conftest import LESSONS
from tests.support.vault_service import REPO

NOTEBOOKS = sorted(p for p in (REPO / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("execution_count") is None, f"cell {index} has an execution count: clear the outputs"
        assert not cell.get("outputs"), (
            f"cell {index} of {path.name} has outputs: clear them (Edit > Clear Outputs of All Cells) before committing")


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_checkpoint_cells_are_seeded_text_only(stem):
    [path] = [p for p in LESSONS if p.stem == stem]
    cells = {c.get("id"): c for c in json.loads(path.read_text())["cells"]}
    for cell_id, outputs in EXPECTED[stem].items():
        source = "".join(cells[cell_id]["source"])
        assert source.startswith("# NBVAL_CHECK_OUTPUT"), f"{stem}: cell {cell_id} is not a checkpoint cell"
        assert "lab." not in source.replace("lab.demo", ""), f"checkpoint cell {cell_id} must not read twins or the vault"
        assert all(o["output_type"] == "stream" for o in outputs), f"checkpoint cell {cell_id}: text only"


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
