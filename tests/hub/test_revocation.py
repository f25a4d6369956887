"""Revocation that works: the people file is the truth for the hub's groups and users, at start
and while the hub runs, and stopping a server ends everything it started.

A hub of its own (own state directory, people file, ports, and Unix accounts
``<prefix>r-<name>``, so stopping servers here never touches the session hub's), over the
same lab. Probes, each on real servers and kernels:

- removed from a group, hub restarted: no longer in the group; the old token no longer queries;
- removed from the file: servers stopped, tokens (API and OAuth) dead, no login, processes gone;
- a server stopped: its background processes (nohup, setsid) are gone too;
- a malformed people file: refused at start with the line and the fix; ignored on reload.
"""

from __future__ import annotations

import pwd
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lab
from tests.hub.conftest import PEOPLE
from tests.support.hub import RunningHub, free_port, processes_of, start_hub
from tests.support.hub_person import HubPerson

#: The sync service's period (jupyterhub_config.py) plus the vault's cache, with room to spare.
SYNC_WAIT = 30.0


@pytest.fixture(scope="module")
def own(settings: dict[str, str], passwords: dict[str, str], lab_root: Path, prefix: str,
        hub: RunningHub) -> dict[str, str]:
    state = lab_root / "revocation-hub"
    state.mkdir()
    (state / "passwords.json").write_bytes((Path(settings["LAB_ROOT"]) / "hub" / "passwords.json").read_bytes())
    people = lab_root / "revocation-people.yaml"
    people.write_text(PEOPLE)
    return {**settings, "LAB_HUB_STATE_DIR": str(state), "LAB_HUB_PEOPLE_FILE": str(people),
            "LAB_HUB_ACCOUNT_TEMPLATE": prefix + "r-{name}", "LAB_HUB_PORT": str(free_port()),
            "LAB_HUB_INTERNAL_PORT": str(free_port()), "LAB_HUB_PROXY_API_PORT": str(free_port()),
            "LAB_HUB_VAULT_PORT": str(free_port())}


@pytest.fixture(scope="module")
def running(own: dict[str, str], lab_root: Path) -> Iterator[list[RunningHub]]:
    """The hub, restartable by the tests (the list holds the one running now)."""
    holder = [start_hub(own, lab_root / "revocation-hub.log")]
    try:
        yield holder
    finally:
        holder[0].stop()
        Path(own["LAB_HUB_PEOPLE_FILE"]).write_text(PEOPLE)


def _person(hub: RunningHub, name: str, passwords: dict[str, str]) -> HubPerson:
    person = HubPerson(hub.url, name)
    response = person.login(passwords[name])
    assert response.status_code == 302, f"{name} could not log in: {response.status_code}"
    person.make_token()
    return person


def _account_uid(prefix: str, name: str) -> int:
    return pwd.getpwnam(f"{prefix}r-{name}").pw_uid


def _live(uid: int) -> list[int]:
    live = []
    for pid in processes_of(uid):
        try:
            if "State:\tZ" not in Path(f"/proc/{pid}/status").read_text():
                live.append(pid)
        except FileNotFoundError:
            pass
    return live


def _wait(what: str, check, hub: RunningHub, timeout: float = SYNC_WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}\n{hub.log_tail()}"
        time.sleep(0.5)


def _census_query(person: HubPerson):
    spec = lab.query("census").count().to_spec("0.05")
    return person.api("POST", "services/vault/api/query", json=spec)


