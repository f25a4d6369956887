"""Unix accounts and groups for hub users, with the system's own tools (useradd, gpasswd...).

``ensure_*`` functions are idempotent, like The Littlest JupyterHub's: they look first and
change only what differs, so the spawn hook can call them on every start. They need root.
Calls are serialized in this process, because concurrent spawns would otherwise race for
the lock on /etc/passwd and /etc/group (useradd fails rather than waits).
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path

from lab.hub.errors import AccountError

log = logging.getLogger(__name__)

_lock = threading.RLock()


def ensure_user(account: str, *, comment: str = "", home: Path | None = None, system: bool = False) -> pwd.struct_passwd:
    """Make sure the Unix account exists (with a private group, and a 0700 home for people).

    Args:
        account: the account name.
        comment: the GECOS field (who this is).
        home: the home directory (default: the system's, /home/<account>).
        system: a service account: no home created, no login shell.

    Raises:
        AccountError: useradd failed (the message has its output).
    """
    with _lock:
        try:
            return pwd.getpwnam(account)
        except KeyError:
            pass
        command = ["useradd", "--user-group", "--comment", comment or account]
        if system:
            command += ["--system", "--shell", "/usr/sbin/nologin", "--no-create-home"]
        else:
            command += ["--create-home", "--shell", "/bin/bash"]
        if home is not None:
            command += ["--home-dir", str(home)]
        _run(command + [account], f"create the Unix account {account}")
        entry = pwd.getpwnam(account)
        if not system:
            os.chmod(entry.pw_dir, 0o700)  # nobody else may read a person's home
        log.info("created Unix account %s (uid %d)", account, entry.pw_uid)
        return entry


def ensure_group(group: str) -> grp.struct_group:
    """Make sure the Unix group exists.

    Raises:
        AccountError: groupadd failed.
    """
    with _lock:
        try:
            return grp.getgrnam(group)
        except KeyError:
            pass
        _run(["groupadd", group], f"create the Unix group {group}")
        log.info("created Unix group %s", group)
        return grp.getgrnam(group)


def ensure_memberships(account: str, wanted: Iterable[str], managed_prefixes: tuple[str, ...]) -> tuple[set[str], set[str]]:
    """Make ``account`` a member of exactly the ``wanted`` groups among the lab's managed ones.

    Groups whose names start with one of ``managed_prefixes`` are the lab's; the account's
    other groups (its own private group, any an operator added) are left alone. Missing
    wanted groups are created.

    Returns:
        The groups joined and the groups left.

    Raises:
        AccountError: a system tool failed.
    """
    wanted = set(wanted)
    with _lock:
        current = {g.gr_name for g in grp.getgrall()
                   if g.gr_name.startswith(managed_prefixes) and account in g.gr_mem}
        for group in sorted(wanted - current):
            ensure_group(group)
            _run(["gpasswd", "--add", account, group], f"add {account} to the Unix group {group}")
        for group in sorted(current - wanted):
            _run(["gpasswd", "--delete", account, group], f"remove {account} from the Unix group {group}")
    return wanted - current, current - wanted


def ensure_member(account: str, group: str) -> None:
    """Make sure ``account`` is in ``group`` (created if missing); other members are untouched."""
    with _lock:
        if account not in ensure_group(group).gr_mem:
            _run(["gpasswd", "--add", account, group], f"add {account} to the Unix group {group}")


def remove_user(account: str, *, remove_home: bool = True) -> None:
    """Delete a Unix account (and its home and private group). Missing accounts are fine."""
    with _lock:
        try:
            pwd.getpwnam(account)
        except KeyError:
            return
        _run(["userdel", *(["--remove"] if remove_home else []), account], f"delete the Unix account {account}",
             ok_codes=(0, 12))  # 12: the home could not be removed (already gone)


def remove_group(group: str) -> None:
    """Delete a Unix group. Missing groups are fine."""
    with _lock:
        try:
            grp.getgrnam(group)
        except KeyError:
            return
        _run(["groupdel", group], f"delete the Unix group {group}")


def _run(command: list[str], what: str, ok_codes: tuple[int, ...] = (0,)) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise AccountError(f"cannot {what}: {command[0]} is not installed. Fix: install Debian's 'passwd' "
                           "package (useradd, groupadd, gpasswd).") from None
    except subprocess.TimeoutExpired:
        raise AccountError(f"cannot {what}: {command[0]} did not finish within 60 s (is /etc/passwd locked?)") from None
    if done.returncode not in ok_codes:
        detail = (done.stderr or done.stdout).strip()
        raise AccountError(f"cannot {what}: {' '.join(command[:1])} exited with {done.returncode} ({detail}). "
                           "Fix: run the hub as root; check that the name is free.")
