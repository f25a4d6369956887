"""The expected outputs of the lessons' checkpoint cells, kept beside the tests.

Committed notebooks carry no outputs (outputs can carry data), so the text nbval compares
lives in ``checkpoints.json``: notebook stem → cell id → the cell's outputs. A checkpoint
cell starts with ``# NBVAL_CHECK_OUTPUT`` and computes from a fixed seed and the demo
generator only. After changing one, run it and paste its printed text into the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXPECTED: dict[str, dict[str, list[dict[str, Any]]]] = json.loads(
    (Path(__file__).with_name("checkpoints.json")).read_text(encoding="utf-8"))


def with_expected_outputs(lesson: Path, copy: Path) -> Path:
    """Write ``lesson`` to ``copy`` with its checkpoint cells' expected outputs filled in."""
    notebook = json.loads(lesson.read_text(encoding="utf-8"))
    expected = EXPECTED.get(lesson.stem, {})
    for count, cell in enumerate((c for c in notebook["cells"] if c.get("id") in expected), start=1):
        cell["outputs"] = expected[cell["id"]]
        cell["execution_count"] = count  # nbval ignores a reference cell without one
    copy.write_text(json.dumps(notebook), encoding="utf-8")
    return copy
