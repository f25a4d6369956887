"""Lay out a user's home for their next server: twins, team folders, course material, starter.

Runs **as the user** (the spawn hook starts ``python -m lab.hub.home`` under their account,
plan on stdin), never as root: a home belongs to its user, who could otherwise plant a
symlink that makes a root process write elsewhere. Only the standard library is imported,
so it starts fast.

What it makes, idempotently (what the plan no longer lists is removed, so a policy change
shows at the next spawn)::

    ~/twins/<dataset>   -> <twins>/<dataset>   link; the files are the vault's, read-only
    ~/teams/<team>      -> <teams>/<team>      link to the team's shared folder
    ~/academy/<cohort>/                        read-only copy of the cohort's course folder
    ~/getting-started.ipynb                    copied once; yours to edit
    ~/hackathon/<event>-starter.ipynb          copied once per event of your teams; yours to edit
    ~/.jupyter/nbgrader_config.py              for cohort members: the academy's exchange and their name
    ~/.jupyter/labconfig/page_config.json      no news pop-up; nbgrader's trainer tools for trainers only
    ~/.jupyter-run/                            0700: kernels' connection files and IPC sockets

Plan (JSON on stdin)::

    {"twins": {"welfare": "/srv/lab/twins/welfare"}, "teams": {"team-red": "/srv/lab/teams/team-red"},
     "courses": {"cohort-2026-spring": "/opt/lab/notebooks/academy/cohort-2026-spring"},
     "starter": "/opt/lab/notebooks/getting-started.ipynb",
     "hackathon": {"welfare-challenge": "/opt/lab/notebooks/hackathon/starter.ipynb"},
     "nbgrader": {"exchange": "/srv/lab/academy/exchange", "student_id": "carol"}}
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

#: Marks a course folder this module copied (and may therefore replace).
COURSE_MARKER = ".lab-course"
#: First line of the nbgrader config this module writes (and may therefore rewrite).
NBGRADER_MARKER = "# Written by the lab at each spawn"
#: The event name in the hackathon starter notebook, replaced by each event's own.
STARTER_EVENT = 'EVENT = \\"welfare-challenge\\"'


def apply_plan(home: Path, plan: dict[str, Any]) -> dict[str, list[str]]:
    """Make ``home`` match ``plan``; returns what was done, for the hub's log."""
    done: dict[str, list[str]] = {"linked": [], "unlinked": [], "copied": [], "removed": [], "skipped": []}
    _sync_links(home / "twins", plan.get("twins", {}), done)
    _sync_links(home / "teams", plan.get("teams", {}), done)
    _sync_courses(home / "academy", plan.get("courses", {}), done)
    starter = plan.get("starter")
    if starter and Path(starter).is_file() and not (home / Path(starter).name).exists():
        shutil.copyfile(starter, home / Path(starter).name)
        done["copied"].append(Path(starter).name)
    _copy_hackathon_starters(home / "hackathon", plan.get("hackathon", {}), done)
    _write_nbgrader_config(home / ".jupyter" / "nbgrader_config.py", plan.get("nbgrader"), done)
    _write_lab_page_config(home / ".jupyter", bool(plan.get("trainer")), done)
    _private_runtime_dir(home / RUNTIME_DIR)
    return done


#: The server's JUPYTER_RUNTIME_DIR (lab.hub.spawner.RUNTIME_DIR): kernels' connection files
#: and IPC sockets. Private: whoever can open them can drive the kernel.
RUNTIME_DIR = ".jupyter-run"


def _private_runtime_dir(path: Path) -> None:
    if path.is_symlink():
        path.unlink()  # only a real directory of the user's own
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


#: nbgrader's parts for trainers: the grader and the assignment editor (students keep the
#: Assignments tab, to fetch and submit).
NEWS_PLUGIN = "@jupyterlab/apputils-extension:announcements"
TRAINER_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                       "@jupyter/nbgrader:course-list")


def _write_lab_page_config(jupyter: Path, trainer: bool, done: dict[str, list[str]]) -> None:
    """JupyterLab's disabled plugins: the news pop-up for all, nbgrader's trainer tools for non-trainers.

    Only the menus go: the grader's server side stays loaded, and it has nothing to show a
    student, since course folders (gradebook, submissions) are the trainers' alone (0700).
    The news pop-up asks to fetch a feed from the internet, which the lab's machines cannot reach.
    """
    lab_config = jupyter / "labconfig" / "page_config.json"
    if lab_config.exists() and not json.loads(lab_config.read_text() or "{}").get("_lab_managed"):
        done["skipped"].append(lab_config.name)  # the person's own settings win
        return
    disabled = [NEWS_PLUGIN] + ([] if trainer else list(TRAINER_LAB_PLUGINS))
    lab_config.parent.mkdir(parents=True, exist_ok=True)
    lab_config.write_text(json.dumps({"_lab_managed": True, "disabledExtensions": {name: True for name in disabled}}))


