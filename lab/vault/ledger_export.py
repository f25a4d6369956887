"""Writing and reading ledger exports (CSV for spreadsheets, versioned JSON for tools).

Both carry the same fields as ``Entry.to_dict``; in CSV the nested fields (groups,
description, totals) are JSON text in their cells. Reading an export gives back the same
``Entry`` values, so an audit can be re-checked away from the vault.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable
from typing import IO, Any

from lab.vault.errors import LedgerError
from lab.vault.ledger_records import Entry

EXPORT_FORMAT = "lab-privacy-ledger"
EXPORT_VERSION = 1
CSV_COLUMNS = ("id", "at", "action", "actor", "dataset", "kind", "epsilon", "groups", "description",
               "reservation_id", "status", "totals")
_JSON_CELLS = ("groups", "description", "totals")


def write_json(entries: Iterable[Entry], fp: IO[str], *, exported_at: dt.datetime) -> int:
    """Write entries as one versioned JSON document; returns how many were written."""
    rows = [entry.to_dict() for entry in entries]
    json.dump({"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": exported_at.isoformat(),
               "entries": rows}, fp, indent=1, ensure_ascii=False)
    fp.write("\n")
    return len(rows)


def write_csv(entries: Iterable[Entry], fp: IO[str]) -> int:
    """Write entries as CSV with a header row; returns how many were written."""
    writer = csv.DictWriter(fp, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for entry in entries:
        row: dict[str, Any] = entry.to_dict()
        for name in _JSON_CELLS:
            row[name] = json.dumps(row[name], sort_keys=True, ensure_ascii=False)
        row["kind"] = row["kind"] or ""
        row["status"] = row["status"] or ""
        row["reservation_id"] = "" if row["reservation_id"] is None else row["reservation_id"]
        writer.writerow(row)
        count += 1
    return count


def read_json(fp: IO[str]) -> list[Entry]:
    """Read a JSON export back into entries.

    Raises:
        LedgerError: the file is not a ledger export of a version this code reads.
    """
    try:
        document = json.load(fp)
    except json.JSONDecodeError as exc:
        raise LedgerError(f"the file is not valid JSON ({exc.msg} at line {exc.lineno}). "
                          "Fix: pass a file written by `lab ledger export --format json`.") from None
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise LedgerError("the file is not a ledger export. Fix: pass a file written by "
                          "`lab ledger export --format json`.")
    if document.get("version") != EXPORT_VERSION:
        raise LedgerError(f"the export has version {document.get('version')!r}; this lab reads version "
                          f"{EXPORT_VERSION}. Fix: read it with the lab version that wrote it.")
    return [Entry.from_dict(row) for row in document["entries"]]


def read_csv(fp: IO[str]) -> list[Entry]:
    """Read a CSV export back into entries.

    Raises:
        LedgerError: the header is not the ledger export's.
    """
    reader = csv.DictReader(fp)
    if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
        raise LedgerError("the CSV does not have a ledger export's columns "
                          f"({', '.join(CSV_COLUMNS)}). Fix: pass a file written by `lab ledger export`.")
    entries = []
    for row in reader:
        data: dict[str, Any] = dict(row)
        for name in _JSON_CELLS:
            data[name] = json.loads(data[name])
        data["kind"] = data["kind"] or None
        data["status"] = data["status"] or None
        data["reservation_id"] = data["reservation_id"] or None
        entries.append(Entry.from_dict(data))
    return entries
