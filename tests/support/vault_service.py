"""The real vault service as a subprocess on loopback, for reliability tests and benchmarks.

A :class:`VaultSite` is a lab root made for one test or benchmark: policy files, the real
data, the ledger (SQLite under the root, or any URL given, such as a throw-away
PostgreSQL database) and the standalone users file. A :class:`VaultService` runs
``python -m lab.vault.service --standalone`` on it, on 127.0.0.1 only, waits for its
``lab-vault: listening on ...`` line, and can stop it (SIGTERM), kill it (SIGKILL, as a
crash or an OOM kill would) and start it again on the same port::

    site = VaultSite(tmp_path)
    site.add_policy("welfare", Path("policies/welfare.yaml").read_text())
    alice = site.add_user("alice", groups=["analysts"])
    with VaultService(site) as service:
        status, body = service.call("POST", "api/query", alice.token, json={...})

Only the process this module started is ever signalled, by its pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
READY = "lab-vault: listening on http://127.0.0.1:{port}/"


class ServiceFailed(RuntimeError):
    """The service did not start, or died; the message carries the end of its log."""


@dataclass(frozen=True)
class VaultUser:
    """A user of the standalone service: the name it charges, and the token that proves it."""

    name: str
    token: str
    groups: tuple[str, ...] = ()
    admin: bool = False


@dataclass
class VaultSite:
    """A lab root for one service: policies, data, twins, ledger and users, all under ``root``.

    Args:
        root: an empty directory (a test's tmp_path).
        ledger_url: the ledger's SQLAlchemy URL; default a SQLite file under ``root``.
    """

    root: Path
    ledger_url: str = ""
    users: dict[str, VaultUser] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        for directory in (self.policies_dir, self.data_dir, self.twins_dir):
            directory.mkdir(parents=True, exist_ok=True)
        if not self.ledger_url:
            self.ledger_url = f"sqlite:///{self.root / 'vault' / 'ledger.sqlite'}"
        # An empty settings file, so that a machine's /etc/lab/lab.toml cannot leak into a test.
        self.config_file.write_text("")
        self._write_users()

    @property
    def policies_dir(self) -> Path:
        return self.root / "policies"

    @property
    def data_dir(self) -> Path:
        return self.root / "vault" / "data"

    @property
    def twins_dir(self) -> Path:
        return self.root / "twins"

    @property
    def users_file(self) -> Path:
        return self.root / "users.json"

    @property
    def config_file(self) -> Path:
        return self.root / "lab.toml"

    def add_policy(self, dataset: str, text: str) -> Path:
        """Write a policy file (YAML text) as ``policies/<dataset>.yaml``."""
        path = self.policies_dir / f"{dataset}.yaml"
        path.write_text(text)
        return path

    def add_user(self, name: str, groups: list[str] | tuple[str, ...] = (), admin: bool = False) -> VaultUser:
        """Give ``name`` a fresh random token in the users file (read by the service when it starts)."""
        user = VaultUser(name=name, token=secrets.token_urlsafe(24), groups=tuple(groups), admin=admin)
        self.users[name] = user
        self._write_users()
        return user

    def environment(self) -> dict[str, str]:
        """The LAB_* variables that point lab.settings.load_settings() at this site."""
        return {"LAB_CONFIG": str(self.config_file), "LAB_ROOT": str(self.root),
                "LAB_POLICIES_DIR": str(self.policies_dir), "LAB_VAULT_DIR": str(self.root / "vault"),
                "LAB_TWINS_DIR": str(self.twins_dir), "LAB_LEDGER_URL": self.ledger_url}

    def _write_users(self) -> None:
        tokens = {u.token: {"name": u.name, "groups": list(u.groups), "admin": u.admin} for u in self.users.values()}
        self.users_file.write_text(json.dumps({"tokens": tokens}, indent=2))
        self.users_file.chmod(0o600)


class VaultService:
    """One standalone vault service process on 127.0.0.1.

    Args:
        site: the lab root it serves.
        port: a fixed port (default: a free one, kept across restarts).
        extra_args: more command-line options for the service.
    """

    def __init__(self, site: VaultSite, port: int | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self.site = site
        self.port = port or free_port()
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> float:
        """Start the service and wait until it listens; returns how long that took, in seconds.

        Raises:
            ServiceFailed: it exited or stayed silent for ``timeout`` seconds.
        """
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the service is already running")
        self.starts += 1
        stdout = self.site.root / f"service-{self.starts}.out"
        stderr = self.site.root / f"service-{self.starts}.log"
        command = [sys.executable, "-m", "lab.vault.service", "--standalone", "--users", str(self.site.users_file),
                   "--host", "127.0.0.1", "--port", str(self.port), *self.extra_args]
        env = {**os.environ, **self.site.environment(), "PYTHONUNBUFFERED": "1"}
        began = time.monotonic()
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=err, start_new_session=True)
        ready = READY.format(port=self.port)
        deadline = began + timeout
        while time.monotonic() < deadline:
            if ready in stdout.read_text(errors="replace"):
                return time.monotonic() - began
            if self.process.poll() is not None:
                raise ServiceFailed(f"the vault service exited with {self.process.returncode} before listening:\n"
                                    f"{self.log_tail()}")
            time.sleep(0.05)
        self.kill()
        raise ServiceFailed(f"the vault service did not listen within {timeout:g} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then wait (SIGKILL after ``timeout``); returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServiceFailed(f"the vault service ignored SIGTERM for {timeout:g} s:\n{self.log_tail()}") from None

    def kill(self) -> None:
        """SIGKILL the service (no cleanup of any kind runs) and reap it."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def restart(self) -> float:
        self.stop()
        return self.start()

    def __enter__(self) -> VaultService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.kill()
            self._session.close()

    def log_tail(self, lines: int = 40) -> str:
        """The end of the current run's stderr (the service's log)."""
        path = self.site.root / f"service-{self.starts}.log"
        with contextlib.suppress(OSError):
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    # -- HTTP ------------------------------------------------------------------------------------

    def call(self, method: str, path: str, token: str | None = None, *, json: Any = None,
             data: bytes | str | None = None, headers: dict[str, str] | None = None,
             session: requests.Session | None = None, timeout: float = 60.0) -> tuple[int, Any]:
        """One request; returns (status, decoded JSON body or None if the body is not JSON)."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"token {token}"
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        response = (session or self._session).request(method, self.url + path, json=json, data=data, headers=sent,
                                                      timeout=timeout)
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
