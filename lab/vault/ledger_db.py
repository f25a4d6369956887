"""The only place where SQLite and PostgreSQL differ for the ledger: engines and locking.

- **SQLite**: WAL journal (readers never wait for the writer), foreign keys on, a busy
  timeout, and every check-and-charge inside ``BEGIN IMMEDIATE``, which takes the
  database's single write lock before the first read, so no two charges can interleave.
  Python's sqlite3 module would otherwise start its own deferred transactions; the engine
  turns that off and issues BEGIN itself (the recipe in SQLAlchemy's SQLite dialect
  documentation). Writers first queue on an advisory ``flock`` of ``<ledger>.lock``:
  SQLite's own busy handler polls with sleeps of up to 100 ms, which under dozens of
  concurrent kernels leaves the write lock idle most of the time and starves some
  writers; the kernel's lock hands over at once. ``BEGIN IMMEDIATE`` stays the guarantee.
  Commits are ``synchronous=FULL`` (a charge survives a power cut) except outcomes, which
  use NORMAL: losing an outcome in a power cut leaves the reservation ``kept``, which is
  the safe reading, and the next durable commit persists it anyway.
- **PostgreSQL**: READ COMMITTED, with ``SELECT ... FOR UPDATE`` on the budget rows a charge
  touches (SQLAlchemy renders nothing for it on SQLite), locked in id order so that
  transactions cannot deadlock; a deadlock or serialization failure is retried anyway.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

_WRITE = "lab_ledger_write"
_RELAXED = "lab_ledger_relaxed"
#: SQLSTATEs after which PostgreSQL asks the client to run the transaction again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def make_engine(url: str, *, busy_timeout: float = 30.0, pool_size: int = 5, max_overflow: int = 40) -> Engine:
    """An engine for the ledger at ``url``, set up for safe concurrent check-and-charge.

    Args:
        url: a SQLAlchemy URL: ``sqlite:///path/ledger.sqlite`` or
            ``postgresql+psycopg://user:password@host/db``.
        busy_timeout: seconds a writer waits for the SQLite write lock, or for a pooled
            connection, before giving up.
        pool_size: connections kept open (per process).
        max_overflow: extra connections opened under load.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"timeout": busy_timeout}, pool_size=pool_size,
                               max_overflow=max_overflow, pool_timeout=busy_timeout)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(parsed, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=busy_timeout,
                         pool_pre_ping=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


@contextmanager
def write_transaction(engine: Engine, *, durable: bool = True, queue: Path | None = None) -> Iterator[Connection]:
    """A transaction that holds the write locks it needs before it reads anything it checks.

    On SQLite this is ``BEGIN IMMEDIATE``; on PostgreSQL an ordinary transaction whose
    budget reads use ``with_for_update()``. Commits on success, rolls back on any error.

    Args:
        durable: on SQLite, fsync the commit (``synchronous=FULL``); False only for
            writes whose loss in a power cut is safe (outcomes).
        queue: on SQLite, a lock file on which writers queue before ``BEGIN IMMEDIATE``.
    """
    with _queued(queue), engine.connect() as conn:
        conn.execution_options(**{_WRITE: True, _RELAXED: not durable})
        with conn.begin():
            yield conn


def writer_queue(url: str) -> Path | None:
    """The lock file SQLite writers queue on (None for PostgreSQL and in-memory SQLite)."""
    path = sqlite_path(url)
    return None if path is None else path.with_name(path.name + ".lock")


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that sees one consistent snapshot of the ledger."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def insert_ignoring_duplicates(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    """INSERT a row unless one with the same unique key exists (ON CONFLICT DO NOTHING)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(postgresql.insert(table).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        conn.execute(sqlite.insert(table).values(**values).on_conflict_do_nothing())
    else:
        raise NotImplementedError(f"the ledger supports SQLite and PostgreSQL, not {dialect}")


def is_retryable(error: DBAPIError) -> bool:
    """Whether the database asked for the transaction to be run again (deadlock, serialization)."""
    return getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def prepare_database(engine: Engine) -> None:
    """Database-wide settings that persist in the file (SQLite: the WAL journal)."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside any transaction, which the pragma requires
        try:
            cursor = raw.cursor()
            mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            cursor.close()
        finally:
            raw.close()
        if str(mode).lower() != "wal":
            log.warning("The SQLite ledger could not switch to WAL (journal_mode=%r); "
                        "concurrent readers will wait for writers.", mode)


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy's begin event issue BEGIN itself (and BEGIN IMMEDIATE for writes).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    conn.exec_driver_sql("PRAGMA synchronous=NORMAL" if options.get(_RELAXED) else "PRAGMA synchronous=FULL")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE) else "BEGIN")


@contextmanager
def _queued(queue: Path | None) -> Iterator[None]:
    if queue is None:
        yield
        return
    try:
        fd = os.open(queue, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:  # e.g. a read-only directory: fall back on SQLite's busy handler
        log.warning("Cannot open the ledger's writer queue %s (%s); relying on SQLite's busy timeout.", queue, exc)
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when fd closes, or when the process dies
        yield
    finally:
        os.close(fd)
