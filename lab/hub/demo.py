"""The demo accounts: a random password for each person the people file lists under
``demo_accounts``, printed by ``bash deploy/demo.sh`` so a newcomer can log in at once.

The plain passwords are kept only in one file readable by root (``demo-credentials.json``,
mode 0600, in the hub's 0700 state directory). Each is shown once, on the operator's
terminal, when it is made: running the demo again, or with its output going to a file or
a log rather than a terminal, names that file instead of printing them. A demo password
that an admin changed since (``lab hub password NAME``) is no longer known, and shown as such.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from lab.hub.passwords import generate_password, read_passwords, set_password, verify_password
from lab.hub.people import People

CREDENTIALS_FILE = "demo-credentials.json"
PASSWORDS_FILE = "passwords.json"


@dataclass(frozen=True)
class DemoAccount:
    """One demo account: its name, its password (None: changed since), its groups, whether just made."""

    name: str
    password: str | None
    groups: tuple[str, ...]
    new: bool = False


def ensure_demo_accounts(state_dir: Path, people: People) -> list[DemoAccount]:
    """Give every demo account without a password a new random one; list them all.

    Raises:
        PasswordError: the password file cannot be read or written.
    """
    passwords_file, credentials_file = state_dir / PASSWORDS_FILE, state_dir / CREDENTIALS_FILE
    known = _read_credentials(credentials_file)
    stored = read_passwords(passwords_file)
    accounts = []
    for name in people.demo_accounts:
        new = name not in stored
        if new:
            known[name] = generate_password()
            set_password(passwords_file, name, known[name])
        elif name in known and not verify_password(stored[name], known[name]):
            del known[name]  # an admin set another password since
        accounts.append(DemoAccount(name, known.get(name), tuple(people.groups_of(name)), new))
    _write_credentials(credentials_file, {a.name: a.password for a in accounts if a.password})
    return accounts


def _read_credentials(path: Path) -> dict[str, str]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _write_credentials(path: Path, credentials: dict[str, str]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)  # O_CREAT keeps an existing file's mode: start afresh
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(credentials, out, indent=1)
    os.replace(temporary, path)
