"""Event files: the shipped demo loads; a broken one names file, key, problem and fix, and none loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from lab.errors import PolicyError
from lab.hackathon import load_events
from lab.hackathon.budgets import with_team_budgets
from lab.hub.people import load_people
from lab.policies import load_policies

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_event_loads_against_the_policies_and_the_hub_teams() -> None:
    policies = load_policies(REPO / "policies")  # the dataset loader ignores policies/events/
    people = load_people(REPO / "policies" / "hub" / "people.yaml")
    teams = people.teams
    events = load_events(REPO / "policies", policies, teams)
    assert list(events) == ["welfare-challenge"]
    budgets = with_team_budgets(policies, events)["welfare"].budgets.group_epsilon
    assert budgets["team-red"] == budgets["team-blue"] == events["welfare-challenge"].team_limit
    assert "team-red" not in policies["welfare"].budgets.group_epsilon  # the input is not changed


def test_every_problem_is_reported_at_once_and_nothing_is_loaded(tmp_path: Path) -> None:
    shutil.copy(REPO / "policies" / "welfare.yaml", tmp_path / "welfare.yaml")
    (tmp_path / "events").mkdir()
    good = yaml.safe_load((REPO / "policies" / "events" / "welfare-challenge.yaml").read_text())
    (tmp_path / "events" / "welfare-challenge.yaml").write_text(yaml.safe_dump(good))
    bad = {**good, "event": "broken", "teams": ["team-pink"], "closes": "2026-10-01T00:00:00Z"}
    bad["task"] = {**good["task"], "features": ["age", "region"], "target": "benefit", "metric": "accuracy"}
    (tmp_path / "events" / "broken.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(PolicyError) as error:
        load_events(tmp_path, load_policies(tmp_path), ["team-red", "team-blue"])
    text = str(error.value)
    for expected in ("broken.yaml: closes: the event closes before it opens",
                     "teams[0]: 'team-pink' is not a hub group of kind team",
                     "task.target: 'benefit' is not a column", "task.features[0]: 'age' is not a public"):
        assert expected in text
    assert "Fix:" in text


def test_a_date_without_time_zone_is_refused(tmp_path: Path) -> None:
    shutil.copy(REPO / "policies" / "welfare.yaml", tmp_path / "welfare.yaml")
    (tmp_path / "events").mkdir()
    event = yaml.safe_load((REPO / "policies" / "events" / "welfare-challenge.yaml").read_text())
    event["opens"] = "2026-11-01T09:00:00"
    (tmp_path / "events" / "welfare-challenge.yaml").write_text(yaml.safe_dump(event))
    with pytest.raises(PolicyError, match="opens: the date has no time zone. Fix: write it in UTC"):
        load_events(tmp_path, load_policies(tmp_path))
