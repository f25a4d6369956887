"""``PasswordFileAuthenticator``: JupyterHub's login form, checked against per-person passwords.

The embedded hub's default. Who may log in is decided by JupyterHub itself
(``Authenticator.allowed_users``, from the people file); this class only proves that the
person typing is that person. Production hubs use OAuth instead (docs/hub.md).

Two guards (docs/security.md, "Logins and lockout"):

- **Lockout per name and address.** After ``max_failures`` wrong passwords in a row for a
  name from one address, that name is refused *from that address* for ``lockout_seconds``,
  doubling at each further lockout up to ``max_lockout_seconds``. Someone typing wrong
  passwords for another person's name locks out only themselves, and the page says
  what happened and when to try again (HTTP 429), not "wrong password".
- **The people file at each login.** Whoever the file no longer lists cannot log in, even
  before the hub restarts; whoever it newly lists can.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from jupyterhub.auth import Authenticator
from tornado import web
from traitlets import Integer, Unicode

from lab.errors import LabError
from lab.hub.errors import PasswordError
from lab.hub.passwords import check_password
from lab.hub.people import People, load_people


class LockedOut(web.HTTPError):
    """Too many failed logins for this name from this address: the page says so and says when."""

    def __init__(self, seconds: float, *, failures: int = 0) -> None:
        wait = max(1, round(seconds))
        when = f"{wait} seconds" if wait < 120 else f"{round(wait / 60)} minutes"
        super().__init__(429, "login locked for %d s", wait)
        what = (f"Wrong password: {failures} failed logins in a row for this name from your address."
                if failures else "Too many failed logins for this name from your address; the password was not "
                                 "checked.")
        self.jupyterhub_message = (f"{what} Logins for this name are paused from your address: try again in "
                                   f"{when}. (Other addresses are not affected; an administrator can set a new "
                                   "password with `lab hub password NAME`.)")


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
        60, help="""Seconds a name stays refused from an address after `max_failures` failed logins from it
        (0: never). Each further lockout of the same name and address doubles it.""",
    ).tag(config=True)

    max_lockout_seconds = Integer(
        900, help="""The longest a lockout lasts, however many there were (back-off cap).""",
    ).tag(config=True)

    people_file = Unicode(
        "", help="""The people file (policies/hub/people.yaml), re-read at each login: only the people it lists
        now may log in (the last valid version if it is invalid). Empty: `allowed_users` only.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # (name, address) -> (failures in a row, time of the last, lockouts so far, locked until)
        self._failures: dict[tuple[str, str], tuple[int, float, int, float]] = {}
        self._people: People | None = None

    def check_allowed(self, username: str, authentication: Any = None) -> bool:
        """Allowed if the people file lists them now (so removals apply without a restart)."""
        if not self.people_file:
            return super().check_allowed(username, authentication)
        try:
            self._people = load_people(self.people_file)
        except LabError as error:
            self.log.error("The people file is invalid; logins use its last valid version. %s", error.message)
        if self._people is None:
            return super().check_allowed(username, authentication)
        return username in self._people.names

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        """The user's name if the password is theirs, else None (JupyterHub shows "Invalid username or password").

        Raises:
            LockedOut: this name is locked from this address (the page says until when).
        """
        name = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        if not name or not password:
            return None
        address = str(getattr(getattr(handler, "request", None), "remote_ip", "") or "?")
        key = (name, address)
        now = time.monotonic()
        count, last, lockouts, until = self._failures.get(key, (0, 0.0, 0, 0.0))
        if until > now:
            self.log.warning("Login refused for %r from %s: locked for %.0f s more after %d failed attempts",
                             name, address, until - now, count)
            raise LockedOut(until - now)
        try:
            # scrypt takes ~50 ms of CPU: keep it off the hub's event loop.
            ok = await asyncio.to_thread(check_password, Path(self.password_file), name, password)
        except PasswordError as error:
            self.log.error("Cannot check passwords: %s", error.message)
            return None
        if ok:
            self._failures.pop(key, None)
            return name
        if name in self.allowed_users or (self._people is not None and name in self._people.names):
            # Only real names: random ones must not grow this table. A quiet day forgets old failures.
            if now - last > max(self.max_lockout_seconds, self.lockout_seconds) * 2:
                count, lockouts = 0, 0
            count += 1
            if self.lockout_seconds and count >= self.max_failures:
                seconds = min(self.lockout_seconds * 2 ** lockouts, max(self.max_lockout_seconds, self.lockout_seconds))
                self._failures[key] = (0, now, lockouts + 1, now + seconds)
                self.log.warning("Failed login for %r from %s: locked from there for %d s", name, address, seconds)
                raise LockedOut(seconds, failures=count)
            self._failures[key] = (count, now, lockouts, 0.0)
        self.log.warning("Failed login for %r from %s", name, address)
        return None
