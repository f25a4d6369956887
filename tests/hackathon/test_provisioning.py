"""At spawn, a team member's home gets the event's twins and a starter notebook naming the event.

Runs the spawn hook's ``prepare`` in the hub's demo mode (no Unix accounts: the real
isolation and the team-folder permissions are tested in tests/hub with a real hub).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from lab.hub.access import access_of
from lab.hub.people import load_people
from lab.hub.provision import Provisioner
from lab.hub.settings import load_hub_settings
from lab.policies import load_policies
from lab.settings import load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def provisioner(tmp_path: Path) -> Provisioner:
    policies = tmp_path / "policies"
    (policies / "events").mkdir(parents=True)
    (policies / "hub").mkdir()
    policy = yaml.safe_load((REPO / "policies" / "welfare.yaml").read_text())
    policy["access"]["twin_groups"] = ["staff"]  # the team gets the twin through the event only
    (policies / "welfare.yaml").write_text(yaml.safe_dump(policy))
    shutil.copy(REPO / "policies" / "events" / "welfare-challenge.yaml", policies / "events")
    shutil.copy(REPO / "policies" / "hub" / "people.yaml", policies / "hub")
    release = tmp_path / "twins" / "welfare" / "v0001"
    release.mkdir(parents=True)
    (release / "manifest.json").write_text("{}")
    env = {"LAB_CONFIG": str(tmp_path / "lab.toml"), "LAB_ROOT": str(tmp_path),
           "LAB_POLICIES_DIR": str(policies), "LAB_HUB_ISOLATION": "off"}
    (tmp_path / "lab.toml").write_text("")
    hub = load_hub_settings(env, load_settings(env))
    return Provisioner(hub, load_people(hub.people_file), load_policies(policies))


def test_a_team_member_gets_the_event_twin_and_starter(provisioner: Provisioner) -> None:
    people, policies = provisioner.current()
    access = access_of("dan", people, policies)
    assert "welfare" not in access.twins  # not through the policy...
    provisioner.prepare(access, policies)
    home = provisioner.hub.homes_dir / "dan"
    assert (home / "twins" / "welfare").is_symlink()  # ...but through the event
    assert (home / "teams" / "team-red").is_symlink()
    starter = json.loads((home / "hackathon" / "welfare-challenge-starter.ipynb").read_text())
    source = "".join("".join(cell["source"]) for cell in starter["cells"])
    assert 'EVENT = "welfare-challenge"' in source and "lab.submit(EVENT" in source
    assert all(cell.get("outputs", []) == [] for cell in starter["cells"])  # committed without outputs


def test_someone_outside_the_teams_gets_neither(provisioner: Provisioner) -> None:
    people, policies = provisioner.current()
    provisioner.prepare(access_of("bob", people, policies), policies)  # staff: the twin, no event
    home = provisioner.hub.homes_dir / "bob"
    assert (home / "twins" / "welfare").is_symlink() and not (home / "hackathon").exists()
