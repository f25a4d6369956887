"""The hub's password file: one scrypt hash per person, readable by root only.

Why per-person passwords: the vault charges privacy loss to whoever is logged in, so a
password must prove one person. (JupyterHub's shared-password authenticator lets anyone
with the password log in as anyone; see docs/hub.md.)

File format (JSON, mode 0600, in the hub's state directory)::

    {"passwords_version": 1, "users": {"alice": "scrypt$16384$8$1$<salt hex>$<hash hex>"}}

Writes are atomic (temporary file, then rename) under a lock, so a login never reads half
a file and two ``lab hub password`` commands never lose each other's change.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab.hub.errors import PasswordError

PASSWORDS_VERSION = 1
MIN_LENGTH = 10
_N, _R, _P = 2**14, 8, 1  # scrypt cost: ~50 ms and 16 MiB per check
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: easy to read aloud


def generate_password() -> str:
    """A random password that is easy to type: three groups of five (about 74 bits).

    >>> len(generate_password())
    17
    """
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(3))


def hash_password(password: str) -> str:
    """The stored form of a password (scrypt with a random salt)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(stored: str | None, password: str) -> bool:
    """True if ``password`` matches ``stored`` (None: no such person; the same work is done)."""
    try:
        kind, n, r, p, salt, expected = (stored or f"scrypt${_N}${_R}${_P}${'0' * 32}${'0' * 128}").split("$")
        digest = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=bytes.fromhex(salt), n=int(n),
                                r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return stored is not None and kind == "scrypt" and hmac.compare_digest(digest.hex(), expected)


def read_passwords(path: Path) -> dict[str, str]:
    """Stored hashes by user name ({} when the file does not exist yet).

    Raises:
        PasswordError: the file exists but cannot be read or is not this format.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise PasswordError(f"{path}: the password file cannot be read ({type(exc).__name__}). Fix: restore it "
                            "from a backup, or delete it and set every password again (lab hub password NAME).") from None
    users = document.get("users") if isinstance(document, dict) else None
    if document.get("passwords_version") != PASSWORDS_VERSION or not isinstance(users, dict):
        raise PasswordError(f"{path}: not a version {PASSWORDS_VERSION} password file. Fix: restore it from a backup.")
    return {str(name): str(value) for name, value in users.items()}


def check_password(path: Path, name: str, password: str) -> bool:
    """True if ``name`` has a password in the file and ``password`` is it."""
    return verify_password(read_passwords(path).get(name), password)


def set_password(path: Path, name: str, password: str) -> None:
    """Store (or replace) ``name``'s password.

    Raises:
        PasswordError: the password is too short, or the file cannot be written.
    """
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the password for {name} has {len(password)} characters; at least {MIN_LENGTH} are "
                            "needed. Fix: choose a longer one, or let `lab hub password NAME --generate` make one.")
    with _locked(path):
        users = read_passwords(path)
        users[name] = hash_password(password)
        _write(path, users)


def remove_password(path: Path, name: str) -> bool:
    """Forget ``name``'s password (they can no longer log in); True if there was one."""
    with _locked(path):
        users = read_passwords(path)
        found = users.pop(name, None) is not None
        if found:
            _write(path, users)
    return found


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _write(path: Path, users: dict[str, str]) -> None:
    text = json.dumps({"passwords_version": PASSWORDS_VERSION, "users": dict(sorted(users.items()))}, indent=1)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:  # mkstemp makes it 0600
            out.write(text + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise PasswordError(f"{path}: cannot write the password file ({exc.strerror}). Fix: run as root.") from None
