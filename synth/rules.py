"""Rules the data obeys (declared in the policy), checked on real rows and kept in every twin.

A synthesizer learns tendencies, not rules: a Gaussian copula happily samples a claim that
ends before it starts. Two kinds of rule can be *derived* from another column, so the twin
gets them by construction (``enforce``): ``bands`` and ``birth_date``. The others (``order``,
``forbidden``, ``implies``) are met by replacing the rows that break them with fresh samples
(synth.rejection). ``violations`` counts what is left, and must be 0 in a twin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synth.schema import BandsRule, BirthDateRule, Conditions, ForbiddenRule, ImpliesRule, OrderRule, Rule

__all__ = ["BandsRule", "BirthDateRule", "ForbiddenRule", "ImpliesRule", "OrderRule", "Rule", "RuleCount",
           "DERIVED_KINDS", "describe", "enforce", "violation_mask", "violations"]

#: Rule kinds the twin meets by overwriting a column from its source, not by resampling.
DERIVED_KINDS = ("bands", "birth_date")


@dataclass(frozen=True)
class RuleCount:
    """How many rows of ``table`` break a rule (described in words)."""

    rule: str
    kind: str
    table: str
    columns: tuple[str, ...]
    count: int


def describe(rule: Rule) -> str:
    """The rule in words, for reports, cards and error messages (policy values only, no data)."""
    if isinstance(rule, BandsRule):
        bands = ", ".join(f"{label}: {_number(lo)}–{_number(hi)}" for label, lo, hi in rule.bands)
        return f"`{rule.column}` is the band of `{rule.source}` ({bands})"
    if isinstance(rule, BirthDateRule):
        return f"`{rule.column}` gives the age in `{rule.source}` on {rule.reference_date.isoformat()}"
    if isinstance(rule, OrderRule):
        return " ≤ ".join(f"`{c}`" for c in rule.columns) + " where present"
    if isinstance(rule, ForbiddenRule):
        return f"never {_conditions(rule.when)}"
    return f"if {_conditions(rule.if_)} then {_conditions(rule.then)}"


def violations(frame: pd.DataFrame, rules: tuple[Rule, ...] | list[Rule]) -> list[RuleCount]:
    """Rows of ``frame`` breaking each rule (one count per rule, zeros included)."""
    return [RuleCount(describe(r), r.kind, r.table, tuple(r.columns), int(violation_mask(frame, r).sum()))
            for r in rules]


def violation_mask(frame: pd.DataFrame, rule: Rule) -> np.ndarray:
    """True for each row that breaks the rule. Missing values break nothing unless the rule names them."""
    if isinstance(rule, BandsRule):
        expected = _band_labels(frame[rule.source], rule)
        actual = frame[rule.column].astype(object).where(frame[rule.column].notna(), None).to_numpy(dtype=object)
        return ~np.asarray(actual == expected, dtype=bool)
    if isinstance(rule, BirthDateRule):
        both = (frame[rule.column].notna() & frame[rule.source].notna()).to_numpy()
        ages = _age_on(frame[rule.column], rule.reference_date)
        wanted = pd.to_numeric(frame[rule.source], errors="coerce").to_numpy(dtype="float64")
        return both & (ages != wanted)
    if isinstance(rule, OrderRule):
        broken = np.zeros(len(frame), dtype=bool)
        for i, left in enumerate(rule.columns):
            for right in rule.columns[i + 1:]:
                broken |= (frame[left] > frame[right]).fillna(False).to_numpy(dtype=bool)
        return broken
    if isinstance(rule, ForbiddenRule):
        return _all_hold(frame, rule.when)
    return _all_hold(frame, rule.if_) & ~_all_hold(frame, rule.then)


def enforce(frame: pd.DataFrame, rules: tuple[Rule, ...] | list[Rule], seed: int) -> pd.DataFrame:
    """The frame with every derivable rule (bands, birth_date) made true by construction.

    The other kinds cannot be derived from one column and are left to synth.rejection.
    """
    out = frame.copy()
    for index, rule in enumerate(rules):
        if isinstance(rule, BandsRule):
            out[rule.column] = pd.Series(_band_labels(out[rule.source], rule), index=out.index, dtype=object)
        elif isinstance(rule, BirthDateRule):
            out[rule.column] = _dates_of_birth(out, rule, np.random.default_rng([seed, index]))
    return out


def _band_labels(source: pd.Series, rule: BandsRule) -> np.ndarray:
    """Each row's band label (None where the source is missing or in no band)."""
    values = pd.to_numeric(source, errors="coerce").to_numpy(dtype="float64")
    labels = np.full(len(values), None, dtype=object)
    for label, lower, upper in reversed(rule.bands):  # the first matching band wins (bands never overlap)
        labels[(values >= lower) & (values <= upper)] = label
    return labels


