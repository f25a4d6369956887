"""The hub's people file (policies/hub/people.yaml): who may log in, their groups, the admins.

It lives in a subdirectory of the policies directory, so the dataset-policy loader (which
reads only ``policies/*.yaml``) never mistakes it for a dataset. Like the policies it is
validated completely and applied all or nothing: one typo and the hub keeps what it had
(or refuses to start), with every problem listed by key and fix.

Format (version 1; docs/hub.md has the full reference)::

    people_version: 1
    admins: [ada]                    # lab administrators (the hub group "admins")
    demo_accounts: [ada, alice]      # `lab hub demo-accounts` gives these printed passwords
    users: [sam]                     # people in no group (optional)
    groups:
      analysts:
        description: May ask DP questions of the real data
        members: [alice]
      cohort-2026-spring:
        kind: cohort                 # gets notebooks/academy/cohort-2026-spring/ read-only
        members: [carol]
      team-red:
        kind: team                   # gets a shared folder writable by its members only
        members: [dan]

Group names are the names dataset policies use in ``access.twin_groups`` and
``access.query_groups``. Names become Unix names, so they are short, lower case, and
start with a letter.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lab.errors import PolicyProblem
from lab.hub.errors import PeopleError
from lab.policies.yaml_file import dotted_key, read_yaml_mapping

PEOPLE_VERSION = 1
#: The hub group that holds the admins listed under ``admins``.
ADMINS_GROUP = "admins"
#: Hub user names: they become Unix account names (``jupyter-<name>``, at most 32 characters).
USER_NAME = r"^[a-z][a-z0-9_-]{0,22}$"
#: Group names: they become Unix group names (``lab-team-<name>``, at most 32 characters).
GROUP_NAME = r"^[a-z][a-z0-9_-]{0,21}$"

UserName = Annotated[str, Field(pattern=USER_NAME)]
GroupName = Annotated[str, Field(pattern=GROUP_NAME)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupSpec(_Strict):
    """One hub group: its members, and what kind of group it is."""

    kind: Literal["group", "cohort", "team"] = Field(
        default="group", description="cohort: gets its course folder; team: gets a shared folder.")
    description: str = ""
    members: list[UserName] = Field(default_factory=list)


class PeopleFile(_Strict):
    """The whole file, as written."""

    people_version: Literal[1]
    admins: list[UserName] = Field(default_factory=list)
    demo_accounts: list[UserName] = Field(default_factory=list)
    users: list[UserName] = Field(default_factory=list)
    groups: dict[GroupName, GroupSpec] = Field(default_factory=dict)


@dataclass(frozen=True)
class People:
    """Who may use the hub, as the hub configuration and the spawn hook need it.

    Attributes:
        source: the file it was read from.
        groups: every group (the admins group included), by name.
        admins: the lab administrators.
        demo_accounts: the accounts ``lab hub demo-accounts`` creates passwords for.
    """

    source: Path
    groups: dict[str, GroupSpec]
    admins: frozenset[str]
    demo_accounts: tuple[str, ...]
    extra_users: frozenset[str]

    @property
    def names(self) -> frozenset[str]:
        """Everyone allowed to log in."""
        members = {name for group in self.groups.values() for name in group.members}
        return frozenset(members | self.admins | self.extra_users)

    @property
    def teams(self) -> list[str]:
        """Every hackathon team (the groups of kind ``team``): each has a shared folder."""
        return [name for name, group in self.groups.items() if group.kind == "team"]

    def groups_of(self, name: str) -> list[str]:
        """The hub groups of ``name``, sorted (``admins`` included for admins)."""
        return sorted(group for group, spec in self.groups.items() if name in spec.members)

    def groups_of_kind(self, name: str, kind: str) -> list[str]:
        """The groups of ``name`` that are of ``kind`` (``cohort`` or ``team``)."""
        return [group for group in self.groups_of(name) if self.groups[group].kind == kind]

    def load_groups(self) -> dict[str, dict[str, Any]]:
        """The value of ``c.JupyterHub.load_groups``."""
        return {name: {"users": sorted(set(spec.members)),
                       "properties": {"kind": spec.kind, "description": spec.description}}
                for name, spec in sorted(self.groups.items())}


def load_people(path: Path | str) -> People:
    """Read and validate the people file.

    Raises:
        PeopleError: listing every problem in the file; nothing is returned half-valid.
    """
    path = Path(path)
    raw, problems = _read_yaml(path)
    if raw is None:
        raise PeopleError(problems)
    lines, duplicates = _key_lines(path)
    try:
        spec = PeopleFile.model_validate(raw)
    except ValidationError as exc:
        found = [_at_line(PolicyProblem(str(path), *_describe(error)), lines) for error in exc.errors()]
        raise PeopleError([PolicyProblem(str(path), *d) for d in duplicates] + found) from None
    problems = [PolicyProblem(str(path), *d) for d in duplicates]
    problems += [_at_line(PolicyProblem(str(path), *problem), lines) for problem in _cross_checks(spec)]
    if problems:
        raise PeopleError(problems)
    groups = dict(spec.groups)
    groups[ADMINS_GROUP] = GroupSpec(description="Lab administrators: every budget, the ledger, the admin page",
                                     members=sorted(set(spec.admins)))
    return People(source=path, groups=groups, admins=frozenset(spec.admins),
                  demo_accounts=tuple(dict.fromkeys(spec.demo_accounts)), extra_users=frozenset(spec.users))


def _read_yaml(path: Path) -> tuple[dict[str, Any] | None, list[PolicyProblem]]:
    return read_yaml_mapping(path, if_missing="create it (policies/hub/people.yaml is the example), or set "
                                              "LAB_HUB_PEOPLE_FILE to its path",
                             example="start from policies/hub/people.yaml (docs/hub.md explains every key)")


def _key_lines(path: Path) -> tuple[dict[str, int], list[tuple[str, str, str, int]]]:
    """The line of every key and list item (``groups.staff.members[1]`` -> 12), and keys defined twice.

    YAML itself keeps the last of two equal keys, so a group written twice would silently
    lose the first one's members: that is reported, as a problem, here.
    """
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}, []
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, str, str, int]] = []

    def walk(node: yaml.Node, key: str) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for name_node, value in node.value:
                name = str(name_node.value)
                child = f"{key}.{name}" if key else name
                line = name_node.start_mark.line + 1
                if name in seen:
                    duplicates.append((child, f"'{name}' is defined twice (lines {seen[name]} and {line}); YAML "
                                       "would keep only the second", "merge the two into one", line))
                seen.setdefault(name, line)
                lines.setdefault(child, line)
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines.setdefault(f"{key}[{index}]", item.start_mark.line + 1)
                walk(item, f"{key}[{index}]")

    if root is not None:
        walk(root, "")
    return lines, duplicates


def _at_line(problem: PolicyProblem, lines: dict[str, int]) -> PolicyProblem:
    """The problem with the line of its key (or of the nearest enclosing key)."""
    key = problem.key
    while key and key not in lines:
        key = key.rsplit(".", 1)[0] if "." in key else ""
    return dataclasses.replace(problem, line=lines[key]) if key else problem


def _cross_checks(spec: PeopleFile) -> list[tuple[str, str, str]]:
    """Rules that relate one part of the file to another (collected, then raised once)."""
    problems: list[tuple[str, str, str]] = []
    if ADMINS_GROUP in spec.groups:
        problems.append((f"groups.{ADMINS_GROUP}", f"'{ADMINS_GROUP}' is reserved for the people listed "
                         "under 'admins'", "list them under 'admins', or rename the group"))
    listed = set(spec.admins) | set(spec.users) | {m for g in spec.groups.values() for m in g.members}
    for index, name in enumerate(spec.demo_accounts):
        if name not in listed:
            problems.append((f"demo_accounts[{index}]", f"'{name}' is not in 'admins', 'users' or any group",
                             "add the person to a group (or to 'users'), or remove the demo account"))
    for key, names in [("admins", spec.admins), ("demo_accounts", spec.demo_accounts), ("users", spec.users),
                       *[(f"groups.{g}.members", s.members) for g, s in spec.groups.items()]]:
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                problems.append((f"{key}[{index}]", f"'{name}' is listed twice", "remove one of them"))
            seen.add(name)
    return problems


def _describe(error: dict[str, Any]) -> tuple[str, str, str]:
    """One pydantic error as (key, problem, fix), in the file's own words."""
    loc = list(error["loc"])
    is_group_name = bool(loc) and loc[-1] == "[key]"
    if is_group_name:
        loc = loc[:-1]
    key = dotted_key(loc)
    kind = error["type"]
    if kind == "extra_forbid" or kind == "extra_forbidden":
        known = sorted((GroupSpec if len(loc) >= 3 and loc[0] == "groups" else PeopleFile).model_fields)
        guess = difflib.get_close_matches(str(loc[-1]), known, n=1)
        fix = f"did you mean '{guess[0]}'?" if guess else f"remove it; known keys here: {', '.join(known)}"
        return key, f"unknown key '{loc[-1]}'", fix
    if kind == "missing":
        return key, "this key is required", "add it (people_version: 1 for this format)"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return key, f"'{error.get('input')}' is not allowed", f"use one of {expected}"
    if kind == "string_pattern_mismatch":
        what = "group" if is_group_name else "user"
        limit = 22 if what == "group" else 23
        return key, f"'{error.get('input')}' is not a valid {what} name", \
            (f"use lower-case letters, digits, '_' or '-', starting with a letter, at most {limit} characters "
             "(it becomes a Unix name)")
    if kind in ("list_type", "dict_type", "model_type"):
        return key, f"expected {'a list' if kind == 'list_type' else 'a mapping'}, got {type(error.get('input')).__name__}", \
            "see policies/hub/people.yaml for the shape"
    return key, str(error["msg"]).rstrip("."), "correct the value (see docs/hub.md)"
