"""A cohort's nbgrader course: where it lives, and each step of a trainer's week.

A :class:`Course` is one cohort's nbgrader course directory::

    <courses>/<cohort>/nbgrader_config.py   course id, exchange, where the lessons are
    <courses>/<cohort>/source -> notebooks/academy/source   (the lessons, shared by all cohorts)
    <courses>/<cohort>/release/<lesson>/    student versions (no solutions, no hidden tests)
    <courses>/<cohort>/submitted|autograded|feedback/<student>/<lesson>/
    <courses>/<cohort>/gradebook.db

Each step runs the real ``nbgrader`` command in the course directory, so a trainer can
also run nbgrader by hand there. Releasing also copies the student version into
``notebooks/academy/<cohort>/<lesson>/``, which the hub copies read-only into every
cohort member's ``~/academy/<cohort>/`` at their next server start.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.academy.errors import AcademyError
from lab.academy.sandbox import SandboxLimits

REPO = Path(__file__).resolve().parents[2]
LESSONS_DIR = REPO / "notebooks" / "academy" / "source"
ACADEMY_DIR = REPO / "notebooks" / "academy"

_CONFIG = """\
# nbgrader configuration of the data academy cohort {cohort!r}; written by `lab academy cohort create`.
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {cohort!r}
c.Exchange.root = {exchange!r}
c.Exchange.path_includes_course = True
c.ExecutePreprocessor.timeout = 300
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE (delete this line and the next, then type your answer)\\nraise NotImplementedError()"}}
"""


@dataclass(frozen=True)
class Course:
    """One cohort's nbgrader course directory (see the module)."""

    cohort: str
    root: Path
    exchange: Path

    @property
    def source(self) -> Path:
        return self.root / "source"

    def lessons(self) -> list[str]:
        """The lessons in the course's source folder, in order."""
        if not self.source.is_dir():
            return []
        return sorted(p.name for p in self.source.iterdir() if (p / f"{p.name}.ipynb").is_file())

    def nbgrader(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run ``nbgrader ARGS`` in the course directory; raise AcademyError with its log if it fails."""
        if importlib.util.find_spec("nbgrader") is None:
            raise AcademyError("nbgrader is not installed in this Python: install it with "
                               f"`{sys.executable} -m pip install 'nbgrader>=0.9.6'` (it is in the lab's test extras).")
        command = [sys.executable, "-m", "nbgrader", *args]
        merged = {**os.environ, **(env or {})}
        # nbgrader runs `alembic` (and kernels) by name: find them beside this Python first.
        merged["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), merged.get("PATH", "")])
        done = subprocess.run(command, cwd=self.root, env=merged, capture_output=True, text=True)
        if done.returncode != 0:
            raise AcademyError(f"`nbgrader {' '.join(args)}` failed in {self.root}:\n"
                               f"{(done.stdout + done.stderr).strip()[-3000:]}")
        return done


def course_of(cohort: str, courses_dir: Path, exchange: Path | None = None) -> Course:
    """The course of ``cohort`` under ``courses_dir`` (which must have been created)."""
    root = courses_dir / cohort
    if not (root / "nbgrader_config.py").is_file():
        raise AcademyError(f"No course for cohort {cohort!r} in {courses_dir}: create it with "
                           f"`lab academy cohort create {cohort}`.")
    return Course(cohort=cohort, root=root, exchange=exchange or courses_dir / "exchange")


def create_course(cohort: str, courses_dir: Path, *, exchange: Path | None = None,
                  lessons_dir: Path = LESSONS_DIR, students: Sequence[str] = ()) -> Course:
    """Create (or update) the course directory of ``cohort``; idempotent.

    The lessons are linked, not copied, so an edited lesson is what the next ``generate`` uses.
    The exchange is made writable by everyone with the sticky bit, as nbgrader expects.
    """
    if not lessons_dir.is_dir():
        raise AcademyError(f"No lessons folder at {lessons_dir}.")
    course = Course(cohort=cohort, root=courses_dir / cohort, exchange=exchange or courses_dir / "exchange")
    course.root.mkdir(parents=True, exist_ok=True)
    # The gradebook and everyone's submissions live here: trainers only.
    os.chmod(course.root, 0o700)
    course.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(course.exchange, 0o1777)
    (course.root / "nbgrader_config.py").write_text(
        _CONFIG.format(cohort=cohort, root=str(course.root), exchange=str(course.exchange)))
    if course.source.is_symlink() or not course.source.exists():
        if course.source.is_symlink():
            course.source.unlink()
        course.source.symlink_to(lessons_dir.resolve(), target_is_directory=True)
    for student in students:
        course.nbgrader("db", "student", "add", student)
    return course


def _lesson(course: Course, lesson: str) -> str:
    if lesson not in course.lessons():
        raise AcademyError(f"No lesson {lesson!r} in {course.source}; the lessons are: {', '.join(course.lessons())}.")
    return lesson


def generate(course: Course, lesson: str) -> Path:
    """Make the student version of ``lesson`` (nbgrader generate_assignment); returns its folder."""
    course.nbgrader("generate_assignment", _lesson(course, lesson), "--force")
    return course.root / "release" / lesson


def release(course: Course, lesson: str, *, academy_dir: Path = ACADEMY_DIR, exchange: bool = True) -> Path:
    """Generate ``lesson`` and put it where students find it; returns the hub's course copy.

    Two places: ``<academy_dir>/<cohort>/<lesson>/`` (the hub copies it into each member's
    ``~/academy/<cohort>/``), and, with ``exchange``, nbgrader's exchange (the Assignments tab
    in JupyterLab: fetch, then submit).
    """
    released = generate(course, lesson)
    target = academy_dir / course.cohort / lesson
    staging = target.with_name(f".{lesson}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(released, staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    if exchange:
        course.nbgrader("release_assignment", lesson, "--force")
    return target


def collect(course: Course, lesson: str) -> list[str]:
    """Collect the submissions of ``lesson`` from the exchange; returns who submitted."""
    course.nbgrader("collect", _lesson(course, lesson), "--update")
    submitted = course.root / "submitted"
    return sorted(p.name for p in submitted.iterdir() if (p / lesson).is_dir()) if submitted.is_dir() else []


def autograde(course: Course, lesson: str, *, student: str | None = None,
              env: Mapping[str, str] | None = None, sandbox: bool = True, limits: SandboxLimits | None = None,
              twins_dir: Path | None = None, vault: bool = False, max_submission_mb: int = 20) -> list:
    """Run the hidden tests on the collected submissions; returns a GradingReport per notebook.

    nbgrader keeps the books (as the caller: gradebook, course folder); each submission's
    code runs in the grading sandbox (lab.academy.grading, docs/security.md) as ``lab-grader``,
    one at a time, within ``limits``, with no network (``vault``: a relay
    to ``LAB_VAULT_URL`` alone, and ``LAB_VAULT_TOKEN``, both from ``env``, so lessons can
    query the vault) and a read-only copy of ``twins_dir`` (default: ``LAB_TWINS_DIR`` of ``env``).
    Submissions that are not notebooks or exceed ``max_submission_mb`` get zero with a reason.
    ``sandbox=False`` is nbgrader's own execution, as the caller: only without real users.
    """
    args = ["autograde", _lesson(course, lesson), "--force"]
    if student:
        args.append(f"--student={student}")
    if not sandbox:
        course.nbgrader(*args, env=env)
        return []
    from lab.academy import grading

    if os.geteuid() != 0:
        raise AcademyError("Autograding runs each submission in a sandbox as an unprivileged account, which needs "
                           "root: run `lab academy autograde` as root (or, on a machine without real users, "
                           "with --no-sandbox, which runs submissions as you, with your files and tokens).")
    reports = course.root / "grading" / lesson
    for old in reports.glob(f"{student}.*.json" if student else "*.json"):
        old.unlink()
    grading.screen_submissions(course.root, lesson, [student] if student else None, max_submission_mb)
    limits = limits or SandboxLimits()
    merged = {**os.environ, **(env or {})}
    twins = twins_dir or merged.get("LAB_TWINS_DIR") or ""
    args += [f"--Autograde.autograde_preprocessors={json.dumps(list(grading.PREPROCESSORS))}",
             f"--SandboxedExecute.wall_seconds={limits.wall_seconds}",
             f"--SandboxedExecute.cell_seconds={limits.cell_seconds}",
             f"--SandboxedExecute.cpu_seconds={limits.cpu_seconds}",
             f"--SandboxedExecute.memory_mb={limits.memory_mb}",
             f"--SandboxedExecute.processes={limits.processes}",
             f"--SandboxedExecute.disk_mb={limits.disk_mb}",
             f"--SandboxedExecute.output_mb={limits.output_mb}",
             f"--SandboxedExecute.vault={vault}",
             f"--SandboxedExecute.twins_dir={twins}"]
    course.nbgrader(*args, env=env)
    return grading.reports(course.root, lesson)


def feedback(course: Course, lesson: str) -> None:
    """Write the feedback (HTML) of ``lesson`` and return it to the students through the exchange."""
    course.nbgrader("generate_feedback", _lesson(course, lesson), "--force")
    course.nbgrader("release_feedback", lesson)


def export(course: Course, to: Path) -> Path:
    """Export every grade of the course as CSV (one row per student and lesson)."""
    to.parent.mkdir(parents=True, exist_ok=True)
    course.nbgrader("export", f"--to={to}")
    return to