def _age_on(dates: pd.Series, reference: object) -> np.ndarray:
    """Whole years from each date to ``reference`` (NaN where the date is missing)."""
    born = pd.DatetimeIndex(pd.to_datetime(dates, errors="coerce"))
    ref = pd.Timestamp(reference)
    before_birthday = (born.month > ref.month) | ((born.month == ref.month) & (born.day > ref.day))
    ages = (ref.year - born.year.to_numpy(dtype="float64") - before_birthday).astype("float64")
    return np.where(born.isna(), np.nan, ages)


def _dates_of_birth(frame: pd.DataFrame, rule: BirthDateRule, rng: np.random.Generator) -> pd.Series:
    """A uniform random date of birth giving each row's age on the reference date (rows with both present).

    Born between the day after the reference date ``age + 1`` years earlier and the reference
    date ``age`` years earlier; on a 29 February reference date, non-leap years use the 28th.
    """
    dates = pd.to_datetime(frame[rule.column], errors="coerce").astype("datetime64[ns]")
    ages = pd.to_numeric(frame[rule.source], errors="coerce")
    rows = (dates.notna() & ages.notna()).to_numpy()
    if not rows.any():
        return dates
    age = ages.to_numpy(dtype="float64")[rows].astype(np.int64)
    latest = _years_before(rule.reference_date, age)
    earliest = _years_before(rule.reference_date, age + 1) + np.timedelta64(1, "D")
    span = (latest - earliest).astype("timedelta64[D]").astype(np.int64) + 1
    offset = np.floor(rng.random(len(age)) * span).astype(np.int64)
    out = dates.to_numpy(copy=True)
    out[rows] = (earliest + offset.astype("timedelta64[D]")).astype("datetime64[ns]")
    return pd.Series(out, index=frame.index)


def _years_before(reference: object, years: np.ndarray) -> np.ndarray:
    """The reference date's calendar day ``years`` earlier (29 February → 28th in common years)."""
    ref = pd.Timestamp(reference)
    year = ref.year - years
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    day = np.where((ref.month == 2) & (ref.day == 29) & ~leap, 28, ref.day)
    parts = pd.DataFrame({"year": year, "month": ref.month, "day": day})
    return pd.to_datetime(parts).to_numpy(dtype="datetime64[D]")


def _all_hold(frame: pd.DataFrame, conditions: Conditions) -> np.ndarray:
    held = np.ones(len(frame), dtype=bool)
    for column, value in conditions:
        held &= _holds(frame[column], value)
    return held


def _holds(series: pd.Series, value: object) -> np.ndarray:
    if value is None:
        return series.isna().to_numpy(dtype=bool)
    if isinstance(value, bool):
        return (series == value).fillna(False).to_numpy(dtype=bool)
    return (series.notna() & (series.astype(object) == value)).to_numpy(dtype=bool)


def _conditions(conditions: Conditions) -> str:
    return " and ".join(f"`{c}` is missing" if v is None else f"`{c}` is {str(v).lower() if isinstance(v, bool) else v}"
                        for c, v in conditions)


def _number(value: float) -> str:
    return f"{value:g}"
