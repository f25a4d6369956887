"""Read one YAML file of the lab's configuration (policies, people, events) as a mapping,
and name places in it.

Every problem becomes a PolicyProblem naming the file, so callers report them alongside
their own validation problems and never raise half-way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from lab.errors import PolicyProblem


def read_yaml_mapping(path: Path, *, if_missing: str = "check the path",
                      example: str = "start from an example in docs/policies.md"
                      ) -> tuple[dict[str, Any] | None, list[PolicyProblem]]:
    """The file's top-level mapping, or None and the problem (missing, unreadable, bad YAML).

    Args:
        if_missing: the fix to print when the file does not exist.
        example: the fix to print when the file is YAML but not a mapping of keys.
    """
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [PolicyProblem(file, "", "the file does not exist", if_missing)]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [PolicyProblem(file, "", f"the file cannot be read ({type(exc).__name__})",
                                    "check its permissions and that it is UTF-8 text")]
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere in the file"
        reason = getattr(exc, "problem", None) or "invalid YAML"
        return None, [PolicyProblem(file, "", f"YAML syntax error at {where}: {reason}",
                                    "fix the indentation or quoting there")]
    if not isinstance(raw, dict):
        return None, [PolicyProblem(file, "", "the file does not hold a mapping of keys", example)]
    return raw, []


def dotted_key(location: Iterable[object]) -> str:
    """A pydantic error location as the file's key: ``groups.analysts.members[2]``."""
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