def test_stopping_a_server_ends_its_background_processes(running: list[RunningHub], passwords: dict[str, str],
                                                         prefix: str):
    gail = _person(running[0], "gail", passwords)
    gail.start_server()
    gail.wait_ready()
    kernel = gail.kernel()
    try:
        kernel.run("import subprocess\n"
                   "subprocess.run('nohup sleep 1000 >/dev/null 2>&1 &', shell=True)\n"
                   "subprocess.run('setsid sleep 1001 >/dev/null 2>&1 < /dev/null &', shell=True)").ok()
    finally:
        kernel.ws.close()
    uid = _account_uid(prefix, "gail")
    sleeps = [pid for pid in _live(uid) if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep")]
    assert len(sleeps) == 2, sleeps
    assert gail.api("DELETE", "hub/api/users/gail/server").status_code in (202, 204)
    _wait("gail's server stops", lambda: gail.server() is None, running[0], 60)
    _wait("every process of gail's account ends", lambda: not _live(uid), running[0], 10)


def test_a_person_removed_from_a_group_loses_it_across_a_restart(running: list[RunningHub], own: dict[str, str],
                                                                 passwords: dict[str, str], lab_root: Path):
    alice = _person(running[0], "alice", passwords)
    assert "analysts" in alice.api("GET", "services/vault/api/whoami").json()["user"]["groups"]
    assert _census_query(alice).status_code == 200  # an analyst may query the real data
    running[0].stop()
    Path(own["LAB_HUB_PEOPLE_FILE"]).write_text(PEOPLE.replace("analysts: {members: [alice]}",
                                                               "analysts: {members: []}\n  others: {members: [alice]}"))
    running[0] = start_hub(own, lab_root / "revocation-hub.log")
    _wait("alice leaves analysts in the hub",
          lambda: alice.api("GET", "hub/api/users/alice").json()["groups"] == ["others"], running[0])
    alice.url = running[0].url
    refused = _census_query(alice)  # the same, old token
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "NoAccess", refused.text
    assert alice.api("GET", "services/vault/api/whoami").json()["user"]["groups"] == ["others"]
    assert "people-sync" in running[0].log.read_text() and "removing {'analysts': ('alice',)}" in \
        running[0].log.read_text()


def test_a_person_removed_from_the_file_is_shut_out(running: list[RunningHub], own: dict[str, str],
                                                    passwords: dict[str, str], prefix: str):
    hub = running[0]
    Path(own["LAB_HUB_PEOPLE_FILE"]).write_text(PEOPLE)
    erin, dan = _person(hub, "erin", passwords), _person(hub, "dan", passwords)
    for person in (erin, dan):
        person.start_server()
    for person in (erin, dan):
        person.wait_ready()
    assert _person(hub, "bob", passwords).api("GET", "services/vault/api/whoami").status_code == 200
    bob_token = HubPerson(hub.url, "bob")
    bob_token.token = _person(hub, "bob", passwords).token
    # While the hub runs: erin and bob leave the file, dan leaves team-red.
    Path(own["LAB_HUB_PEOPLE_FILE"]).write_text(
        PEOPLE.replace("team-red: {kind: team, members: [dan]}", "team-red: {kind: team, members: []}")
        .replace("hackathon: {members: [dan, erin]}", "hackathon: {members: [dan]}")
        .replace("team-blue: {kind: team, members: [erin]}", "team-blue: {kind: team, members: []}")
        .replace("staff: {members: [bob, gail]}", "staff: {members: [gail]}")
        .replace("cohort-test: {kind: cohort, members: [bob]}", "cohort-test: {kind: cohort, members: []}")
        .replace("demo_accounts: [ada, alice, bob, dan, erin, gail]", "demo_accounts: [ada, alice, dan, gail]"))
    _wait("erin's and bob's tokens stop working", lambda: erin.api("GET", "hub/api/user").status_code == 403
          and bob_token.api("GET", "hub/api/user").status_code == 403, hub)
    _wait("the vault refuses erin's token",
          lambda: erin.api("GET", "services/vault/api/whoami").status_code in (401, 403), hub, 40)
    _wait("erin's processes end", lambda: not _live(_account_uid(prefix, "erin")), hub, 10)
    assert HubPerson(hub.url, "erin").login(passwords["erin"]).status_code == 403  # no login either
    # dan lost a group: his running server (with its old Unix groups) is stopped; his groups are exact.
    _wait("dan's server stops", lambda: dan.server() is None, hub)
    assert sorted(dan.api("GET", "hub/api/users/dan").json()["groups"]) == ["hackathon"]


def test_a_malformed_people_file_is_refused_at_start_and_ignored_on_reload(
        running: list[RunningHub], own: dict[str, str], passwords: dict[str, str], lab_root: Path):
    hub = running[0]
    people = Path(own["LAB_HUB_PEOPLE_FILE"])
    people.write_text(PEOPLE)
    ada = _person(hub, "ada", passwords)
    _wait("the file's groups apply", lambda: sorted(ada.api("GET", "hub/api/users/dan").json()["groups"])
          == ["hackathon", "team-red"], hub)
    # Reload: a group written twice and an unknown kind. Nothing changes; the log names the lines.
    broken = PEOPLE.replace("  staff: {members: [bob, gail]}\n",
                            "  staff: {members: [bob, gail]}\n  staff: {members: [dan]}\n") \
        .replace("team-red: {kind: team, members: [dan]}", "team-red: {kind: squad, members: []}")
    people.write_text(broken)
    time.sleep(12)  # two sync passes
    assert sorted(ada.api("GET", "hub/api/users/dan").json()["groups"]) == ["hackathon", "team-red"]
    text = hub.log.read_text()
    assert "keeps its last valid state" in text
    assert "line 8: groups.staff: 'staff' is defined twice (lines 7 and 8)" in text, hub.log_tail()
    assert "line 10: groups.team-red.kind: 'squad' is not allowed" in text
    # Start: refused, with the same lines and fixes.
    hub.stop()
    with pytest.raises(RuntimeError) as refused:
        running[0] = start_hub(own, lab_root / "revocation-refused.log", timeout=60)
    message = str(refused.value)
    assert "the hub exited" in message and "Fix: merge the two into one" in message
    assert "line 10: groups.team-red.kind: 'squad' is not allowed. Fix: use one of" in message
    people.write_text(PEOPLE)
    running[0] = start_hub(own, lab_root / "revocation-hub.log")
