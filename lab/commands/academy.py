"""``lab academy``: run a data academy cohort with nbgrader (docs/academy.md).

    lab academy cohort create COHORT --trainer tess --student carol   course dir + hub group
    lab academy lessons COHORT                                        what can be released
    lab academy release COHORT LESSON                                 students find it at next start
    lab academy collect|autograde|feedback COHORT LESSON
    lab academy export COHORT --to grades.csv
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lab.commands.output import fail, table
from lab.errors import LabError


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``academy`` and its actions to the ``lab`` command."""
    academy = commands.add_parser(
        "academy", help="the data academy: cohorts, releasing lessons, collecting and grading (nbgrader)",
        description="Trainers' workflow around nbgrader. Course directories live under --courses-dir "
                    "(default $LAB_ACADEMY_COURSES, else <lab root>/academy); see docs/academy.md.")
    academy.add_argument("--courses-dir", type=Path, help="where the cohorts' nbgrader course directories live")
    academy.add_argument("--exchange", type=Path, help="nbgrader's exchange (default <courses-dir>/exchange)")
    actions = academy.add_subparsers(dest="action", metavar="ACTION", required=True)

    cohort = actions.add_parser("cohort", help="create a cohort").add_subparsers(dest="cohort_action", required=True)
    create = cohort.add_parser("create", help="the cohort's course directory and its hub group (kind cohort)")
    create.add_argument("cohort", help="cohort name, e.g. cohort-2027-spring (a hub group name)")
    create.add_argument("--trainer", action="append", default=[], help="a trainer (repeat for several)")
    create.add_argument("--student", action="append", default=[], help="a student (repeat for several)")
    create.add_argument("--people-file", type=Path, help="the hub's people file (default: the hub's setting)")
    create.add_argument("--no-hub-group", action="store_true", help="do not touch the people file")
    create.set_defaults(handler=run_create)

    lessons = actions.add_parser("lessons", help="list the lessons and which are released to the cohort")
    lessons.add_argument("cohort")
    lessons.add_argument("--academy-dir", type=Path, help="the hub's course folders (default notebooks/academy)")
    lessons.set_defaults(handler=run_lessons)

    for name, text in (("generate", "make the student version only (no solutions, no hidden tests)"),
                       ("release", "generate and release to the cohort (hub course folder and nbgrader exchange)"),
                       ("collect", "collect submissions from the exchange"),
                       ("autograde", "run the hidden tests on collected submissions"),
                       ("feedback", "write feedback and return it to students")):
        step = actions.add_parser(name, help=text)
        step.add_argument("cohort")
        step.add_argument("lesson")
        if name == "release":
            step.add_argument("--academy-dir", type=Path, help="the hub's course folders (default notebooks/academy)")
            step.add_argument("--no-exchange", action="store_true", help="only the hub's course folder")
        if name == "autograde":
            step.add_argument("--student", help="only this student")
            sandbox = step.add_argument_group(
                "grading sandbox", "each submission runs as the account lab-grader, one at a time, with "
                "no network, no trainer environment and these limits (docs/security.md)")
            sandbox.add_argument("--wall-seconds", type=float, default=600, help="per notebook (default 600)")
            sandbox.add_argument("--cpu-seconds", type=int, default=300, help="CPU time per process (default 300)")
            sandbox.add_argument("--memory-mb", type=int, default=4096, help="address space per process (default 4096)")
            sandbox.add_argument("--processes", type=int, default=256, help="processes and threads (default 256)")
            sandbox.add_argument("--max-submission-mb", type=int, default=20,
                                 help="larger submitted notebooks get zero (default 20)")
            sandbox.add_argument("--twins", type=Path, help="twins the lessons read, copied read-only into the sandbox "
                                                            "(default: $LAB_TWINS_DIR)")
            sandbox.add_argument("--vault", action="store_true",
                                 help="let lessons 1, 4, 6-8 reach the vault: a relay to $LAB_VAULT_URL alone, and "
                                      "$LAB_VAULT_TOKEN (every submission can spend that token's budget)")
            sandbox.add_argument("--no-sandbox", action="store_true",
                                 help="nbgrader's own execution, as you, with your files and tokens: only on a "
                                      "machine without real users")
        step.set_defaults(handler=run_step, step=name)

    export = actions.add_parser("export", help="export every grade of the cohort as CSV")
    export.add_argument("cohort")
    export.add_argument("--to", type=Path, default=Path("grades.csv"), help="CSV file (default grades.csv)")
    export.set_defaults(handler=run_export)


