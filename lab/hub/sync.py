"""Keep the hub's groups and users exactly as the people file says: ``python -m lab.hub.sync``.

Why a service of its own: JupyterHub's ``load_groups`` only ever adds members, so a person
taken out of a group in ``policies/hub/people.yaml`` would stay in it, even across restarts,
and the vault (which trusts the hub's groups) would keep answering them. This managed
service (``people-sync`` in jupyterhub_config.py, running as root like the hub) reads the
file when the hub starts and again every ``--every`` seconds (at once on SIGHUP), and
through the hub's REST API:

- sets every group's members to exactly the file's: creates missing groups, removes
  members the file no longer lists, deletes groups the file no longer has;
- deletes from the hub everyone the file no longer lists: JupyterHub stops their server
  first (LabSpawner.stop ends every process of their Unix account), and their API tokens,
  OAuth tokens and login cookies stop working with the user record; their Unix account
  leaves the lab's Unix groups;
- stops the running server of anyone who lost a group, because a running server keeps the
  Unix groups it was started with (and so the twins of datasets no longer theirs); the next
  start gets the new ones.

An invalid file changes nothing: every problem goes to the hub's log, once per version of
the file, and the hub keeps the last valid state.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from lab.errors import LabError
from lab.hub.people import People, load_people

log = logging.getLogger("lab.hub.sync")

#: Seconds between two passes (jupyterhub_config.py passes it; docs/security.md states it).
DEFAULT_EVERY = 5.0


@dataclass
class HubState:
    """What the hub's database says now.

    Attributes:
        users: every hub user and their groups.
        running: users with a default server (running, starting or stopping).
        groups: every hub group and its members.
    """

    users: dict[str, set[str]] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)
    groups: dict[str, set[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncPlan:
    """The changes that make the hub match the people file."""

    delete_users: tuple[str, ...] = ()
    create_groups: tuple[str, ...] = ()
    delete_groups: tuple[str, ...] = ()
    add: dict[str, tuple[str, ...]] = field(default_factory=dict)
    remove: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stop_servers: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.delete_users or self.create_groups or self.delete_groups or self.add or self.remove
                    or self.stop_servers)


def plan_sync(people: People, state: HubState) -> SyncPlan:
    """What to change so the hub's users and groups are exactly the file's.

    >>> from lab.hub.people import GroupSpec
    >>> people = People(Path("p.yaml"), {"staff": GroupSpec(members=["bob"])}, frozenset(), (), frozenset())
    >>> plan = plan_sync(people, HubState({"bob": set(), "eve": {"staff"}}, {"eve"}, {"staff": {"eve"}}))
    >>> plan.delete_users, plan.add, plan.remove
    (('eve',), {'staff': ('bob',)}, {})
    """
    names = people.names
    gone = set(state.users) - names
    wanted = {group: set(spec.members) for group, spec in people.groups.items()}
    add, remove = {}, {}
    for group, members in sorted(wanted.items()):
        current = state.groups.get(group, set()) - gone
        joining = sorted((members & set(state.users)) - current)  # people not yet in the hub join at login
        leaving = sorted(current - members)
        if joining:
            add[group] = tuple(joining)
        if leaving:
            remove[group] = tuple(leaving)
    dropped = sorted(set(state.groups) - set(wanted))
    losers = {name for names_ in remove.values() for name in names_}
    losers |= {name for group in dropped for name in state.groups[group] - gone}
    return SyncPlan(delete_users=tuple(sorted(gone)), create_groups=tuple(sorted(set(wanted) - set(state.groups))),
                    delete_groups=tuple(dropped), add=add, remove=remove,
                    stop_servers=tuple(sorted(losers & state.running)))


class HubClient:
    """The few REST calls the sync needs, with the service's own token."""

    def __init__(self, api_url: str, token: str, timeout: float = 30.0) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"
        self.timeout = timeout

    def call(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 202, 204), **kwargs: Any) -> Any:
        response = self.session.request(method, self.api_url + path, timeout=self.timeout, **kwargs)
        if response.status_code not in ok:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content and response.headers.get("Content-Type", "").startswith(
            "application/json") else None

    def _all(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.call("GET", path, params={"offset": offset, "limit": 200},
                             headers={"Accept": "application/jupyterhub-pagination+json"})
            items += page["items"]
            following = (page.get("_pagination") or {}).get("next")
            if not following:
                return items
            offset = following["offset"]

    def state(self) -> HubState:
        users = self._all("users")
        groups = self._all("groups")
        return HubState(users={u["name"]: set(u.get("groups") or ()) for u in users},
                        running={u["name"] for u in users if "" in (u.get("servers") or {})},
                        groups={g["name"]: set(g.get("users") or ()) for g in groups})

    def apply(self, plan: SyncPlan) -> None:
        for name in plan.delete_users:
            self.call("DELETE", f"users/{name}", ok=(204, 404))
        for group, names in plan.remove.items():
            self.call("DELETE", f"groups/{group}/users", json={"users": list(names)}, ok=(200, 404))
        for group in plan.delete_groups:
            self.call("DELETE", f"groups/{group}", ok=(204, 404))
        for group in plan.create_groups:
            self.call("POST", f"groups/{group}", json={}, ok=(201, 409))
        for group, names in plan.add.items():
            self.call("POST", f"groups/{group}/users", json={"users": list(names)})
        for name in plan.stop_servers:
            self.call("DELETE", f"users/{name}/server", ok=(202, 204, 400))  # 400: already stopped


class PeopleSync:
    """One sync pass after another (see the module).

    Args:
        people_file: the people file.
        client: the hub's REST API.
        account_template: Unix account of a hub user (``None``: no Unix accounts, the demo mode).
        group_prefix: prefix of the lab's Unix groups, which deleted people's accounts leave.
    """

    def __init__(self, people_file: Path, client: HubClient, account_template: str | None = None,
                 group_prefix: str = "lab-") -> None:
        self.people_file = people_file
        self.client = client
        self.account_template = account_template
        self.group_prefix = group_prefix
        self.people: People | None = None
        self._reported: str | None = None

    def read_people(self) -> People | None:
        """The file now, or the last valid version (its problems logged once per version)."""
        try:
            digest = hashlib.sha256(self.people_file.read_bytes()).hexdigest()
        except OSError:
            digest = "unreadable"
        try:
            self.people = load_people(self.people_file)
            self._reported = None
        except LabError as error:
            if digest != self._reported:
                log.error("The people file is invalid; the hub keeps its last valid state. %s", error.message)
                self._reported = digest
        return self.people

    def run_once(self) -> SyncPlan | None:
        people = self.read_people()
        if people is None:
            return None
        plan = plan_sync(people, self.client.state())
        if plan.empty:
            return plan
        log.info("Syncing the hub with %s: deleting users %s; groups +%s -%s; adding %s; removing %s; "
                 "stopping servers of %s", self.people_file, list(plan.delete_users) or "-",
                 list(plan.create_groups) or "-", list(plan.delete_groups) or "-", plan.add or "-",
                 plan.remove or "-", list(plan.stop_servers) or "-")
        self.client.apply(plan)
        self.leave_unix_groups(plan.delete_users)
        return plan

    def leave_unix_groups(self, names: tuple[str, ...]) -> None:
        """Deleted people's Unix accounts leave the lab's groups (twins, team folders) at once."""
        if self.account_template is None or not names or os.geteuid() != 0:
            return
        from lab.hub import accounts

        managed = (f"{self.group_prefix}twin-", f"{self.group_prefix}team-")
        for name in names:
            try:
                accounts.ensure_memberships(self.account_template.format(name=name), set(), managed)
            except LabError as error:
                log.error("Cannot take %s out of the lab's Unix groups: %s", name, error.message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.hub.sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", required=True, type=Path, help="the people file")
    parser.add_argument("--every", type=float, default=DEFAULT_EVERY, help="seconds between passes")
    parser.add_argument("--account-template", help="Unix account of a hub user (omit without isolation)")
    parser.add_argument("--group-prefix", default="lab-")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname).1s %(asctime)s people-sync] %(message)s",
                        stream=sys.stderr)
    api_url, token = os.environ.get("JUPYTERHUB_API_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
    if not api_url or not token:
        print("lab.hub.sync: JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN are missing. Fix: run it as a "
              "JupyterHub managed service (jupyterhub_config.py does).", file=sys.stderr)
        return 2
    sync = PeopleSync(args.people, HubClient(api_url, token), args.account_template, args.group_prefix)
    wake, stop = threading.Event(), threading.Event()
    signal.signal(signal.SIGHUP, lambda *_: wake.set())
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: (stop.set(), wake.set()))
    while not stop.is_set():
        try:
            sync.run_once()
        except (requests.RequestException, RuntimeError) as exc:
            log.error("Sync pass failed (retrying in %g s): %s", args.every, exc)
        wake.wait(args.every)
        wake.clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
