"""A team's submission, checked against the task's public grid: one prediction per cell id.

Accepted bodies (``POST api/hackathon/<event>/submit``)::

    {"predictions": {"cell-0001": "pip", "cell-0002": "esa", ...}}          # JSON
    {"csv": "id,prediction\\ncell-0001,pip\\ncell-0002,esa\\n..."}            # CSV text

Every problem is about the submission itself (ids and values the team sent, the public
categories), never about data, so the messages may quote them.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from typing import Any

from lab.hackathon.model import Event
from lab.policies.model import ColumnPolicy
from lab.vault.hackathon.errors import BadSubmission

_MAX_QUOTED = 5


def parse_submission(event: Event, target: ColumnPolicy, cell_ids: tuple[str, ...], body: Any) -> list[Any]:
    """The predictions in grid order, or BadSubmission naming every problem (nothing is charged)."""
    raw = _raw_predictions(event, body)
    expected = set(cell_ids)
    missing = [cid for cid in cell_ids if cid not in raw]
    unknown = sorted(str(cid) for cid in raw if cid not in expected)
    problems = []
    if unknown:
        problems.append(f"{len(unknown)} id(s) are not cells of the grid (e.g. {_quote(unknown)})")
    if missing:
        problems.append(f"{len(missing)} cell id(s) have no prediction (e.g. {_quote(missing)})")
    values = []
    bad: list[str] = []
    for cid in cell_ids:
        if cid in raw:
            value, ok = _value(raw[cid], target)
            if not ok:
                bad.append(f"{cid}={raw[cid]!r}")
            values.append(value)
    if bad:
        problems.append(f"{len(bad)} prediction(s) are not {_expected(target)} (e.g. {_quote(bad)})")
    if problems:
        raise BadSubmission(f"the submission has {len(raw)} prediction(s) for a grid of {len(cell_ids)} cells: "
                            + "; ".join(problems) + ". Nothing was charged.")
    return values


def _raw_predictions(event: Event, body: Any) -> Mapping[str, Any]:
    formats = event.task.submission_format
    if isinstance(body, Mapping) and "predictions" in body and "json" in formats:
        predictions = body["predictions"]
        if not isinstance(predictions, Mapping):
            raise BadSubmission("'predictions' must be an object of cell id -> prediction.")
        return {str(k): v for k, v in predictions.items()}
    if isinstance(body, Mapping) and "csv" in body and "csv" in formats:
        return _csv_predictions(body["csv"])
    raise BadSubmission(f"the body must hold one of: {', '.join(_shape(f) for f in formats)}.")


def _csv_predictions(text: Any) -> dict[str, str]:
    if not isinstance(text, str):
        raise BadSubmission("'csv' must be the text of a CSV file with columns id,prediction.")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip() for c in rows[0]] != ["id", "prediction"]:
        raise BadSubmission("the CSV must start with the header line 'id,prediction'.")
    out: dict[str, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise BadSubmission(f"CSV line {number} has {len(row)} fields; each line is id,prediction.")
        if row[0].strip() in out:
            raise BadSubmission(f"CSV line {number}: id {row[0].strip()!r} appears twice; give each id once.")
        out[row[0].strip()] = row[1].strip()
    return out


def _value(value: Any, target: ColumnPolicy) -> tuple[Any, bool]:
    if target.type == "boolean":
        if isinstance(value, bool):
            return value, True
        text = str(value).strip().lower()
        return (text == "true"), text in ("true", "false")
    if target.type == "categorical":
        allowed = {str(c): c for c in target.categories or ()}
        return allowed.get(str(value)), str(value) in allowed
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, False
    return number, math.isfinite(number) and not isinstance(value, bool)


def _expected(target: ColumnPolicy) -> str:
    if target.type == "boolean":
        return "true or false"
    if target.type == "categorical":
        return "one of the target's categories: " + ", ".join(str(c) for c in target.categories or ())
    return "finite numbers"


def _shape(fmt: str) -> str:
    return '{"predictions": {"cell-0001": ..., ...}}' if fmt == "json" else '{"csv": "id,prediction\\n..."}'


def _quote(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_QUOTED])
    return shown + (", ..." if len(items) > _MAX_QUOTED else "")