def _courses_dir(args: argparse.Namespace) -> Path:
    if args.courses_dir:
        return args.courses_dir.resolve()
    if os.environ.get("LAB_ACADEMY_COURSES"):
        return Path(os.environ["LAB_ACADEMY_COURSES"]).resolve()
    from lab.settings import load_settings

    return load_settings().root / "academy"


def _people_file(args: argparse.Namespace) -> Path:
    if args.people_file:
        return args.people_file
    from lab.hub.settings import load_hub_settings

    return load_hub_settings().people_file


def _academy_dir(args: argparse.Namespace) -> Path:
    from lab.academy.course import ACADEMY_DIR

    return getattr(args, "academy_dir", None) or ACADEMY_DIR


def _course(args: argparse.Namespace):
    from lab.academy.course import course_of

    return course_of(args.cohort, _courses_dir(args), args.exchange)


def run_create(args: argparse.Namespace) -> int:
    from lab.academy.course import create_course
    from lab.academy.people import add_cohort_group

    try:
        course = create_course(args.cohort, _courses_dir(args), exchange=args.exchange, students=args.student)
        changed = False
        if not args.no_hub_group:
            people = _people_file(args)
            changed = add_cohort_group(people, args.cohort, [*args.trainer, *args.student])
    except LabError as error:
        return fail(error)
    print(f"Course of {args.cohort}: {course.root} (exchange {course.exchange}); {len(course.lessons())} lessons.")
    if changed:
        print(f"Added the hub group {args.cohort} (kind cohort) to {people}; members see their course folder "
              "at their next server start.")
    return 0


def run_lessons(args: argparse.Namespace) -> int:
    try:
        course = _course(args)
    except LabError as error:
        return fail(error)
    released = _academy_dir(args) / args.cohort
    rows = [[lesson, "yes" if (released / lesson).is_dir() else "no"] for lesson in course.lessons()]
    print(table(rows, ["lesson", "released"]))
    return 0


def run_step(args: argparse.Namespace) -> int:
    from lab.academy import course as steps

    try:
        course = _course(args)
        if args.step == "generate":
            print(f"Student version: {steps.generate(course, args.lesson)}")
        elif args.step == "release":
            where = steps.release(course, args.lesson, academy_dir=_academy_dir(args), exchange=not args.no_exchange)
            print(f"Released {args.lesson} to {args.cohort}: {where}" + ("" if args.no_exchange else " and the exchange"))
        elif args.step == "collect":
            who = steps.collect(course, args.lesson)
            print(f"Collected {args.lesson}: {len(who)} submissions ({', '.join(who) or 'none'}).")
        elif args.step == "autograde":
            from lab.academy.sandbox import SandboxLimits

            limits = SandboxLimits(wall_seconds=args.wall_seconds, cpu_seconds=args.cpu_seconds,
                                   memory_mb=args.memory_mb, processes=args.processes,
                                   cell_seconds=min(300, int(args.wall_seconds)))
            reports = steps.autograde(course, args.lesson, student=args.student, sandbox=not args.no_sandbox,
                                      limits=limits, twins_dir=args.twins, vault=args.vault,
                                      max_submission_mb=args.max_submission_mb)
            if args.no_sandbox:
                print("WARNING: submissions ran as you, with your environment (--no-sandbox).")
            if reports:
                print(table([[r.student, r.notebook, "zero" if r.status == "zero" else "graded", r.account or "-",
                              f"{r.seconds:.1f}", r.reason or ""] for r in reports],
                            ["student", "notebook", "result", "ran as", "seconds", "reason"]))
            print(f"Autograded {args.lesson}; see {course.root / 'autograded'}.")
        else:
            steps.feedback(course, args.lesson)
            print(f"Feedback for {args.lesson} written and returned; see {course.root / 'feedback'}.")
    except LabError as error:
        return fail(error)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from lab.academy.course import export

    try:
        to = export(_course(args), args.to.resolve())
    except LabError as error:
        return fail(error)
    print(f"Grades: {to}")
    return 0
