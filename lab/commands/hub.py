"""``lab hub``: check the people file, prepare the machine, set passwords, stop the hub.

The hub itself is started by JupyterHub (``jupyterhub -f jupyterhub_config.py``, which
``bash deploy/demo.sh`` runs); these are the operator's tools around it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from lab.commands.output import fail, table
from lab.errors import LabError


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hub`` and its actions to the ``lab`` command."""
    hub = commands.add_parser("hub", help="the multi-user hub: people, passwords, machine set-up, stop",
                              description="Operator tools for the lab's JupyterHub (docs/hub.md). The hub reads "
                                          "policies/hub/people.yaml for people and groups.")
    actions = hub.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate the people file and show who sees and queries what")
    check.set_defaults(handler=run_check)
    prepare = actions.add_parser(
        "prepare", help="create the vault's account, the lab's directories with their owners and modes, secrets",
        description="Idempotent; the hub also does it at every start. Needs root unless isolation is off.")
    prepare.set_defaults(handler=run_prepare)
    password = actions.add_parser("password", help="set a person's password (they log in with it at once)")
    password.add_argument("name", help="a hub user from the people file")
    how = password.add_mutually_exclusive_group()
    how.add_argument("--generate", action="store_true", help="make a random password and print it")
    how.add_argument("--stdin", action="store_true", help="read the password from standard input")
    password.set_defaults(handler=run_password)
    demo = actions.add_parser("demo-accounts", help="give the people file's demo accounts passwords; print them")
    demo.set_defaults(handler=run_demo_accounts)
    status = actions.add_parser("status", help="say whether the hub is running, and where (exit 0: running, 3: not)")
    status.set_defaults(handler=run_status)
    stop = actions.add_parser("stop", help="stop the running hub (its servers, services and proxy stop too)")
    stop.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default: 60)")
    stop.set_defaults(handler=run_stop)


def run_check(args: argparse.Namespace) -> int:
    from lab.hub.access import access_of
    from lab.hub.people import load_people
    from lab.hub.settings import load_hub_settings
    from lab.policies import load_policies

    try:
        hub = load_hub_settings()
        people = load_people(hub.people_file)
        policies = load_policies(hub.lab.policies_dir)
    except LabError as error:
        return fail(error)
    rows = []
    for name in sorted(people.names):
        access = access_of(name, people, policies)
        rows.append([name, hub.account_of(name) if hub.isolation else "(hub's own)", ",".join(access.groups) or "-",
                     ",".join(access.twins) or "-", ",".join(access.queries) or "-",
                     ",".join(access.cohorts + access.teams) or "-"])
    print(f"ok  {hub.people_file}: {len(people.names)} people, {len(people.groups)} groups")
    print(table(rows, ["user", "unix account", "groups", "twins", "may query", "courses/teams"]))
    unknown = sorted({g for p in policies.values() for g in (*p.access.twin_groups, *p.access.query_groups)}
                     - set(people.groups))
    if unknown:
        print(f"note: policies name groups nobody is in: {', '.join(unknown)}")
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from lab.hub.host import prepare_host
    from lab.hub.people import load_people
    from lab.hub.settings import load_hub_settings
    from lab.policies import load_policies

    try:
        hub = load_hub_settings()
        people = load_people(hub.people_file)
        policies = load_policies(hub.lab.policies_dir)
        prepare_host(hub, policies, people.teams)
    except LabError as error:
        return fail(error)
    owner = f"owned by {hub.vault_account}, mode 0700" if hub.isolation else "NOT isolated: demo mode"
    print(f"ok  vault {hub.lab.vault_dir} ({owner}); twins {hub.lab.twins_dir}; hub state {hub.state_dir}")
    return 0


def run_password(args: argparse.Namespace) -> int:
    from lab.hub.passwords import generate_password, set_password
    from lab.hub.people import load_people
    from lab.hub.settings import load_hub_settings

    try:
        hub = load_hub_settings()
        people = load_people(hub.people_file)
    except LabError as error:
        return fail(error)
    if args.name not in people.names:
        print(f"error: '{args.name}' is not in {hub.people_file}. Fix: add them to a group there (or to 'users'), "
              "then restart the hub.", file=sys.stderr)
        return 1
    if args.generate:
        password = generate_password()
    elif args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"New password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            print("error: the two passwords differ; nothing was changed.", file=sys.stderr)
            return 1
    try:
        set_password(hub.state_dir / "passwords.json", args.name, password)
    except LabError as error:
        return fail(error)
    print(f"{args.name}: password set" + (f" to {password}" if args.generate else ""))
    return 0


def run_demo_accounts(args: argparse.Namespace) -> int:
    from lab.hub.demo import ensure_demo_accounts
    from lab.hub.people import load_people
    from lab.hub.settings import load_hub_settings

    try:
        hub = load_hub_settings()
        people = load_people(hub.people_file)
        hub.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        accounts = ensure_demo_accounts(hub.state_dir, people)
    except LabError as error:
        return fail(error)
    # Passwords are shown once, when made, and only on a terminal: never into a file or a log.
    terminal = sys.stdout.isatty()
    file = hub.state_dir / "demo-credentials.json"

    def shown(account: Any) -> str:
        if account.password is None:
            return "(changed by an admin)"
        if account.new and terminal:
            return account.password
        return "(in the file below)" if account.new else "(shown when made)"

    rows = [[a.name, shown(a), ",".join(a.groups) or "-"] for a in accounts]
    print(table(rows, ["user", "password", "groups"]))
    if any(a.new for a in accounts) and not terminal:
        print("\nThe new passwords are not printed: this output is not a terminal (it may be kept in a log).")
    print(f"\nOpen http://{hub.ip}:{hub.port}/ and log in as one of them. Each password is shown once; they are "
          f"kept, readable by root only, in {file} (sudo cat {file}).")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from lab.hub.settings import load_hub_settings

    try:
        hub = load_hub_settings()
    except LabError as error:
        return fail(error)
    pid = _hub_pid(hub.state_dir / "jupyterhub.pid")
    if pid is None:
        print("The hub is not running.")
        return 3
    print(f"The hub is running (pid {pid}) at http://{hub.ip}:{hub.port}/")
    return 0


def run_stop(args: argparse.Namespace) -> int:
    from lab.hub.settings import load_hub_settings

    try:
        hub = load_hub_settings()
    except LabError as error:
        return fail(error)
    pid_file = hub.state_dir / "jupyterhub.pid"
    pid = _hub_pid(pid_file)
    if pid is None:
        print(f"The hub is not running (no live hub process in {pid_file}).")
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        print("The hub has just stopped.")
        return 0
    except PermissionError:
        print(f"error: the hub (pid {pid}) belongs to another user. Fix: run as root.", file=sys.stderr)
        return 1
    print(f"Stopping the hub (pid {pid}): users' servers, the vault and the proxy stop with it...")
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print("Stopped.")
            return 0
        time.sleep(0.5)
    print(f"error: the hub (pid {pid}) is still running after {args.timeout:g} s. Fix: look at its log, or "
          f"kill {pid}.", file=sys.stderr)
    return 1


def _hub_pid(pid_file: Path) -> int | None:
    """The pid in JupyterHub's pid file if that process is a live hub (not a reused number)."""
    try:
        pid = int(pid_file.read_text().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return pid if b"jupyterhub" in cmdline.read() else None
    except (OSError, ValueError):
        return None
