"""Start the real vault service (and wait for it) from the tests, and talk to it over HTTP."""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.support.processes import stop

REPO = Path(__file__).resolve().parents[2]
READY = "lab-vault: listening on "


def lab_environ(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its own LAB_* settings, plus ``env``."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("LAB_")}, **env}


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1 (for programs that cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningVault:
    """A vault service subprocess: its base URL, process and log file."""

    url: str
    process: subprocess.Popen[str]
    log: Path

    def client(self, token: str | None) -> Client:
        return Client(self.url, token)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait; kill if it does not stop. Returns the exit code."""
        stop(self.process, timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return int(self.process.returncode)


@contextmanager
def running_vault(args: list[str], env: Mapping[str, str], log: Path, *, timeout: float = 90.0) -> Iterator[RunningVault]:
    """Run ``python -m lab.vault.service ARGS``, wait for its ready line, stop it afterwards."""
    with open(log, "w", encoding="utf-8") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "lab.vault.service", *args], cwd=REPO,
                                   env=lab_environ(env), stdout=subprocess.PIPE, stderr=stderr, text=True)
    vault = RunningVault("", process, log)
    try:
        vault.url = _wait_for_ready(process, log, timeout)
        yield vault
    finally:
        vault.stop()


def _wait_for_ready(process: subprocess.Popen[str], log: Path, timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                line = process.stdout.readline()
                if line.startswith(READY):
                    return line[len(READY):].strip()
                if not line and process.poll() is not None:
                    break
            elif process.poll() is not None:
                break
    process.kill()
    raise RuntimeError(f"the vault service did not become ready (exit {process.poll()}); its log:\n"
                       + log.read_text(encoding="utf-8")[-4000:])


class Client:
    """Requests to one service as one caller (``token`` None: no Authorization header)."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"token {token}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.url + path, params=params, timeout=30)

    def post(self, path: str, body: Any = None, *, data: bytes | str | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        if data is None:
            return self.session.post(self.url + path, json=body, headers=headers, timeout=30)
        return self.session.post(self.url + path, data=data, headers=headers, timeout=60)

    def remaining(self, dataset: str, scope: str = "user") -> str:
        """What is left of one of the caller's budgets (a decimal string)."""
        response = self.get("api/budgets", dataset=dataset)
        response.raise_for_status()
        [budget] = [b for b in response.json()["budgets"] if b["scope"] == scope]
        return str(budget["remaining"])
