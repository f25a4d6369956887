"""Throw-away PostgreSQL servers for tests and benchmarks.

``running_postgres()`` runs ``initdb`` into a temporary directory, starts the server with
``pg_ctl`` on a free port of 127.0.0.1 only (its Unix socket also inside the temporary
directory), creates a database, yields its SQLAlchemy URL, and on exit stops the server
and deletes everything. PostgreSQL refuses to run as root, so under root the server runs
as Debian's ``postgres`` account (``runuser -u postgres``), which owns the directory.
Connections use a random password (scram-sha-256), so other local users cannot reach it.

    with running_postgres() as url:
        ledger = Ledger(url)

``deploy/ensure-postgres.sh`` installs the server binaries.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

SERVER_ACCOUNT = "postgres"
_ADMIN = "lab"
_START_ATTEMPTS = 3


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or the server would not start."""


def find_pg_bin() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest version.

    Raises:
        PostgresUnavailable: PostgreSQL's server binaries are not installed.
    """
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0, reverse=True)
    for pg_ctl in versions:
        if Path(pg_ctl).with_name("initdb").exists():
            return Path(pg_ctl).parent
    raise PostgresUnavailable("PostgreSQL's server (initdb, pg_ctl) is not installed. "
                              "Fix: run `bash deploy/ensure-postgres.sh` as root.")


class PostgresServer:
    """One throw-away PostgreSQL server in a temporary directory.

    Args:
        durable: keep PostgreSQL's fsync on (benchmarks); tests turn it off for speed.
        bin_dir: where initdb and pg_ctl are (default: ``find_pg_bin()``).
    """

    def __init__(self, *, durable: bool = False, bin_dir: Path | None = None) -> None:
        self.durable = durable
        self.bin_dir = bin_dir or find_pg_bin()
        self.password = secrets.token_urlsafe(18)
        self.port: int | None = None
        self.directory: Path | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """initdb, then start the server on a free port (retrying if another process takes it)."""
        self.directory = Path(tempfile.mkdtemp(prefix="lab-pg-"))
        try:
            self._chown(self.directory)
            self._initdb()
            for attempt in range(1, _START_ATTEMPTS + 1):
                self.port = _free_port()
                if self._pg_ctl_start():
                    return
                if attempt == _START_ATTEMPTS:
                    raise PostgresUnavailable(f"PostgreSQL would not start; its log says:\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory. Safe to call twice."""
        if self.directory is None:
            return
        data = self.directory / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(self._as_server([str(self.bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                                            "-t", "30", "stop"]),
                           cwd=self.directory, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases --------------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its SQLAlchemy URL (``postgresql+psycopg://``)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(host="127.0.0.1", port=self.port, user=_ADMIN, password=self.password,
                             dbname="postgres", autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://{_ADMIN}:{self.password}@127.0.0.1:{self.port}/{database}"

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for error messages."""
        if self.directory is None:
            return "(no log)"
        try:
            return "\n".join((self.directory / "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- internals --------------------------------------------------------------------------

    def _initdb(self) -> None:
        assert self.directory is not None
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self._chown(pwfile)
        self._run([str(self.bin_dir / "initdb"), "-D", str(self.directory / "data"), "-U", _ADMIN,
                   f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"],
                  "initdb")
        pwfile.unlink()

    def _pg_ctl_start(self) -> bool:
        assert self.directory is not None
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.directory} "
                   "-c max_connections=200 -c shared_buffers=64MB")
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        result = subprocess.run(
            self._as_server([str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"),
                             "-l", str(self.directory / "server.log"), "-w", "-t", "60", "-o", options, "start"]),
            cwd=self.directory, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return _wait_for_port(self.port, 10.0)
        return False

    def _run(self, command: list[str], what: str) -> None:
        result = subprocess.run(self._as_server(command), cwd=self.directory, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{what} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")

    def _as_server(self, command: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return command
        return ["runuser", "-u", SERVER_ACCOUNT, "--", *command]

    def _chown(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        try:
            account = pwd.getpwnam(SERVER_ACCOUNT)
        except KeyError:
            raise PostgresUnavailable(f"PostgreSQL cannot run as root, and there is no '{SERVER_ACCOUNT}' account "
                                      "to run it as. Fix: run `bash deploy/ensure-postgres.sh`.") from None
        os.chown(path, account.pw_uid, account.pw_gid)


@contextlib.contextmanager
def running_postgres(database: str = "lab_test", *, durable: bool = False) -> Iterator[str]:
    """Start a throw-away server, create ``database``, yield its URL; stop and delete on exit."""
    with PostgresServer(durable=durable) as server:
        yield server.create_database(database)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        time.sleep(0.05)
    return False
