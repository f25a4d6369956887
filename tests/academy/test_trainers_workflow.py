"""The trainers' workflow end to end, as root in a temporary directory, with nbgrader's real exchange.

A trainer creates a cohort (`lab academy cohort create`), releases lesson 1, two students
(carol, who answers, and dan, who submits it untouched) fetch and submit it with nbgrader
from their own homes (as their hub names; no Unix account needed), and the trainer collects, autogrades (each submission re-executed against
the vault, in the grading sandbox as ``lab-grader``), returns feedback and exports the grades as CSV.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lab.academy.errors import AcademyError
from lab.academy.people import add_cohort_group
from tests.support.vault_service import REPO

LESSON = "01-getting-around"
COHORT = "cohort-e2e"
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def lab_cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "lab.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"lab {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def student(name: str, *args: str, home: Path, exchange: Path) -> None:
    """Run a student's nbgrader command in their home, as them.

    nbgrader names a submitter by the process's Unix account; here every process is root, so
    the student's hub name is given as ``CourseDirectory.student_id``, as the hub's per-user
    nbgrader configuration does (docs/academy.md).
    """
    env = {**os.environ, "HOME": str(home),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--course={COHORT}",
                           f"--CourseDirectory.student_id={name}",
                           f"--Exchange.root={exchange}", "--Exchange.path_includes_course=True"],
                          cwd=home, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{name}: nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def answer(fetched: Path, source: Path) -> None:
    """Fill each exercise of the fetched notebook with the instructor's solution (a student who knows)."""
    solutions = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
                 for c in json.loads(source.read_text())["cells"] if c["metadata"].get("nbgrader", {}).get("solution")}
    notebook = json.loads(fetched.read_text())
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell["source"] = SOLUTION.sub(lambda m: m.group(1), solutions[grade_id])
    fetched.write_text(json.dumps(notebook))


@pytest.mark.slow
def test_cohort_release_collect_autograde_feedback_export(academy_vault, tmp_path):
    from lab.hub.access import access_of
    from lab.hub.people import load_people
    from lab.policies import load_policies

    people = tmp_path / "people.yaml"
    people.write_text((REPO / "policies" / "hub" / "people.yaml").read_text())
    courses, hub_courses, homes = tmp_path / "courses", tmp_path / "hub-courses", tmp_path / "homes"
    exchange = courses / "exchange"
    env = {**academy_vault.kernel_env("grading"), "LAB_ROOT": str(academy_vault.site.root),
           "LAB_ACADEMY_COURSES": str(courses)}

    lab_cli("academy", "cohort", "create", COHORT, "--trainer", "tess", "--student", "carol", "--student", "dan",
            "--people-file", str(people), env=env)
    loaded = load_people(people)
    assert loaded.groups[COHORT].kind == "cohort"
    assert COHORT in access_of("carol", loaded, load_policies(REPO / "policies")).cohorts
    assert "# Who may use the lab's hub" in people.read_text(), "the people file keeps its comments"

    out = lab_cli("academy", "release", COHORT, LESSON, "--academy-dir", str(hub_courses), env=env)
    assert "Released" in out
    released = hub_courses / COHORT / LESSON / f"{LESSON}.ipynb"
    assert released.is_file() and "BEGIN SOLUTION" not in released.read_text()
    assert "yes" in lab_cli("academy", "lessons", COHORT, "--academy-dir", str(hub_courses), env=env)

    for name in ("carol", "dan"):
        home = homes / name
        home.mkdir(parents=True)
        student(name, "fetch_assignment", LESSON, home=home, exchange=exchange)
    answer(homes / "carol" / COHORT / LESSON / f"{LESSON}.ipynb",
           REPO / "notebooks" / "academy" / "source" / LESSON / f"{LESSON}.ipynb")
    for name in ("carol", "dan"):
        student(name, "submit", LESSON, home=homes / name, exchange=exchange)

    assert "2 submissions (carol, dan)" in lab_cli("academy", "collect", COHORT, LESSON, env=env)
    # Lesson 1 asks the vault (lab.datasets()): grading lets the sandbox reach it with the grading token.
    out = lab_cli("academy", "autograde", COHORT, LESSON, "--vault", env=env)
    assert "lab-grader" in out, "each submission ran in the sandbox as the grading account"
    lab_cli("academy", "feedback", COHORT, LESSON, env=env)
    grades = tmp_path / "grades.csv"
    lab_cli("academy", "export", COHORT, "--to", str(grades), env=env)

    rows = {row["student_id"]: row for row in csv.DictReader(grades.open())}
    assert float(rows["carol"]["max_score"]) == 4
    assert float(rows["carol"]["score"]) == 4, "the instructor's solutions get full marks"
    assert float(rows["dan"]["score"]) == 0, "an untouched lesson gets nothing"

    student("carol", "fetch_feedback", LESSON, home=homes / "carol", exchange=exchange)
    assert list((homes / "carol" / COHORT / LESSON / "feedback").glob(f"*/{LESSON}.html"))


def test_add_cohort_group_keeps_the_file_and_refuses_clashes(tmp_path):
    people = tmp_path / "people.yaml"
    original = (REPO / "policies" / "hub" / "people.yaml").read_text()
    people.write_text(original)
    assert add_cohort_group(people, "cohort-2027", ["tess", "carol"]) is True
    text = people.read_text()
    assert text.startswith(original.rstrip("\n")) and "  cohort-2027:\n    kind: cohort\n" in text
    assert add_cohort_group(people, "cohort-2027", ["carol"]) is False
    with pytest.raises(AcademyError, match="kind 'team'"):
        add_cohort_group(people, "team-red", ["carol"])
    with pytest.raises(AcademyError, match="not a valid hub name"):
        add_cohort_group(people, "Cohort 1", [])
