"""The people file: validated completely, reported by file, key, problem and fix, applied all or nothing.

These need no hub and no root.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.hub.access import access_of
from lab.hub.errors import PeopleError
from lab.hub.people import load_people
from lab.policies import load_policies
from tests.support.hub import REPO


def test_the_repositorys_people_file_is_valid_and_not_a_dataset_policy():
    people = load_people(REPO / "policies" / "hub" / "people.yaml")
    assert {"ada", "alice", "bob"} <= people.names
    assert set(people.demo_accounts) <= people.names
    assert sorted(load_policies(REPO / "policies")) == ["census", "tax", "welfare"]  # hub/ is not read


def test_every_problem_is_listed_with_its_key_and_fix(tmp_path: Path):
    path = tmp_path / "people.yaml"
    path.write_text("people_version: 1\nadmin: [ada]\ngroups:\n  Team Red: {members: [dan]}\n"
                    "  staff:\n    kind: squad\n    memebers: [bob]\n  analysts: {members: [Alice]}\n")
    with pytest.raises(PeopleError) as caught:
        load_people(path)
    found = {(p.key, p.problem.split(" (")[0], p.fix.split(";")[0]) for p in caught.value.problems}
    assert ("admin", "unknown key 'admin'", "did you mean 'admins'?") in found
    assert ("groups.staff.memebers", "unknown key 'memebers'", "did you mean 'members'?") in found
    keys = {p.key for p in caught.value.problems}
    assert {"groups.Team Red", "groups.staff.kind", "groups.analysts.members[0]"} <= keys
    assert all(p.file == str(path) for p in caught.value.problems)
    assert "nothing was applied" in caught.value.message


def test_cross_checks_name_the_person_and_the_fix(tmp_path: Path):
    path = tmp_path / "people.yaml"
    path.write_text("people_version: 1\ndemo_accounts: [zed]\ngroups:\n  admins: {members: [ada]}\n"
                    "  staff: {members: [bob, bob]}\n")
    with pytest.raises(PeopleError) as caught:
        load_people(path)
    problems = {p.key: p.problem for p in caught.value.problems}
    assert problems == {"groups.admins": "'admins' is reserved for the people listed under 'admins'",
                        "demo_accounts[0]": "'zed' is not in 'admins', 'users' or any group",
                        "groups.staff.members[1]": "'bob' is listed twice"}


def test_a_missing_or_broken_file_says_so(tmp_path: Path):
    with pytest.raises(PeopleError, match="does not exist"):
        load_people(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("groups: [unclosed\n")
    with pytest.raises(PeopleError, match="YAML syntax error at line"):
        load_people(tmp_path / "bad.yaml")


def test_access_follows_the_policies_groups():
    people = load_people(REPO / "policies" / "hub" / "people.yaml")
    policies = load_policies(REPO / "policies")
    dan = access_of("dan", people, policies)  # hackathon: welfare and census twins, no tax, no queries
    assert (dan.twins, dan.queries, dan.teams) == (("census", "welfare"), (), ("team-red",))
    assert access_of("alice", people, policies).queries == ("census", "tax", "welfare")
    assert access_of("ada", people, policies).admin
    assert access_of("nobody", people, policies).twins == ()
