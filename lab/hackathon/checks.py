"""Rules that relate an event to the rest of the lab: its dataset's policy and the hub's teams.

Each returns (key, problem, fix) triples so that every problem of a file is reported at
once, like lab.policies.checks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from lab.hackathon.model import Event
from lab.policies.model import Policy

#: Most cells the public prediction grid may have: a submission has one prediction per cell,
#: and the vault reads request bodies of at most 64 KiB (about 30 bytes a prediction).
MAX_CELLS = 1000

Problem = tuple[str, str, str]


def event_problems(event: Event, stem: str, policies: Mapping[str, Policy],
                   teams: Iterable[str] | None = None) -> list[Problem]:
    """Every problem relating ``event`` (from file ``stem``.yaml) to the policies and the teams.

    Args:
        teams: the hub's groups of kind ``team``; None skips the check (no people file given).
    """
    problems: list[Problem] = []
    if event.event != stem:
        problems.append(("event", f"'{event.event}' does not match the file name '{stem}.yaml'",
                         f"rename the file to {event.event}.yaml or set event: {stem}"))
    if event.closes <= event.opens:
        problems.append(("closes", "the event closes before it opens", "set closes after opens (UTC)"))
    if len(set(event.teams)) != len(event.teams):
        problems.append(("teams", "a team is listed twice", "list each team once"))
    if teams is not None:
        known = set(teams)
        for i, team in enumerate(event.teams):
            if team not in known:
                problems.append((f"teams[{i}]", f"'{team}' is not a hub group of kind team",
                                 "add it to policies/hub/people.yaml with kind: team, or fix the name"))
    for i, name in enumerate(event.datasets):
        if name not in policies:
            problems.append((f"datasets[{i}]", f"'{name}' has no dataset policy", "use a dataset of policies/"))
    problems += _task_problems(event, policies)
    s = event.scoring
    if s.epsilon_per_score > s.team_epsilon:
        problems.append(("scoring.epsilon_per_score", "one score costs more than the team's whole budget",
                         "lower epsilon_per_score or raise team_epsilon"))
    return problems


def _task_problems(event: Event, policies: Mapping[str, Policy]) -> list[Problem]:
    task = event.task
    policy = policies.get(task.dataset)
    if policy is None:
        return [("task.dataset", f"'{task.dataset}' has no dataset policy", "use a dataset of policies/")]
    problems: list[Problem] = []
    if task.dataset not in event.datasets:
        problems.append(("task.dataset", f"the teams do not get the twin of '{task.dataset}'",
                         f"add {task.dataset} to datasets"))
    if policy.relationships or len(policy.tables) != 1:
        problems.append(("task.dataset", "only single-table datasets can be scored so far",
                         "choose a single-table dataset"))
    table = policy.tables.get(task.table)
    if table is None:
        return problems + [("task.table", f"'{task.table}' is not a table of '{task.dataset}'",
                            f"use one of: {', '.join(policy.tables)}")]
    target = table.columns.get(task.target)
    if target is None:
        problems.append(("task.target", f"'{task.target}' is not a column of {task.dataset}.{task.table}",
                         "use a modelled column of the table"))
    elif target.identifier is not None or target.type in ("id", "text", "date", "datetime"):
        problems.append(("task.target", f"'{task.target}' ({target.type}) cannot be a target",
                         "use a categorical, boolean, integer or float column"))
    elif event.task.metric == "accuracy" and target.type not in ("categorical", "boolean"):
        problems.append(("task.metric", f"accuracy needs a categorical or boolean target, not {target.type}",
                         "use mae or rmse, or a categorical target"))
    elif event.task.metric in ("mae", "rmse") and (target.type not in ("integer", "float") or target.bounds is None):
        problems.append(("task.metric", f"{event.task.metric} needs a numeric target with bounds",
                         "use accuracy, or a numeric target"))
    cells = 1
    for i, name in enumerate(task.features):
        column = table.columns.get(name)
        if column is None:
            problems.append((f"task.features[{i}]", f"'{name}' is not a column of {task.dataset}.{task.table}",
                             "use a column the policy marks public: true"))
        elif name == task.target:
            problems.append((f"task.features[{i}]", "the target cannot be a feature", "remove it"))
        elif not column.public or column.type not in ("categorical", "boolean"):
            problems.append((f"task.features[{i}]", f"'{name}' is not a public categorical or boolean column",
                             "use a column the policy marks public: true (its categories are public)"))
        else:
            cells *= len(column.categories or ()) + (1 if column.nullable else 0) if column.type == "categorical" \
                else 2 + (1 if column.nullable else 0)
    if len(set(task.features)) != len(task.features):
        problems.append(("task.features", "a feature is listed twice", "list each feature once"))
    for i, name in enumerate(event.holdout.identity or ()):
        if name not in table.columns:
            problems.append((f"holdout.identity[{i}]", f"'{name}' is not a column of {task.dataset}.{task.table}",
                             "name the columns that identify a person (or leave identity out: the primary key)"))
    if cells > MAX_CELLS:
        problems.append(("task.features", f"the prediction grid has {cells} cells (limit {MAX_CELLS})",
                         "use fewer features or features with fewer categories"))
    s = event.scoring
    if max(s.epsilon_per_score, s.final_epsilon) > policy.budgets.query_epsilon_max:
        problems.append(("scoring.epsilon_per_score",
                         f"a score may not cost more than the dataset's cap of {policy.budgets.query_epsilon_max}",
                         "lower epsilon_per_score and final_epsilon, or ask the data owner"))
    if not math.isfinite(float(s.team_epsilon)):
        problems.append(("scoring.team_epsilon", "not a finite number", "use a decimal such as 1.0"))
    return problems
