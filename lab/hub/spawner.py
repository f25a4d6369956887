"""``LabSpawner``: JupyterHub's LocalProcessSpawner, with hub user ``alice`` running as the Unix
account ``jupyter-alice`` (or, in the demo mode without isolation, as the hub's own user).

Why a prefix rather than the bare name: a hub user called ``root`` or ``postgres`` must
never become that system account, and the lab's own accounts (``lab-vault``) and groups
(``lab-twin-*``, ``lab-team-*``) must never collide with a person's. The Littlest
JupyterHub makes the same choice.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Bool, Unicode, default


class LabSpawner(LocalProcessSpawner):
    """Start each user's server as a local process under the user's own Unix account."""

    isolation = Bool(
        True,
        help="""Run each user's server under their own Unix account (needs the hub to run as root).

        False is the demo mode: every server runs as the hub's user, so users can read each
        other's files and the vault's. Never use it with real data.""",
    ).tag(config=True)

    account_template = Unicode(
        "jupyter-{name}", help="""The Unix account of a hub user; `{name}` is the hub user name.""",
    ).tag(config=True)

    homes_dir = Unicode(
        help="""Where users' homes are in the demo mode without isolation (one folder per user).""",
    ).tag(config=True)

    @default("popen_kwargs")
    def _default_popen_kwargs(self) -> dict[str, Any]:
        # umask 007: files in a team's setgid folder stay writable by the team, and with
        # Debian's user private groups nothing becomes readable by other accounts.
        return {"umask": 0o007}

    @property
    def account(self) -> str:
        """The Unix account this server runs as (isolation on)."""
        return self.account_template.format(name=self.user.name)

    @property
    def home(self) -> Path:
        """The user's home: their account's, or ``homes_dir/<name>`` without isolation."""
        if self.isolation:
            return Path(pwd.getpwnam(self.account).pw_dir)
        return Path(self.homes_dir) / self.user.name

    def make_preexec_fn(self, name: str) -> Callable[[], None]:
        if self.isolation:
            return set_user_setuid(self.account)
        home = str(self.home)
        return lambda: os.chdir(home)

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        if not self.isolation:
            env.update(USER=self.user.name, HOME=str(self.home))
            return env
        entry = pwd.getpwnam(self.account)
        env["USER"] = self.account
        if entry.pw_dir:
            env["HOME"] = entry.pw_dir
        if entry.pw_shell:
            env["SHELL"] = entry.pw_shell
        return env

    def get_args(self) -> list[str]:
        args = list(super().get_args())
        if not self.isolation and os.geteuid() == 0:
            args.append("--allow-root")  # the demo mode run as root: every server is root's
        return args

    async def start(self) -> tuple[str, int]:
        ip, port = await super().start()
        await self._wait_for_port(ip, port)
        return ip, port

    async def _wait_for_port(self, ip: str, port: int) -> None:
        """Return once the server listens (or its process has ended, or start_timeout passed).

        JupyterHub checks a new server at growing random intervals and so finds it up about
        1.5 s late; polling the port every 50 ms here makes its first check succeed.
        """
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if await self.poll() is not None:
                return  # the process died: JupyterHub's own check reports it
            try:
                _, writer = await asyncio.open_connection(ip or "127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return
