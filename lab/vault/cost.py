"""What a preview or a DP query will cost to run, estimated before any data is read.

The vault answers fast only if every request is bounded. The estimate depends on the
validated query and on how many rows the table has; it never reads values. A request
over a limit is refused with :class:`~lab.vault.query_errors.QueryTooCostly`, naming the
limit and how to narrow the request, and nothing is charged.

    cost = estimate(query, rows)       # rows: the twin's (public) or the real table's row count
    check(cost, limits, rows_public=True)

For the real data the row count is not public, so the messages then give the limits and
the fix, never the rows (nor a number from which the rows could be worked out).
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.settings import LabSettings
from lab.vault import query_errors as qe
from lab.vault.query_errors import QueryProblem
from lab.vault.query_spec import ValidatedQuery

#: Values each answer row carries (the estimate, and its interval's two ends).
VALUES_PER_ROW = 3
#: Bytes a touched column takes per row while a plan runs (Polars: 8 for numbers and
#: dates, 1 for booleans, a 16-byte view for strings).
_WIDTH = {"integer": 8, "float": 8, "date": 8, "datetime": 8, "boolean": 1, "categorical": 16}
#: Copies of the touched columns a plan may hold at once (the scan, a cast or clamp, a sort).
_COPIES = 2
#: Bytes per answer row (the key frame, the join, the JSON).
_ROW_BYTES = 512


@dataclass(frozen=True)
class Cost:
    """The estimated cost of running one query.

    Attributes:
        rows: rows scanned (the whole table: filters do not shorten a scan).
        comparisons: row comparisons, ``rows x (1 + filter values)``.
        groups: rows of the answer (one per combination of public keys).
        cells: values in the answer, ``groups x VALUES_PER_ROW``.
        memory_bytes: working memory of the plan.
    """

    rows: int
    comparisons: int
    groups: int
    cells: int
    memory_bytes: int

    def to_dict(self) -> dict[str, int]:
        return {"rows": self.rows, "comparisons": self.comparisons, "groups": self.groups, "cells": self.cells,
                "memory_bytes": self.memory_bytes}


@dataclass(frozen=True)
class CostLimits:
    """The most one request may cost (settings ``vault_max_*``, see docs/vault.md "Limits")."""

    rows: int = 50_000_000
    comparisons: int = 1_000_000_000
    groups: int = 1000
    cells: int = 3000
    memory_bytes: int = 512 * 2**20

    @classmethod
    def from_settings(cls, settings: LabSettings) -> CostLimits:
        return cls(rows=settings.vault_max_rows_scanned, comparisons=settings.vault_max_scan_work,
                   groups=settings.vault_max_groups, cells=settings.vault_max_result_cells,
                   memory_bytes=settings.vault_max_query_memory_mb * 2**20)


def estimate(query: ValidatedQuery, rows: int) -> Cost:
    """The cost of running ``query`` on a table of ``rows`` rows (previews and DP releases alike)."""
    terms = sum(len(f.values) for f in query.filters)
    widths = {f.column: _WIDTH.get(f.column_type, 16) for f in query.filters}
    widths.update({group.column: 16 for group in query.by})
    if query.column is not None:
        widths[query.column] = _WIDTH.get(query.column_type or "", 16)
    groups = query.cells
    per_row = _COPIES * sum(widths.values()) + 1 + (1 if terms else 0)  # columns, a null mask, a filter mask
    return Cost(rows=rows, comparisons=rows * (1 + terms), groups=groups, cells=groups * VALUES_PER_ROW,
                memory_bytes=rows * per_row + groups * _ROW_BYTES)


def check(cost: Cost, limits: CostLimits, *, rows_public: bool) -> None:
    """Refuse a query whose cost is over a limit.

    Args:
        rows_public: the table's row count may be told (a twin's); False for the real data.

    Raises:
        QueryTooCostly: one problem per limit crossed, each naming the limit and the fix.
    """
    problems: list[QueryProblem] = []

    def add(field: str, problem: str, fix: str) -> None:
        problems.append(QueryProblem(qe.QueryTooCostly, field, problem, fix))

    if cost.groups > limits.groups:
        add("group_by", f"the answer would have {cost.groups} groups, over the vault's limit of {limits.groups} "
            "(setting vault_max_groups)", "group by fewer columns, or use fewer bins")
    elif cost.cells > limits.cells:
        add("group_by", f"the answer would hold {cost.cells} values, over the vault's limit of {limits.cells} "
            "(setting vault_max_result_cells)", "group by fewer columns, or use fewer bins")
    if cost.rows > limits.rows:
        told = f"the table has {cost.rows} rows" if rows_public else "the table has more rows than the vault scans"
        add("dataset", f"{told}; the vault scans at most {limits.rows} per request (setting vault_max_rows_scanned)",
            "ask an administrator to raise the limit, or work on a sample of the twin in your notebook")
    elif cost.comparisons > limits.comparisons:
        if rows_public:
            most = max(0, limits.comparisons // max(cost.rows, 1) - 1)
            fix = f"use at most {most} filter values in all on this table ('in' lists count each value)"
        else:
            fix = "use fewer filters and shorter 'in' lists (or group by the column instead of listing its values)"
        add("filters", "the filters would make more row comparisons than the vault's limit of "
            f"{limits.comparisons} per request (setting vault_max_scan_work)", fix)
    if cost.memory_bytes > limits.memory_bytes and not problems:
        mib = -(-cost.memory_bytes // 2**20) if rows_public else None
        told = f"about {mib} MiB" if mib is not None else "more"
        add("filters", f"running it would take {told} of memory; the vault allows "
            f"{limits.memory_bytes // 2**20} MiB per request (setting vault_max_query_memory_mb)",
            "filter and group on fewer columns")
    if problems:
        raise qe.QueryError.from_problems(problems)
