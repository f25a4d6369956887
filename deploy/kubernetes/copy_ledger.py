"""Copy the privacy-loss ledger into a new database, exactly (SQLite to PostgreSQL, for the move to Kubernetes).

    python deploy/kubernetes/copy_ledger.py \\
        --source sqlite:////srv/lab/vault/ledger.sqlite \\
        --target 'postgresql+psycopg://lab_ledger:...@127.0.0.1:5432/lab_ledger'

Why a copy and not ``lab ledger export`` then an import: the lab has no import (the ledger
is append-only, and its running totals are audited line by line), and an export is the
journal for people, without the budget rows. This tool moves the ledger's four tables row
by row, ids included, in one transaction on the target, then proves the result:

1. the source passes the ledger's audit (``lab ledger check``), else nothing is copied;
2. the target gets the ledger's tables (``Ledger.ensure_schema``) and must hold no ledger
   yet: a copy never merges two ledgers;
3. rows go in the order their references need (datasets, budgets, entries, lines) and,
   on PostgreSQL, the id sequences are moved past the copied ids;
4. the target passes the audit, and its journal and budgets equal the source's.

Stop whatever writes the source first (the one-machine hub: ``bash deploy/stop.sh``) and do
not start the vault on the target before the copy: at start it records the policies'
budgets, and the target would no longer be empty. docs/scale-out.md has the sequence.
Exit codes: 0 copied and verified, 1 refused or failed (the message says why; the target's
transaction is rolled back), 2 wrong command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy import Connection, func, select, text
from sqlalchemy.engine import make_url

from lab.errors import LabError
from lab.vault import ledger_db
from lab.vault.ledger import Ledger
from lab.vault.ledger_schema import budgets, datasets, entries, lines, meta

#: In the order their foreign keys need (entries refer to earlier entries: ids ascend).
TABLES = (datasets, budgets, entries, lines)
#: Tables whose integer ids come from a PostgreSQL sequence.
SEQUENCED = (budgets, entries)
BATCH = 1000


class CopyRefused(Exception):
    """The copy cannot be made (or did not verify); the message says why and what to do."""


def copy_ledger(source_url: str, target_url: str) -> dict[str, int]:
    """Copy the ledger at ``source_url`` into the empty ledger database at ``target_url``.

    Returns:
        The number of rows copied per table.

    Raises:
        CopyRefused: the source is missing or fails its audit, the target already holds a
            ledger, the schema versions differ, or the copy does not verify.
        LabError: a database could not be reached (the ledger's own error).
    """
    if make_url(source_url) == make_url(target_url):
        raise CopyRefused("the source and the target are the same database. Fix: give the new database as --target.")
    source_file = ledger_db.sqlite_path(source_url)
    if source_file is not None and not source_file.is_file():
        raise CopyRefused(f"there is no ledger at {source_file}. Fix: give the path of the old ledger.sqlite "
                          "(`lab paths` on the old machine shows it).")
    source, target = Ledger(source_url), Ledger(target_url)
    source_engine, target_engine = ledger_db.make_engine(source_url), ledger_db.make_engine(target_url)
    try:
        problems = source.check_consistency()
        if problems:
            raise CopyRefused("the source ledger fails its audit, so it is not copied: " + "; ".join(problems[:5])
                              + ". Fix: run `lab ledger check` on the old machine and resolve the problems first.")
        target.ensure_schema()
        with ledger_db.read_transaction(source_engine) as reading:
            source_meta = _meta(reading)
            with ledger_db.write_transaction(target_engine) as writing:
                _check_target(writing, source_meta)
                counts = {table.name: _copy_table(reading, writing, table) for table in TABLES}
                if writing.dialect.name == "postgresql":
                    for table in SEQUENCED:
                        _move_sequence(writing, table.name)
        _verify(source, target)
        return counts
    finally:
        for engine in (source_engine, target_engine):
            engine.dispose()
        source.close()
        target.close()


def _meta(conn: Connection) -> dict[str, str]:
    return {row.key: row.value for row in conn.execute(select(meta))}


def _check_target(conn: Connection, source_meta: dict[str, str]) -> None:
    held = {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one() for table in TABLES}
    if any(held.values()):
        raise CopyRefused("the target already holds a ledger ("
                          + ", ".join(f"{count} rows in {name}" for name, count in held.items() if count)
                          + "); a copy never merges two ledgers. Fix: copy into a new, empty database "
                          "(and keep the vault stopped until the copy is done).")
    target_meta = _meta(conn)
    if source_meta.get("schema_version") != target_meta.get("schema_version"):
        raise CopyRefused(f"the source ledger has schema version {source_meta.get('schema_version')} and this lab "
                          f"writes {target_meta.get('schema_version')}. Fix: run the copy with the lab version "
                          "that wrote the source.")


def _copy_table(reading: Connection, writing: Connection, table) -> int:  # noqa: ANN001 - a sqlalchemy Table
    rows = reading.execute(select(table).order_by(*table.primary_key.columns)).mappings()
    copied = 0
    while batch := [dict(row) for row in rows.fetchmany(BATCH)]:
        writing.execute(table.insert(), batch)
        copied += len(batch)
    return copied


def _move_sequence(conn: Connection, table: str) -> None:
    # The next id after the copied ones (a plain INSERT of explicit ids leaves the sequence at 1).
    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                      f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))


def _verify(source: Ledger, target: Ledger) -> None:
    problems = target.check_consistency()
    if problems:
        raise CopyRefused("the copy fails the ledger's audit: " + "; ".join(problems[:5])
                          + ". Fix: drop and recreate the target database, then copy again; report this.")
    if [e.to_dict() for e in source.history()] != [e.to_dict() for e in target.history()]:
        raise CopyRefused("the copy's journal differs from the source's. Fix: drop and recreate the target "
                          "database, then copy again; report this.")
    if source.budgets() != target.budgets():
        raise CopyRefused("the copy's budgets differ from the source's. Fix: drop and recreate the target "
                          "database, then copy again; report this.")


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="copy_ledger.py", description=__doc__.split("\n\n")[0],
        epilog="The whole procedure: docs/scale-out.md, 'Moving the ledger from SQLite to PostgreSQL'.")
    parser.add_argument("--source", required=True, metavar="URL",
                        help="the ledger to copy, e.g. sqlite:////srv/lab/vault/ledger.sqlite")
    parser.add_argument("--target", required=True, metavar="URL",
                        help="the new, empty database, e.g. postgresql+psycopg://lab_ledger:...@host:5432/lab_ledger")
    args = parser.parse_args(argv)
    try:
        counts = copy_ledger(args.source, args.target)
    except CopyRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    except LabError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    print(f"copied {_shown(args.source)} to {_shown(args.target)}: "
          + ", ".join(f"{count} {name}" for name, count in counts.items())
          + ". The copy passes the ledger's audit; its journal and budgets equal the source's.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
