"""A real hub for the whole session: demo data, released twins, people, passwords, Unix accounts.

Once per session (about a minute): a lab root under /tmp (readable by the test's Unix
accounts, unlike pytest's private temporary directories) with 2,000 rows of demo data and
released twins of welfare and tax (500 rows); the census has no released twin, so it is
never provisioned. Then `lab hub demo-accounts` makes the passwords, and the hub starts
with the repository's own jupyterhub_config.py. Everything is undone at the end,
including every Unix account and group the run created (prefix ``labt<hex>-``).

People (tests/hub/people.yaml): alice (analysts: may query), bob (staff: twins only; the
cohort), dan and erin (hackathon: no tax twin; teams red and blue), ada (admin), gail
(staff; the idle culler's test), and zoe (allowed, but with no password).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub import RunningHub, demo_passwords, hub_ports, prepare_lab, remove_accounts, start_hub
from tests.support.hub_person import HubPerson

PEOPLE = """\
people_version: 1
admins: [ada]
demo_accounts: [ada, alice, bob, dan, erin, gail]
users: [zoe]
groups:
  analysts: {members: [alice]}
  staff: {members: [bob, gail]}
  hackathon: {members: [dan, erin]}
  team-red: {kind: team, members: [dan]}
  team-blue: {kind: team, members: [erin]}
  cohort-test: {kind: cohort, members: [bob]}
"""


@pytest.fixture(scope="session")
def prefix() -> str:
    """This run's prefix for Unix accounts and groups."""
    return f"labt{secrets.token_hex(2)}-"


@pytest.fixture(scope="session")
def lab_root(prefix: str) -> Iterator[Path]:
    """A fresh lab directory under /tmp, traversable by other accounts (its files are not)."""
    if os.geteuid() != 0:
        pytest.skip("the hub tests need root: they create Unix accounts, like the hub does")
    if shutil.which("configurable-http-proxy") is None:
        pytest.skip("configurable-http-proxy is not installed. Fix: bash deploy/ensure-proxy.sh")
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        remove_accounts(prefix)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(lab_root: Path, prefix: str) -> dict[str, str]:
    """LAB_* variables of the session's lab and hub, with demo data and released twins in place."""
    return prepare_lab(lab_root, prefix, PEOPLE)


@pytest.fixture(scope="session")
def passwords(settings: dict[str, str]) -> dict[str, str]:
    """The demo accounts' passwords, as `lab hub demo-accounts` prints them."""
    return demo_passwords(settings)


@pytest.fixture(scope="session")
def hub(settings: dict[str, str], passwords: dict[str, str], lab_root: Path) -> Iterator[RunningHub]:
    """The session's hub, on free loopback ports."""
    running = start_hub({**settings, **hub_ports()}, lab_root / "hub.log")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def people(hub: RunningHub, passwords: dict[str, str]) -> dict[str, HubPerson]:
    """Logged-in people with a token each; servers start on first use (:func:`server_of`)."""
    persons = {}
    for name in ("ada", "alice", "bob", "dan", "erin"):
        person = HubPerson(hub.url, name)
        response = person.login(passwords[name])
        assert response.status_code == 302, f"{name} could not log in: {response.status_code}"
        person.make_token()
        persons[name] = person
    return persons


@pytest.fixture(scope="session")
def servers(people: dict[str, HubPerson]) -> dict[str, HubPerson]:
    """Everyone's server started at once (spawns overlap, as on a real morning)."""
    for person in people.values():
        person.start_server()
    for person in people.values():
        person.wait_ready()
    return people


@pytest.fixture(scope="session")
def account(prefix: str):
    """The Unix account of a hub user."""
    return lambda name: prefix + name
