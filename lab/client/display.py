"""The vault's answers as things a notebook shows well: pandas tables and one small summary.

A :class:`QueryResult` is what ``Query.run`` and ``Query.preview`` return. In a notebook
it shows itself as one table (the value and its interval, per group) and one line of
cost: the confidence, the epsilon charged and what remains of your tightest budget. In
code, read ``result.value``, ``result.interval``, ``result.frame`` (a pandas DataFrame),
``result.epsilon`` and ``result.remaining``.

Budgets, history and the catalog are plain pandas DataFrames (see :mod:`lab.client.api`),
with epsilon kept as exact ``Decimal`` values: ten charges of 0.1 add up to exactly 1.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from lab.client.query import Query

BUDGET_COLUMNS = ("dataset", "budget", "scope", "holder", "limit", "spent", "remaining", "frozen")


@dataclass(frozen=True, eq=False)
class QueryResult:
    """One answer from the vault: a DP release from the real data, or an exact twin preview.

    Attributes:
        dataset, statistic, column: what was asked.
        group_by: the columns that key each row (a histogram's column last).
        rows: each row as ``{"key": {column: value}, "value", "lower", "upper"}``.
        confidence: the level of the intervals.
        epsilon: the privacy loss charged (``Decimal``; 0 for a preview).
        private: True for a DP release from the real data, False for a twin preview.
        mechanism: the noise OpenDP added (or that there was none).
        interval_method: how the intervals were found (``opendp``, ``derived``, ``rank``, ``exact``).
        notes: caveats in plain words; read them.
        rank_error: for medians and quantiles, the error bound in rows of rank.
        budgets: your budgets on this dataset after the charge (empty for a preview).
        entry_id: the ledger entry of the charge (``None`` for a preview).
        twin_version: for a preview, the twin it was computed on.
        description: the query in words.
    """

    dataset: str
    statistic: str
    column: str | None
    group_by: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...]
    confidence: float
    epsilon: Decimal
    private: bool
    mechanism: str = ""
    interval_method: str = ""
    notes: tuple[str, ...] = ()
    rank_error: float | None = None
    budgets: tuple[Mapping[str, Any], ...] = ()
    entry_id: int | None = None
    twin_version: str | None = None
    description: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_response(cls, response: Mapping[str, Any], query: Query | None = None) -> QueryResult:
        """Read the JSON of ``api/query`` or ``api/preview`` (see the vault contract)."""
        answer = response.get("answer") or {}
        charge = response.get("charge") or {}
        epsilon = charge.get("epsilon", answer.get("epsilon", "0"))
        private = bool(answer.get("private", response.get("source") != "twin"))
        return cls(
            dataset=str(answer.get("dataset", query.dataset if query else "")),
            statistic=str(answer.get("statistic", query.statistic if query else "")),
            column=answer.get("column"),
            group_by=tuple(answer.get("group_by") or ()),
            rows=tuple(answer.get("rows") or ()),
            confidence=float(answer.get("confidence", query.confidence_level if query else 0.95)),
            epsilon=Decimal(str(epsilon)),
            private=private,
            mechanism=str(answer.get("mechanism", "")),
            interval_method=str(answer.get("interval_method", "")),
            notes=tuple(answer.get("notes") or ()),
            rank_error=answer.get("rank_error"),
            budgets=tuple(response.get("budgets") or ()),
            entry_id=charge.get("entry_id"),
            twin_version=response.get("twin_version"),
            description=query.describe() if query is not None else "",
            raw=dict(response),
        )

    # --- reading it in code ------------------------------------------------------------

    @property
    def value(self) -> float | int | None:
        """The answer's value (ungrouped answers; grouped ones have one per row: see :attr:`frame`)."""
        return self._single()["value"]

    @property
    def interval(self) -> tuple[float | None, float | None]:
        """``(lower, upper)`` of an ungrouped answer at :attr:`confidence` (``None`` where there is none)."""
        row = self._single()
        return (row.get("lower"), row.get("upper"))

    @property
    def frame(self) -> pd.DataFrame:
        """One row per group: the key columns, then ``value``, ``lower``, ``upper``."""
        import pandas as pd

        records = [{**dict(row.get("key") or {}), "value": row.get("value"), "lower": row.get("lower"),
                    "upper": row.get("upper")} for row in self.rows]
        return pd.DataFrame.from_records(records, columns=[*self.group_by, "value", "lower", "upper"])

    def to_pandas(self) -> pd.DataFrame:
        """The same as :attr:`frame`."""
        return self.frame

    @property
    def budget_frame(self) -> pd.DataFrame:
        """Your budgets on this dataset just after this answer's charge."""
        return budgets_frame(self.budgets)

    @property
    def remaining(self) -> Decimal | None:
        """What is left of the tightest budget that applies to you here (``None`` for a preview)."""
        tightest = _tightest(self.budgets)
        return None if tightest is None else Decimal(str(tightest["remaining"]))

    @property
    def remaining_budget(self) -> str | None:
        """Which budget :attr:`remaining` is about, in words."""
        tightest = _tightest(self.budgets)
        return None if tightest is None else budget_label(tightest)

    # --- showing it --------------------------------------------------------------------

    def _title(self) -> str:
        kind = "DP answer" if self.private else f"Twin preview ({self.twin_version or 'latest twin'}, exact, free)"
        what = self.description or f"{self.statistic} of {self.column or 'rows'}"
        return f"{kind} · {self.dataset}: {what}"

    def _cost_items(self) -> list[tuple[str, str]]:
        items = [("confidence", f"{self.confidence:.0%}" if self.private else "— (exact on the twin)")]
        items.append(("ε charged", format_epsilon(self.epsilon)))
        if self.private:
            remaining = self.remaining
            label = self.remaining_budget
            items.append(("ε remaining", "—" if remaining is None else
                          f"{format_epsilon(remaining)} ({label})"))
            if self.mechanism:
                items.append(("noise", self.mechanism))
        else:
            items.append(("ε remaining", "unchanged (previews are free)"))
        return items

    def _display_frame(self) -> pd.DataFrame:
        import pandas as pd

        frame = self.frame
        shown = pd.DataFrame({column: frame[column].map(_format_key) for column in self.group_by})
        shown["value"] = frame["value"].map(format_number)
        if self.private:
            header = f"{self.confidence:.0%} interval"
            if self.interval_method == "rank":
                shown[header] = f"± {self.rank_error:.1f} rows in rank" if self.rank_error is not None else "—"
            else:
                shown[header] = [_format_interval(lo, hi) for lo, hi in zip(frame["lower"], frame["upper"])]
        return shown

    def _notes(self) -> list[str]:
        notes = list(self.notes)
        if self.private and self.statistic == "mean" and any(_missing(row.get("value")) for row in self.rows):
            notes.append("— means no value could be released: the noisy count of rows was not positive "
                         "(too few rows for this epsilon). The interval still holds.")
        return notes

    def __repr__(self) -> str:
        lines = [self._title()]
        lines.append(self._display_frame().to_string(index=False))
        lines.append(" · ".join(f"{name}: {value}" for name, value in self._cost_items()))
        lines += [f"Note: {note}" for note in self._notes()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self._display_frame().to_html(index=False, border=0, classes="lab-result-table", escape=True)
        cost = "".join(f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
                       f"<td style='text-align:left'>{html.escape(value)}</td></tr>"
                       for name, value in self._cost_items())
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self._notes())
        return (
            "<div class='lab-result'>"
            f"<p style='margin:0 0 .4em 0'><b>{html.escape(self._title())}</b></p>"
            f"{table}"
            f"<table class='lab-result-cost' style='margin-top:.4em'>{cost}</table>"
            + (f"<ul style='font-size:smaller;color:#555;margin-top:.4em'>{notes}</ul>" if notes else "")
            + "</div>"
        )

    def _single(self) -> Mapping[str, Any]:
        if self.group_by or len(self.rows) != 1:
            raise ValueError(f"this answer has one value per {', '.join(self.group_by) or 'row'}: "
                             "read result.frame instead")
        return self.rows[0]


def budgets_frame(budgets: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Budgets as a table: dataset, budget (in words), scope, holder, limit, spent, remaining, frozen."""
    import pandas as pd

    records = []
    for item in budgets:
        records.append({
            "dataset": item.get("dataset"), "budget": budget_label(item), "scope": item.get("scope"),
            "holder": item.get("holder"), "limit": as_decimal(item.get("limit")),
            "spent": as_decimal(item.get("spent")), "remaining": as_decimal(item.get("remaining")),
            "frozen": bool(item.get("frozen", False)),
        })
    return pd.DataFrame.from_records(records, columns=list(BUDGET_COLUMNS))


def budget_label(item: Mapping[str, Any]) -> str:
    """A budget in words: every query charges the caller, so a user budget is "your allowance"."""
    scope, holder = item.get("scope"), item.get("holder") or ""
    if scope == "dataset":
        return "the dataset's lifetime budget"
    if scope == "user":
        return "your allowance"
    if scope == "group":
        return f"group '{holder}' allowance"
    return f"{scope} '{holder}'"


def format_epsilon(value: Decimal | str | float | None) -> str:
    """Epsilon as people write it: ``Decimal('0.200000000000')`` → ``'0.2'``.

    >>> format_epsilon(Decimal("0.200000000000"))
    '0.2'
    """
    if value is None:
        return "—"
    amount = Decimal(str(value))
    text = format(amount.normalize(), "f") if amount.is_finite() else str(amount)
    return text


def format_number(value: Any) -> str:
    """A value as a table shows it: thousands separated, a few decimals, ``—`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.2f}"
        return f"{value:.3g}"
    return str(value)


def _format_interval(lower: Any, upper: Any) -> str:
    if _missing(lower) and _missing(upper):
        return "—"
    return f"[{format_number(None if _missing(lower) else lower)}, {format_number(None if _missing(upper) else upper)}]"


def _format_key(value: Any) -> str:
    return "(missing)" if value is None else str(value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def as_decimal(value: Any) -> Decimal | None:
    """An epsilon from JSON (a decimal string) as an exact ``Decimal`` (``None`` stays ``None``)."""
    return None if value is None else Decimal(str(value))


def _tightest(budgets: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    usable = [b for b in budgets if b.get("remaining") is not None]
    if not usable:
        return None
    return min(usable, key=lambda b: Decimal(str(b["remaining"])))


__all__ = ["BUDGET_COLUMNS", "QueryResult", "as_decimal", "budget_label", "budgets_frame", "format_epsilon",
           "format_number"]
