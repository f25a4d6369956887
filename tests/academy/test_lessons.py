"""Every lesson runs from a clean kernel against the demo twins and a real vault, and passes its own tests.

The instructor versions (with solutions and hidden tests) are executed as a learner's
server would run them; a failing hidden test is a failing cell. Checkpoint cells (fixed
seeds) are output-checked with nbval ``--nbval-lax``, against the expected text kept in
tests/academy/checkpoints.json (the committed notebooks carry no outputs). The student versions that nbgrader
generates contain no solution and no hidden test.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.academy.checkpoints import with_expected_outputs
from tests.academy.conftest import LESSONS, STAFF
from tests.support.vault_service import REPO

TIMEOUT = 180
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def execute(path, env, workdir):
    """Run a notebook top to bottom in a fresh python3 kernel; returns the executed notebook."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env)
    return notebook


@pytest.mark.slow
@pytest.mark.parametrize("path", [*LESSONS, STAFF], ids=lambda p: p.stem)
def test_instructor_version_runs_and_passes_its_tests(path, academy_vault, tmp_path):
    run = f"course-{path.stem}" if path != STAFF else "course-staff"
    began = time.monotonic()
    try:
        execute(path, academy_vault.kernel_env(run), tmp_path)
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed from a clean kernel:\n{str(error)[-3000:]}")
    print(f"{path.stem}: {time.monotonic() - began:.1f} s")


@pytest.mark.slow
def test_checkpoint_cells_match_with_nbval(academy_vault, tmp_path):
    checked = [p for p in LESSONS if "NBVAL_CHECK_OUTPUT" in p.read_text()]
    assert checked, "no lesson has a checkpoint cell"
    copies = [with_expected_outputs(path, tmp_path / path.name) for path in checked]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--rootdir", str(tmp_path),
         "-c", "/dev/null", *map(str, copies)],
        cwd=tmp_path, env=academy_vault.kernel_env("nbval"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.slow
def test_student_versions_have_no_solution_and_no_hidden_test(tmp_path):
    from lab.academy.course import create_course, generate

    course = create_course("cohort-check", tmp_path / "courses")
    assert course.lessons() == [p.stem for p in LESSONS]
    for path in LESSONS:
        student = generate(course, path.stem) / path.name
        text = student.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{path.stem}: the student version still has {marker!r}"
        source = json.loads(path.read_text())
        released = json.loads(text)
        assert len(source["cells"]) == len(released["cells"])
        for mine, theirs in zip(source["cells"], released["cells"]):
            body = "".join(theirs["source"])
            for solution in SOLUTION.findall("".join(mine["source"])):
                for line in filter(None, (line.strip() for line in solution.splitlines())):
                    assert line not in body, f"{path.stem}: solution line {line!r} is in the student version"
            if mine["metadata"].get("nbgrader", {}).get("solution") and mine["cell_type"] == "code":
                assert "raise NotImplementedError()" in body
            assert not theirs.get("outputs"), f"{path.stem}: the student version has outputs"