def _write_nbgrader_config(path: Path, wanted: dict[str, str] | None, done: dict[str, list[str]]) -> None:
    """Point nbgrader's Assignments tab at the academy's exchange, under the person's hub name.

    Without ``student_id`` nbgrader would name submissions after the Unix account
    (``jupyter-carol``), which the trainers' gradebook does not know. A config the person
    wrote themselves (no marker line) is left alone.
    """
    ours = path.is_file() and path.read_text().startswith(NBGRADER_MARKER)
    if path.exists() and not ours:
        done["skipped"].append(str(path.name))
        return
    if not wanted:
        if ours:
            path.unlink()
            done["removed"].append(path.name)
        return
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_text(f"{NBGRADER_MARKER} (lab.hub.home); your own settings go in another config file.\n"
                    f"c.Exchange.root = {wanted['exchange']!r}\n"
                    "c.Exchange.path_includes_course = True\n"
                    f"c.CourseDirectory.student_id = {wanted['student_id']!r}\n")
    done["copied"].append(path.name)


def _copy_hackathon_starters(folder: Path, wanted: dict[str, str], done: dict[str, list[str]]) -> None:
    """Copy the starter once per event, with the event's name in it; never replace the user's copy."""
    if not _usable_folder(folder, bool(wanted), done):
        return
    for event, source in sorted(wanted.items()):
        target = folder / f"{event}-starter.ipynb"
        if target.exists() or target.is_symlink() or not Path(source).is_file():
            continue
        text = Path(source).read_text(encoding="utf-8")
        target.write_text(text.replace(STARTER_EVENT, STARTER_EVENT.replace("welfare-challenge", event)),
                          encoding="utf-8")
        done["copied"].append(f"hackathon/{target.name}")


def _sync_links(folder: Path, wanted: dict[str, str], done: dict[str, list[str]]) -> None:
    if not _usable_folder(folder, bool(wanted), done):
        return
    for entry in folder.iterdir():
        if entry.is_symlink() and os.readlink(entry) != wanted.get(entry.name):
            entry.unlink()
            done["unlinked"].append(f"{folder.name}/{entry.name}")
    for name, target in sorted(wanted.items()):
        link = folder / name
        if link.is_symlink():
            continue
        if link.exists():  # the user's own file or folder: never replaced
            done["skipped"].append(f"{folder.name}/{name}")
            continue
        link.symlink_to(target, target_is_directory=True)
        done["linked"].append(f"{folder.name}/{name}")


def _sync_courses(folder: Path, wanted: dict[str, str], done: dict[str, list[str]]) -> None:
    if not _usable_folder(folder, bool(wanted), done):
        return
    for entry in folder.iterdir():
        if (entry / COURSE_MARKER).is_file():
            _remove_read_only(entry)
            if entry.name not in wanted:
                done["removed"].append(f"academy/{entry.name}")
    for name, source in sorted(wanted.items()):
        target = folder / name
        if target.exists() or target.is_symlink():
            done["skipped"].append(f"academy/{name}")
            continue
        shutil.copytree(source, target, symlinks=False)
        (target / COURSE_MARKER).write_text("Copied by the hub at each server start; your changes here are lost.\n")
        _make_read_only(target)
        done["copied"].append(f"academy/{name}")


def _usable_folder(folder: Path, wanted: bool, done: dict[str, list[str]]) -> bool:
    """The folder exists as a real directory (made if something is wanted in it)."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        done["skipped"].append(folder.name)  # the user put something else there: leave it alone
        return False
    if not folder.exists():
        if not wanted:
            return False
        folder.mkdir()
    return True


def _make_read_only(root: Path) -> None:
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            os.chmod(os.path.join(directory, name), 0o444)
        os.chmod(directory, 0o555)


def _remove_read_only(root: Path) -> None:
    os.chmod(root, stat.S_IRWXU)
    for directory, subdirectories, _ in os.walk(root):
        for name in subdirectories:
            os.chmod(os.path.join(directory, name), stat.S_IRWXU)
    shutil.rmtree(root)


def main() -> int:
    """Read the plan on stdin, apply it to $HOME, print what was done (JSON)."""
    plan = json.load(sys.stdin)
    home = Path(os.environ["HOME"])
    print(json.dumps(apply_plan(home, plan)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
