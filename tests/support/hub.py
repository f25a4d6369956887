"""Start the real hub (``jupyterhub -f jupyterhub_config.py``) from the tests, wait for it, stop it.

The hub runs as root with isolation on, like the embedded default, but with everything
that could collide with a real installation moved aside: its own lab root, ports, state
directory, and a run-specific prefix for every Unix account and group it creates
(``labt1a2b-alice``, ``labt1a2b-twin-welfare``, ``labt1a2b-vault``), which
:func:`remove_accounts` deletes afterwards.
"""

from __future__ import annotations

import grp
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from lab.hub import accounts

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (JupyterHub cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hub_environ(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without any LAB_* of its own, plus ``settings``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LAB_")}, **settings}


@dataclass
class RunningHub:
    """A hub subprocess: its public URL, settings (LAB_* variables), process and log."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (the hub stops its servers, services and proxy), then wait; kill if stuck."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def start_hub(settings: dict[str, str], log: Path, timeout: float = 120.0) -> RunningHub:
    """Start the hub with these LAB_* settings; return once the hub and its vault answer."""
    env = hub_environ(settings)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(REPO / "jupyterhub_config.py")],
            cwd=settings["LAB_HUB_STATE_DIR"] if "LAB_HUB_STATE_DIR" in settings else "/", env=env, stdout=out,
            stderr=subprocess.STDOUT,
            # JupyterHub stops its services with SIGINT: make sure they do not inherit an ignored one.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    hub = RunningHub(f"http://127.0.0.1:{settings['LAB_HUB_PORT']}/", settings, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited with {process.returncode}; its log:\n{hub.log_tail()}")
        try:
            if requests.get(hub.url + "services/vault/api/health", timeout=2).status_code == 200:
                return hub
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    hub.stop()
    raise RuntimeError(f"the hub did not come up within {timeout:g} s; its log:\n{hub.log_tail()}")


def processes_of(uid: int) -> list[int]:
    """Process ids owned by ``uid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except FileNotFoundError:
                continue
    return found


def remove_accounts(prefix: str) -> None:
    """Delete every Unix account and group named ``<prefix>...`` (a test run's own)."""
    for entry in pwd.getpwall():
        if entry.pw_name.startswith(prefix):
            for pid in processes_of(entry.pw_uid):  # servers the hub failed to stop
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
            accounts.remove_user(entry.pw_name, remove_home=entry.pw_dir.startswith("/home/"))
    for group in grp.getgrall():
        if group.gr_name.startswith(prefix):
            accounts.remove_group(group.gr_name)
