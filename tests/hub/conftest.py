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
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub_person import HubPerson
from tests.support.hub import REPO, RunningHub, free_port, hub_environ, remove_accounts, start_hub

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
    (lab_root / "lab.toml").write_text("[lab]\n")
    (lab_root / "people.yaml").write_text(PEOPLE)
    course = lab_root / "academy" / "cohort-test"
    course.mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / "getting-started.ipynb", course / "lesson-1.ipynb")
    for folder in (lab_root / "academy", course):
        folder.chmod(0o755)
    values = {
        "LAB_CONFIG": str(lab_root / "lab.toml"),
        "LAB_ROOT": str(lab_root / "root"),
        "LAB_POLICIES_DIR": str(REPO / "policies"),
        "LAB_HUB_PEOPLE_FILE": str(lab_root / "people.yaml"),
        "LAB_HUB_ACADEMY_DIR": str(lab_root / "academy"),
        "LAB_HUB_ACCOUNT_TEMPLATE": prefix + "{name}",
        "LAB_HUB_GROUP_PREFIX": prefix,
        "LAB_HUB_VAULT_ACCOUNT": prefix + "vault",
    }
    env = hub_environ(values)
    lab = [sys.executable, "-m", "lab.cli"]
    subprocess.run([*lab, "demo-data", "--rows", "2000", "--no-progress"], env=env, check=True, capture_output=True,
                   timeout=300)
    builds = [subprocess.Popen([*lab, "twin", "build", dataset, "--rows", "500", "--no-progress"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for dataset in ("welfare", "tax")]
    for build in builds:
        output, _ = build.communicate(timeout=600)
        assert build.returncode == 0, output.decode(errors="replace")[-3000:]
    return values


@pytest.fixture(scope="session")
def passwords(settings: dict[str, str]) -> dict[str, str]:
    """The demo accounts' passwords, as `lab hub demo-accounts` prints them."""
    done = subprocess.run([sys.executable, "-m", "lab.cli", "hub", "demo-accounts"], env=hub_environ(settings),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    table = done.stdout.split("\n\n")[0].splitlines()[2:]  # header, rule, then one row per account
    assert "Open http://" in done.stdout
    return {row.split()[0]: row.split()[1] for row in table}


@pytest.fixture(scope="session")
def hub(settings: dict[str, str], passwords: dict[str, str], lab_root: Path) -> Iterator[RunningHub]:
    """The session's hub, on free loopback ports."""
    values = {**settings, "LAB_HUB_PORT": str(free_port()), "LAB_HUB_INTERNAL_PORT": str(free_port()),
              "LAB_HUB_PROXY_API_PORT": str(free_port()), "LAB_HUB_VAULT_PORT": str(free_port())}
    running = start_hub(values, lab_root / "hub.log")
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
