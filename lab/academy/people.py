"""Add a cohort group to the hub's people file, keeping the file's comments and layout.

The people file is edited by hand too, so it is not rewritten from a parsed copy: the new
group is inserted as text at the end of the ``groups:`` block, and the result is checked
with the hub's own loader before it replaces the file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from lab.academy.errors import AcademyError

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def add_cohort_group(people_file: Path, cohort: str, members: Sequence[str], description: str = "") -> bool:
    """Make ``cohort`` a group of kind cohort with ``members`` (added to any already there).

    Returns:
        True if the file changed.

    Raises:
        AcademyError: the name is not a valid hub name, the group exists with another kind,
            or the edited file would not be a valid people file.
    """
    for name in (cohort, *members):
        if not _NAME.match(name):
            raise AcademyError(f"{name!r} is not a valid hub name: use lower-case letters, digits, '_' and '-', "
                               "starting with a letter.")
    text = people_file.read_text()
    groups = (yaml.safe_load(text) or {}).get("groups") or {}
    if cohort in groups:
        spec = groups[cohort] or {}
        if spec.get("kind", "group") != "cohort":
            raise AcademyError(f"The people file already has a group {cohort!r} of kind {spec.get('kind', 'group')!r}; "
                               "choose another cohort name.")
        missing = [m for m in members if m not in (spec.get("members") or [])]
        if not missing:
            return False
        raise AcademyError(f"The cohort {cohort!r} exists; add {', '.join(missing)} to its members in {people_file} "
                           "by hand (the file is not rewritten by the command).")
    block = (f"  {cohort}:\n    kind: cohort\n"
             f"    description: {description or f'Data academy cohort (course folder notebooks/academy/{cohort}/)'}\n"
             f"    members: [{', '.join(members)}]\n")
    new_text = _insert_group(text, block)
    _check(new_text, people_file)
    _replace(people_file, new_text)
    return True


def _insert_group(text: str, block: str) -> str:
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^groups:\s*(#.*)?$", line)), None)
    if start is None:
        return text.rstrip("\n") + "\n\ngroups:\n" + block
    end = len(lines)
    for i in range(start + 1, len(lines)):
        if lines[i].strip() and not lines[i].startswith((" ", "#")):
            end = i
            break
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    if end and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    return "".join(lines[:end]) + block + "".join(lines[end:])


def _check(text: str, people_file: Path) -> None:
    from lab.hub.people import load_people

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=people_file.parent, delete=False) as handle:
        handle.write(text)
    try:
        load_people(Path(handle.name))
    except Exception as error:  # the hub's loader says what is wrong
        raise AcademyError(f"Adding the cohort would make {people_file} invalid: {getattr(error, 'message', error)}")
    finally:
        os.unlink(handle.name)


def _replace(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.new")
    temp.write_text(text)
    os.chmod(temp, path.stat().st_mode & 0o777)
    os.replace(temp, path)
