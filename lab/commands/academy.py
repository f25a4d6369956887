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
            steps.autograde(course, args.lesson, student=args.student)
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
