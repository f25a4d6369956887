"""How long ``lab academy autograde`` takes for a cohort (default: 20 submissions).

A throw-away course (in a temporary directory, with its own nbgrader exchange) gets
lesson 05-reidentification (it needs neither a twin nor the vault, so only grading is
measured). Every student fetches and submits it through nbgrader, as in
tests/academy/test_trainers_workflow.py: half answer with the instructor's solutions, half
submit it untouched. Then ``lab.academy.course.autograde`` grades the whole cohort, timed,
the way the trainer's ``lab academy autograde`` does (as root: each submission in the
grading sandbox, docs/security.md), and, in the same run on the same submissions, with
nbgrader's own execution as the trainer (how grading worked before the sandbox), so the
ratio holds on a busy machine. The table gives the wall time, the time per submission and
the scores (answered: the solutions' full marks; untouched: zero).

    python benchmarks/grading_bench.py                  # 20 submissions, both ways
    python benchmarks/grading_bench.py --students 4
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make `lab` importable
    sys.path.insert(0, str(REPO))

LESSON = "05-reidentification"
COHORT = "cohort-bench"
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def _student(name: str, *args: str, home: Path, exchange: Path) -> None:
    env = {**os.environ, "HOME": str(home),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--course={COHORT}",
                           f"--CourseDirectory.student_id={name}", f"--Exchange.root={exchange}",
                           "--Exchange.path_includes_course=True"],
                          cwd=home, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise SystemExit(f"{name}: nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def _answer(notebook: Path, source: Path) -> None:
    solutions = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
                 for c in json.loads(source.read_text())["cells"] if c["metadata"].get("nbgrader", {}).get("solution")}
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell["source"] = SOLUTION.sub(lambda m: m.group(1), solutions[grade_id])
    notebook.write_text(json.dumps(nb))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20, help="submissions in the cohort (default 20)")
    parser.add_argument("--mode", choices=["both", "sandbox", "nbgrader"], default="both",
                        help="grade with the sandbox, with nbgrader's own execution (as before), or both (default)")
    args = parser.parse_args(argv)

    from lab.academy.course import autograde, collect, create_course, export, release

    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o711)
        names = [f"s{i:02d}" for i in range(args.students)]
        course = create_course(COHORT, root / "courses", students=names)
        release(course, LESSON, academy_dir=root / "hub-courses")
        source = course.source / LESSON / f"{LESSON}.ipynb"
        for i, name in enumerate(names):
            home = root / "homes" / name
            home.mkdir(parents=True)
            _student(name, "fetch_assignment", LESSON, home=home, exchange=course.exchange)
            if i % 2 == 0:
                _answer(home / COHORT / LESSON / f"{LESSON}.ipynb", source)
            _student(name, "submit", LESSON, home=home, exchange=course.exchange)
        collect(course, LESSON)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "JUPYTERHUB_"))}
        rows = []
        for mode in (["nbgrader", "sandbox"] if args.mode == "both" else [args.mode]):
            start = time.perf_counter()
            kwargs = {} if _legacy(autograde) else {"sandbox": mode == "sandbox"}
            autograde(course, LESSON, env=env, **kwargs)
            seconds = time.perf_counter() - start
            grades = root / f"grades-{mode}.csv"
            export(course, grades)
            scores = [float(row["score"]) for row in csv.DictReader(grades.open())]
            rows.append((mode, scores, seconds))
    print(f"{'execution':>9} {'submissions':>11} {'seconds':>8} {'s/submission':>12} {'answered: mean score':>21} "
          f"{'untouched: max':>14}")
    for mode, scores, seconds in rows:
        answered, untouched = scores[0::2], scores[1::2]
        print(f"{mode:>9} {len(scores):>11} {seconds:>8.1f} {seconds / max(len(scores), 1):>12.2f} "
              f"{sum(answered) / max(len(answered), 1):>21.2f} {max(untouched, default=0):>14.1f}")
    if len(rows) == 2:
        print(f"sandbox / nbgrader: {rows[1][2] / rows[0][2]:.2f}x")
    return 0


def _legacy(autograde) -> bool:
    """Before the grading sandbox, autograde had no ``sandbox`` argument (the bench ran on both)."""
    import inspect

    return "sandbox" not in inspect.signature(autograde).parameters


if __name__ == "__main__":
    sys.exit(main())
