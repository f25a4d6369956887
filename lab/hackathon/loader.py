"""Read event files, validate them completely, and apply none unless all are valid.

Event files live in ``policies/events/``: a subdirectory, which the dataset-policy loader
never reads (it lists only the files directly in ``policies/``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import ValidationError

from lab.errors import PolicyError, PolicyProblem
from lab.hackathon.checks import event_problems
from lab.hackathon.model import Event
from lab.policies.loader import POLICY_SUFFIXES
from lab.policies.model import Policy
from lab.policies.yaml_file import dotted_key, read_yaml_mapping

#: Where event files live, under the policies directory.
EVENTS_SUBDIR = "events"


def load_event(path: Path | str, policies: Mapping[str, Policy], teams: Iterable[str] | None = None) -> Event:
    """Load and validate one event file against the dataset policies (and the hub's teams).

    Raises:
        PolicyError: listing every problem found in the file (file, key, problem, fix).
    """
    event, problems = _read(Path(path), policies, None if teams is None else list(teams))
    if problems:
        raise PolicyError(problems)
    assert event is not None
    return event


def load_events(policies_dir: Path | str, policies: Mapping[str, Policy],
                teams: Iterable[str] | None = None) -> dict[str, Event]:
    """Every event in ``policies_dir/events/`` by name; none when the folder does not exist.

    Raises:
        PolicyError: listing every problem in every invalid file (no event is returned).
    """
    directory = Path(policies_dir) / EVENTS_SUBDIR
    if not directory.is_dir():
        return {}
    known = None if teams is None else list(teams)
    events: dict[str, Event] = {}
    problems: list[PolicyProblem] = []
    for path in sorted(p for p in directory.iterdir() if p.suffix in POLICY_SUFFIXES and p.is_file()):
        event, file_problems = _read(path, policies, known)
        problems += file_problems
        if event is not None and not file_problems:
            problems += _shared_team_problems(path, event, events)
            events[event.event] = event
    if problems:
        raise PolicyError(problems)
    return events


def _shared_team_problems(path: Path, event: Event, earlier: Mapping[str, Event]) -> list[PolicyProblem]:
    """A team's scoring budget is a group budget on the task's dataset, so one event per team and dataset."""
    problems = []
    for other in earlier.values():
        if other.task.dataset == event.task.dataset:
            for team in sorted(set(other.teams) & set(event.teams)):
                problems.append(PolicyProblem(str(path), "teams", f"team '{team}' is already in event "
                                              f"'{other.event}' on dataset '{event.task.dataset}'",
                                              "give each event its own teams (a team's scoring budget is per dataset)"))
    return problems


def _read(path: Path, policies: Mapping[str, Policy], teams: list[str] | None) -> tuple[Event | None,
                                                                                       list[PolicyProblem]]:
    file = str(path)
    raw, problems = read_yaml_mapping(path, example="start from policies/events/welfare-challenge.yaml")
    if raw is None:
        return None, problems
    try:
        event = Event.model_validate(raw)
    except ValidationError as exc:
        return None, [PolicyProblem(file, dotted_key(err["loc"]), _problem(err), _fix(err)) for err in exc.errors()]
    return event, [PolicyProblem(file, *p) for p in event_problems(event, path.stem, policies, teams)]


def _problem(error: dict[str, object]) -> str:
    if error["type"] == "extra_forbidden":
        return f"unknown key '{error['loc'][-1]}'"  # type: ignore[index]
    if error["type"] == "missing":
        return "this key is required"
    if error["type"] == "timezone_aware":
        return "the date has no time zone"
    return str(error["msg"]).rstrip(".")


def _fix(error: dict[str, object]) -> str:
    if error["type"] == "extra_forbidden":
        return "remove it, or check its spelling (see docs/hackathon.md)"
    if error["type"] == "missing":
        return "add it (see docs/hackathon.md)"
    if error["type"] == "timezone_aware":
        return "write it in UTC, e.g. 2026-12-01T09:00:00Z"
    if error["type"] == "literal_error":
        return f"use one of {error.get('ctx', {}).get('expected', '')}"  # type: ignore[union-attr]
    return "correct the value (see docs/hackathon.md)"
