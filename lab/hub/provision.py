"""The spawn hook: before each server starts, give its user what their groups allow.

``c.Spawner.pre_spawn_hook = Provisioner(hub, people, policies)``. At every spawn it:

1. re-reads the people file and the dataset policies (so changes show at the next spawn;
   if either is now invalid, it logs every problem and keeps the last valid version:
   nothing is half-applied);
2. sets the user's hub groups to the people file's (``load_groups`` only ever adds), which
   is also what the vault sees;
3. as root: creates the Unix account on first spawn, sets its membership of the lab's
   Unix groups (one per dataset twin and per team), creates team folders;
4. as the user: lays out the home (lab.hub.home): twins, team links, course copies, starter,
   and for each hackathon event of the user's teams its twins and a starter notebook.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pwd
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.hackathon import Event, load_events
from lab.hub import accounts
from lab.hub.access import Access, access_of
from lab.hub.errors import HubError
from lab.hub.host import ensure_team_dir, ensure_twin_dir
from lab.hub.people import ADMINS_GROUP, People, load_people
from lab.hub.settings import NOTEBOOKS_DIR, HubSettings
from lab.policies import load_policies
from lab.policies.model import Policy

log = logging.getLogger(__name__)

#: Copied to ``~/hackathon/<event>-starter.ipynb`` for each event of the user's teams.
HACKATHON_STARTER = NOTEBOOKS_DIR / "hackathon" / "starter.ipynb"


class ProvisioningError(HubError):
    """A user's server could not be prepared. ``jupyterhub_message`` is what the user sees."""

    code = "provisioning_error"
    jupyterhub_message = ("Your server could not be prepared. The lab's administrators can see why in the "
                          "hub's log; please tell them the time.")


class Provisioner:
    """The ``pre_spawn_hook`` of the lab's hub (see the module).

    Args:
        hub: the hub's settings.
        people: the people file as loaded at start (the fallback if it turns invalid).
        policies: the dataset policies as loaded at start (likewise).
    """

    def __init__(self, hub: HubSettings, people: People, policies: Mapping[str, Policy]) -> None:
        self.hub = hub
        self._people = people
        self._policies = dict(policies)
        self._events: dict[str, Event] = {}

    async def __call__(self, spawner: Any) -> None:
        name, hub_log = spawner.user.name, spawner.log  # JupyterHub's logger: these lines go to the hub's log
        people, policies = self.current(hub_log)
        access = access_of(name, people, policies)
        spawner.user.sync_groups(list(access.groups))  # the hub's database: on the event loop's thread
        try:
            done = await asyncio.to_thread(self.prepare, access, policies, hub_log)
        except LabError as error:
            hub_log.error("Cannot prepare %s's server: %s", name, error.message)
            raise ProvisioningError(error.message) from None
        hub_log.info("Prepared %s's server: groups %s, twins %s; home %s", name, ",".join(access.groups) or "-",
                     ",".join(access.twins) or "-", done)

    def current(self, log: logging.Logger | logging.LoggerAdapter = log) -> tuple[People, dict[str, Policy]]:
        """The people file and policies as they are now, or the last valid ones (logged)."""
        try:
            self._people = load_people(self.hub.people_file)
        except LabError as error:
            log.error("The people file is invalid; using the last valid one. %s", error.message)
        try:
            self._policies = load_policies(self.hub.lab.policies_dir)
        except LabError as error:
            log.error("The dataset policies are invalid; using the last valid ones. %s", error.message)
        return self._people, self._policies

    def current_events(self, people: People, policies: Mapping[str, Policy],
                       log: logging.Logger | logging.LoggerAdapter = log) -> dict[str, Event]:
        """The hackathon events (policies/events/) as they are now, or the last valid ones (logged)."""
        teams = people.teams
        try:
            self._events = load_events(self.hub.lab.policies_dir, policies, teams)
        except LabError as error:
            log.error("The hackathon event files are invalid; using the last valid ones. %s", error.message)
        return self._events

    def prepare(self, access: Access, policies: Mapping[str, Policy],
                log: logging.Logger | logging.LoggerAdapter = log) -> dict[str, list[str]]:
        """Accounts, groups and folders as root, then the home as the user (blocking)."""
        hub = self.hub
        for dataset in policies:
            ensure_twin_dir(hub, dataset)
        teams = {team: str(ensure_team_dir(hub, team)) for team in access.teams}
        events = {name: e for name, e in self.current_events(self._people, policies, log).items()
                  if set(e.teams) & set(access.teams)}
        twins = sorted(set(access.twins) | {d for e in events.values() for d in e.datasets if d in policies})
        plan = {
            "twins": {d: str(hub.lab.twins_dir / d) for d in twins if _has_release(hub.lab.twins_dir / d)},
            "teams": teams,
            "courses": {c: str(hub.academy_dir / c) for c in access.cohorts if (hub.academy_dir / c).is_dir()},
            "starter": str(hub.starter_notebook),
            "hackathon": {name: str(HACKATHON_STARTER) for name in events},
            # Trainers (and admins) see nbgrader's grader and assignment editor; others do not.
            "trainer": bool({"trainers", ADMINS_GROUP} & set(access.groups)),
            # The academy's nbgrader exchange (`lab academy cohort create` makes it, mode 1777).
            "nbgrader": ({"exchange": str(hub.lab.root / "academy" / "exchange"), "student_id": access.name}
                         if access.cohorts else None),
        }
        if not hub.isolation:
            home = hub.homes_dir / access.name
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            return _run_home_setup(plan, home, env_user=access.name)
        account = hub.account_of(access.name)
        entry = accounts.ensure_user(account, comment=f"lab hub user {access.name}")
        if entry.pw_dir and (os.stat(entry.pw_dir).st_mode & 0o777) != 0o700:
            log.warning("Home of %s was not private; setting it back to 0700", account)
            os.chmod(entry.pw_dir, 0o700)
        wanted = {hub.twin_group(d) for d in twins} | {hub.team_group(t) for t in access.teams}
        managed = (f"{hub.group_prefix}twin-", f"{hub.group_prefix}team-")
        joined, left = accounts.ensure_memberships(account, wanted, managed)
        if joined or left:
            log.info("Unix groups of %s: joined %s, left %s", account, sorted(joined) or "-", sorted(left) or "-")
        return _run_home_setup(plan, Path(entry.pw_dir), account=entry)


def _has_release(folder: Path) -> bool:
    """A released twin exists (a ``vNNNN`` with its manifest): without SDV's weight of lab.twins."""
    try:
        return any(p.name.startswith("v") and (p / "manifest.json").is_file() for p in folder.iterdir())
    except OSError:
        return False


def _run_home_setup(plan: dict[str, Any], home: Path, *, account: pwd.struct_passwd | None = None,
                    env_user: str | None = None) -> dict[str, list[str]]:
    """Run lab.hub.home as the user (``account``), or as the hub's user without isolation."""
    env = {"HOME": str(home), "PATH": os.defpath, "LANG": "C.UTF-8", "USER": account.pw_name if account else env_user or ""}
    ids: dict[str, Any] = {}
    if account is not None:
        ids = {"user": account.pw_uid, "group": account.pw_gid,
               "extra_groups": os.getgrouplist(account.pw_name, account.pw_gid), "umask": 0o007}
    try:
        done = subprocess.run([sys.executable, "-m", "lab.hub.home"], input=json.dumps(plan), capture_output=True,
                              text=True, timeout=120, cwd=home, env=env, **ids)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HubError(f"cannot lay out {home} ({exc})") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HubError(f"laying out {home} failed: {last}")
    return json.loads(done.stdout or "{}")
