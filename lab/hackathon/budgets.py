"""Team scoring budgets as group budgets on the task's dataset.

A score is computed from the dataset's real rows, so it is charged where every other
release from those rows is: the dataset's lifetime budget, the submitting member's
allowance and, here, the team's group budget (``team_epsilon + final_epsilon``),
which the event adds to the dataset's policy before the ledger syncs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lab.hackathon.model import Event
from lab.policies.model import Policy


def with_team_budgets(policies: Mapping[str, Policy], events: Mapping[str, Event]) -> dict[str, Policy]:
    """Copies of the policies whose ``group_epsilon`` includes every event team's allowance.

    The inputs are not changed. A team in two events on one dataset gets the sum.
    """
    out = dict(policies)
    for event in events.values():
        policy = out[event.task.dataset]
        groups = dict(policy.budgets.group_epsilon)
        for team in event.teams:
            groups[team] = groups.get(team, 0) + event.team_limit
        budgets = policy.budgets.model_copy(update={"group_epsilon": groups})
        out[event.task.dataset] = policy.model_copy(update={"budgets": budgets})
    return out


def ledger_policies(policies_dir: Path | str, policies: Mapping[str, Policy]) -> dict[str, Policy]:
    """What every ledger sync must apply: the policies plus the events' team budgets.

    Syncing the bare policies would take the teams' allowances away (the ledger sets every
    budget to what it is given), so the vault service and the CLI both sync through this.

    Raises:
        PolicyError: an event file is invalid (nothing is applied).
    """
    from lab.hackathon.loader import load_events

    return with_team_budgets(policies, load_events(policies_dir, policies))
