"""What each person finds in their home, and that a change to the people file shows at the next spawn."""

from __future__ import annotations

import json
import pwd
from pathlib import Path

from tests.hub.conftest import PEOPLE
from tests.support.hub import RunningHub
from tests.support.hub_person import HubPerson


def test_a_home_holds_the_twins_course_and_starter(servers: dict[str, HubPerson], account):
    kernel = servers["bob"].kernel()  # staff and the cohort: every released twin, the course
    try:
        out = kernel.run("import os, json\nh = os.path.expanduser('~')\n"
                         "twins = {d: sorted(os.listdir(f'{h}/twins/{d}/latest')) for d in os.listdir(f'{h}/twins')}\n"
                         "lesson = f'{h}/academy/cohort-test/lesson-1.ipynb'\n"
                         "print(json.dumps({'twins': twins, 'lesson': os.access(lesson, os.R_OK),\n"
                         "  'lesson_writable': os.access(lesson, os.W_OK),\n"
                         "  'starter': os.path.isfile(f'{h}/getting-started.ipynb')}))").ok()
    finally:
        kernel.close()
    home = json.loads(out)
    assert sorted(home["twins"]) == ["tax", "welfare"]  # census: no released twin, so nothing to link
    for files in home["twins"].values():
        assert {"card.md", "report.html", "manifest.json", "data"} <= set(files)
    assert home["lesson"] and not home["lesson_writable"] and home["starter"]
    assert pwd.getpwnam(account("bob")).pw_dir.startswith("/home/")


def test_people_file_changes_show_at_the_next_spawn(hub: RunningHub, servers: dict[str, HubPerson]):
    people_file = Path(hub.env["LAB_HUB_PEOPLE_FILE"])
    erin = servers["erin"]
    try:
        people_file.write_text(PEOPLE.replace("analysts: {members: [alice]}", "analysts: {members: [alice, erin]}")
                               .replace("team-blue: {kind: team, members: [erin]}", "team-blue: {kind: team, members: []}"))
        assert erin.api("DELETE", f"hub/api/users/erin/server").status_code in (202, 204)
        _wait_stopped(erin)
        erin.start_server()
        erin.wait_ready()
        assert sorted(erin.api("GET", "hub/api/users/erin").json()["groups"]) == ["analysts", "hackathon"]
        kernel = erin.kernel()
        try:
            home = kernel.run("import os; h = os.path.expanduser('~')\n"
                              "print(sorted(os.listdir(h + '/twins')), sorted(os.listdir(h + '/teams')))").ok()
            blue = kernel.run(f"os.listdir({str(Path(hub.env['LAB_ROOT']) / 'teams' / 'team-blue')!r})")
        finally:
            kernel.close()
        assert home.strip() == "['tax', 'welfare'] []"
        assert blue.error is not None and blue.error[0] == "PermissionError"
    finally:
        people_file.write_text(PEOPLE)
        erin.api("DELETE", "hub/api/users/erin/server")
        _wait_stopped(erin)
        erin.start_server()
        erin.wait_ready()


def _wait_stopped(person: HubPerson, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while person.server() is not None:
        assert time.monotonic() < deadline, f"{person.name}'s server did not stop"
        time.sleep(0.5)


def test_an_invalid_people_file_keeps_the_last_valid_one(hub: RunningHub, servers: dict[str, HubPerson]):
    people_file = Path(hub.env["LAB_HUB_PEOPLE_FILE"])
    dan = servers["dan"]
    try:
        people_file.write_text(PEOPLE.replace("team-red: {kind: team, members: [dan]}",
                                              "team-red: {kind: squad, members: [dan]}\n  analysts: {members: [dan]}"))
        dan.api("DELETE", "hub/api/users/dan/server")
        _wait_stopped(dan)
        dan.start_server()
        dan.wait_ready()  # the server still starts...
        assert sorted(dan.api("GET", "hub/api/users/dan").json()["groups"]) == ["hackathon", "team-red"]  # ...unchanged
        assert "groups.team-red.kind: 'squad' is not allowed" in hub.log.read_text()
    finally:
        people_file.write_text(PEOPLE)
