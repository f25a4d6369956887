"""``LabSpawner``: JupyterHub's LocalProcessSpawner, with hub user ``alice`` running as the Unix
account ``jupyter-alice`` (or, in the demo mode without isolation, as the hub's own user).

Why a prefix rather than the bare name: a hub user called ``root`` or ``postgres`` must
never become that system account, and the lab's own accounts (``lab-vault``) and groups
(``lab-twin-*``, ``lab-team-*``) must never collide with a person's. The Littlest
JupyterHub makes the same choice.

Three more things a person must not be able to do to another (docs/security.md):

- **Reach their kernels.** Kernels talk ZeroMQ; on TCP any local account may connect to a
  kernel's ports and subscribe to its IOPub (messages are signed, not encrypted). Servers
  here start kernels with ``transport = "ipc"``: Unix sockets in ``~/.jupyter-run`` (the
  server's ``JUPYTER_RUNTIME_DIR``, mode 0700, in a 0700 home), so no protocol port listens
  (ipykernel's receive-only IOPub pipe for forked children stays on loopback; docs/security.md).
- **Outlive a stop.** ``stop`` ends every process of the person's Unix account, background
  jobs (``nohup``, ``setsid``) included, not only the server's own process.
- **Run as root.** The demo mode without isolation is refused when the hub runs as root.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Bool, Unicode, default

#: Kernels' connection files and IPC sockets, in the home. Short on purpose: a Unix socket's
#: path must fit in 107 bytes (``<home>/.jupyter-run/kernel-<uuid>-ipc-<n>``).
RUNTIME_DIR = ".jupyter-run"
#: Passed to every server: kernels on Unix sockets in the private runtime directory, not on TCP.
KERNEL_ARGS = ("--KernelManager.transport=ipc",)


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
            env.update(USER=self.user.name, HOME=str(self.home), JUPYTER_RUNTIME_DIR=str(self.home / RUNTIME_DIR))
            return env
        entry = pwd.getpwnam(self.account)
        env["USER"] = self.account
        if entry.pw_dir:
            env["HOME"] = entry.pw_dir
            env["JUPYTER_RUNTIME_DIR"] = str(Path(entry.pw_dir) / RUNTIME_DIR)
        if entry.pw_shell:
            env["SHELL"] = entry.pw_shell
        return env

    def get_args(self) -> list[str]:
        return [*super().get_args(), *KERNEL_ARGS]

    async def start(self) -> tuple[str, int]:
        if not self.isolation and os.geteuid() == 0:
            from lab.hub.host import ROOT_WITHOUT_ISOLATION

            raise RuntimeError(ROOT_WITHOUT_ISOLATION)  # never a server running as root
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

    async def stop(self, now: bool = False) -> None:
        """Stop the server, then every process it left behind (see the module)."""
        pid = self.pid
        tree = await asyncio.to_thread(descendants, pid) if pid and not self.isolation else set()
        await super().stop(now=now)
        if self.isolation:
            await asyncio.to_thread(end_account_processes, self.account)
        else:
            await asyncio.to_thread(end_processes, tree)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (from /proc)."""
    children: dict[int, set[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, set()).add(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def end_processes(pids: set[int]) -> None:
    """SIGKILL what is left of ``pids`` (the demo mode's servers all share one account)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def account_processes(uid: int) -> list[int]:
    """Live processes whose real uid is ``uid`` (zombies are already dead: not counted)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines()
                              if ":" in line)
                if int(status["Uid"].split()[0]) == uid and not status["State"].strip().startswith("Z"):
                    found.append(int(entry.name))
            except (OSError, ValueError, KeyError):
                continue
    return found


def end_account_processes(account: str, grace: float = 1.0) -> None:
    """End every process of ``account``: SIGTERM, then SIGKILL after ``grace`` seconds.

    The account belongs to one person and runs only their server, so everything it runs
    descends from that server, however it detached (``nohup``, ``setsid``, double fork).
    The signal is sent by ``kill(-1)`` from a process running as the account: the kernel
    delivers it to all of the account's processes at once, so a forking process cannot
    slip out between a listing and a kill. Never for root or the hub's own account.
    """
    try:
        entry = pwd.getpwnam(account)
    except KeyError:
        return
    if entry.pw_uid in (0, os.getuid()):
        return
    for number, pause in ((signal.SIGTERM, grace), (signal.SIGKILL, 0.2), (signal.SIGKILL, 0.5)):
        if not account_processes(entry.pw_uid):
            return
        try:
            subprocess.run([sys.executable, "-S", "-c", f"import os\ntry: os.kill(-1, {int(number)})\n"
                            "except ProcessLookupError: pass"], user=entry.pw_uid, group=entry.pw_gid,
                           extra_groups=[], env={}, cwd="/", timeout=30, capture_output=True)
        except (OSError, subprocess.SubprocessError):
            pass
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline and account_processes(entry.pw_uid):
            time.sleep(0.05)
