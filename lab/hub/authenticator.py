"""``PasswordFileAuthenticator``: JupyterHub's login form, checked against per-person passwords.

The embedded hub's default. Who may log in is decided by JupyterHub itself
(``Authenticator.allowed_users``, from the people file); this class only proves that the
person typing is that person. Production hubs use OAuth instead (docs/hub.md).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from jupyterhub.auth import Authenticator
from traitlets import Integer, Unicode

from lab.hub.errors import PasswordError
from lab.hub.passwords import check_password


class PasswordFileAuthenticator(Authenticator):
    """Log in with a user name and that person's own password (``lab hub password NAME`` sets it).

    Enable with::

        c.JupyterHub.authenticator_class = PasswordFileAuthenticator
        c.PasswordFileAuthenticator.password_file = "/srv/lab/hub/passwords.json"
    """

    password_file = Unicode(
        help="""JSON file of scrypt password hashes (lab.hub.passwords), readable by root only.

        Read at every login, so `lab hub password NAME` takes effect without a restart.""",
    ).tag(config=True)

    max_failures = Integer(
        5, help="""Failed logins in a row after which a user name is refused for `lockout_seconds`.""",
    ).tag(config=True)

    lockout_seconds = Integer(
        60, help="""Seconds a user name stays refused after `max_failures` failed logins (0: never).""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._failures: dict[str, tuple[int, float]] = {}

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        """The user's name if the password is theirs, else None (JupyterHub shows "Invalid username or password")."""
        name = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        if not name or not password:
            return None
        count, since = self._failures.get(name, (0, 0.0))
        if self.lockout_seconds and count >= self.max_failures and time.monotonic() - since < self.lockout_seconds:
            self.log.warning("Login refused for %r: %d failed attempts, locked for %d s", name, count,
                             self.lockout_seconds)
            return None
        try:
            # scrypt takes ~50 ms of CPU: keep it off the hub's event loop.
            ok = await asyncio.to_thread(check_password, Path(self.password_file), name, password)
        except PasswordError as error:
            self.log.error("Cannot check passwords: %s", error.message)
            return None
        if not ok:
            if name in self.allowed_users:  # only real names: random ones must not grow this table
                self._failures[name] = (count + 1, time.monotonic())
            self.log.warning("Failed login for %r", name)
            return None
        self._failures.pop(name, None)
        return name
