"""Rules the data obeys: counted, derived, refused in real data, and kept exactly in a twin."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from synth.checks import check_dataset
from synth.errors import DataValidationError, SynthesisError
from synth.pipeline import DatasetInfo, build_twin
from synth.rejection import keep_rules
from synth.rules import (BandsRule, BirthDateRule, ForbiddenRule, ImpliesRule, OrderRule, enforce, violation_mask,
                         violations)
from synth.schema import ColumnSchema, DatasetSchema, TableSchema

BANDS = BandsRule("t", "band", "age", (("young", 16, 39), ("old", 40, 120)))
BIRTH = BirthDateRule("t", "born", "age", dt.date(2025, 3, 31))
ORDER = OrderRule("t", ("start", "end"))
FORBIDDEN = ForbiddenRule("t", (("benefit", "pension"), ("band", "young")))
IMPLIES = ImpliesRule("t", (("disabled", False),), (("condition", None),))


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "age": pd.array([20, 45, 70, None], dtype="Int64"),
        "band": ["young", "young", "old", None],            # row 2 is in the wrong band
        "born": pd.to_datetime(["2004-04-01", "1981-01-01", "1950-01-01", "1990-01-01"]),  # rows 1, 2 disagree
        "start": pd.to_datetime(["2021-01-01", "2022-05-01", "2020-01-01", "2020-01-01"]),
        "end": pd.to_datetime(["2021-06-01", "2022-04-30", None, "2019-12-31"]),  # rows 2 and 4 end first
        "benefit": ["pension", "jobs", "pension", "pension"],
        "disabled": pd.array([False, True, False, True], dtype="boolean"),
        "condition": [None, "sight", "hearing", None],       # row 3: not disabled, yet a condition
    })


@pytest.mark.parametrize("rule, broken", [
    (BANDS, [False, True, False, False]),
    (BIRTH, [False, True, True, False]),
    (ORDER, [False, True, False, True]),
    (FORBIDDEN, [True, False, False, False]),
    (IMPLIES, [False, False, True, False]),
])
def test_each_kind_counts_the_rows_that_break_it(rule, broken):
    assert violation_mask(_frame(), rule).tolist() == broken
    [count] = violations(_frame(), [rule])
    assert (count.kind, count.table, count.count) == (rule.kind, "t", sum(broken))


def test_enforce_derives_bands_and_birth_dates_and_leaves_the_rest():
    frame = _frame()
    fixed = enforce(frame, [BANDS, BIRTH, ORDER], seed=1)
    assert fixed["band"].tolist() == ["young", "old", "old", None]  # no age, no band
    assert [c.count for c in violations(fixed, [BANDS, BIRTH])] == [0, 0]
    assert pd.isna(fixed.loc[3, "age"]) and fixed.loc[3, "born"] == frame.loc[3, "born"]  # nothing to derive from
    pd.testing.assert_frame_equal(fixed[["start", "end"]], frame[["start", "end"]])
    again = enforce(frame, [BANDS, BIRTH], seed=1)
    pd.testing.assert_series_equal(again["born"], fixed["born"])  # seeded


@pytest.mark.parametrize("reference", [dt.date(2025, 3, 31), dt.date(2024, 2, 29), dt.date(2025, 2, 28),
                                       dt.date(2024, 12, 31)])
def test_birth_dates_give_the_age_at_every_boundary(reference):
    rule = BirthDateRule("t", "born", "age", reference)
    ages = np.repeat(np.arange(0, 101), 60)
    frame = pd.DataFrame({"age": ages, "born": pd.Timestamp("2000-01-01")})
    born = enforce(frame, [rule], seed=3)["born"]
    assert violations(pd.DataFrame({"age": ages, "born": born}), [rule])[0].count == 0
    days = (pd.Timestamp(reference) - born).dt.days
    assert born.max() <= pd.Timestamp(reference)
    span = days.groupby(ages).agg(["min", "max"])
    assert (span["max"] - span["min"]).between(300, 366).all()  # spread over the whole year of birth


def test_29_february_birthdays_turn_over_on_1_march_in_common_years():
    rule = BirthDateRule("t", "born", "age", dt.date(2025, 2, 28))
    frame = pd.DataFrame({"age": [24, 25], "born": pd.to_datetime(["2000-02-29", "2000-02-29"])})
    assert violation_mask(frame, rule).tolist() == [False, True]  # not yet 25 on 28 Feb 2025
    on_first_march = BirthDateRule("t", "born", "age", dt.date(2025, 3, 1))
    assert violation_mask(frame, on_first_march).tolist() == [True, False]
    leap_reference = BirthDateRule("t", "born", "age", dt.date(2024, 2, 29))
    derived = enforce(pd.DataFrame({"age": np.full(2000, 1), "born": pd.NaT}).fillna(
        {"born": pd.Timestamp("2000-01-01")}), [leap_reference], seed=0)["born"]
    assert derived.min() == pd.Timestamp("2022-03-01") and derived.max() == pd.Timestamp("2023-02-28")


def _table(rules=()) -> DatasetSchema:
    columns = (
        ColumnSchema("id", "id"),
        ColumnSchema("age", "integer", bounds=(16.0, 100.0)),
        ColumnSchema("benefit", "categorical", categories=("jobs", "pension")),
        ColumnSchema("disabled", "boolean", categories=("False", "True")),
        ColumnSchema("condition", "categorical", categories=("sight", "hearing"), nullable=True),
        ColumnSchema("start", "date", bounds=(dt.date(2015, 1, 1), dt.date(2025, 12, 31))),
        ColumnSchema("end", "date", bounds=(dt.date(2015, 1, 1), dt.date(2025, 12, 31)), nullable=True),
    )
    return DatasetSchema("claims", (TableSchema("claims", columns, primary_key="id"),), rules=tuple(rules))


def _claims(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    disabled = rng.random(rows) < 0.4
    start = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, 2500, rows), unit="D")
    end = start + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
    return pd.DataFrame({
        "id": np.arange(1, rows + 1),
        "age": rng.integers(16, 90, rows),
        "benefit": rng.choice(["jobs", "pension"], rows),
        "disabled": disabled,
        "condition": np.where(disabled, rng.choice(["sight", "hearing"], rows), None),
        "start": start,
        "end": end.where(rng.random(rows) < 0.7),
    })


def test_real_rows_breaking_a_rule_are_refused_with_counts_and_no_values():
    claims = _claims()
    claims.loc[[4, 9, 11], "end"] = claims.loc[[4, 9, 11], "start"] - pd.Timedelta(days=3)
    claims.loc[[7], "condition"] = "sight"
    claims.loc[[7], "disabled"] = False
    rules = [OrderRule("claims", ("start", "end")), ImpliesRule("claims", (("disabled", False),),
                                                                 (("condition", None),))]
    with pytest.raises(DataValidationError) as caught:
        check_dataset({"claims": claims}, _table(rules))
    order, implies = caught.value.violations
    assert (order.table, order.column, order.count, order.rows) == ("claims", "start, end", 3, (5, 10, 12))
    assert "order rule" in order.problem and "`start` ≤ `end`" in order.problem
    assert "correct the data or remove the rule" in order.fix
    assert (implies.column, implies.count) == ("disabled, condition", 1)
    message = caught.value.message
    for value in ("2016", "2017", "2018", "2019", "2020", "2021", "2022", "2023", "2024"):
        assert value not in message  # no dates from the data


def test_rejection_drops_bad_rows_and_tops_up_from_new_draws():
    schema = _table([OrderRule("claims", ("start", "end"))])
    twin = _claims(100, seed=1)
    twin.loc[:29, "end"] = twin.loc[:29, "start"] - pd.Timedelta(days=1)
    draws = []

    def draw(rows, seed):
        draws.append((rows, seed))
        return {"claims": _claims(rows, seed)}

    kept, summary = keep_rules({"claims": twin}, schema, draw, seed=5)
    assert len(kept["claims"]) == 100 and kept["claims"]["id"].tolist() == list(range(1, 101))
    assert violations(kept["claims"], schema.rules)[0].count == 0
    assert draws == [(60, 5 + 104_729)]
    assert summary == [{"rule": "`start` ≤ `end` where present", "kind": "order", "table": "claims",
                        "columns": ["start", "end"], "kept_by": "resampling", "violations": 0, "twin_rows": 100,
                        "rows_resampled": 30, "rows_dropped": 0}]


def test_a_rule_the_model_cannot_meet_names_the_rule_and_suggests_cart():
    schema = _table([ForbiddenRule("claims", (("benefit", "jobs"),))])
    always_jobs = lambda rows, seed: {"claims": _claims(rows, seed).assign(benefit="jobs")}  # noqa: E731
    with pytest.raises(SynthesisError) as caught:
        keep_rules(always_jobs(50, 0), schema, always_jobs, seed=0)
    assert "never `benefit` is jobs" in caught.value.message and "'cart'" in caught.value.message


def test_child_rows_breaking_a_rule_are_dropped_and_parents_keep_the_others():
    people = TableSchema("people", (ColumnSchema("pid", "id"), ColumnSchema("hid", "id"),
                                    ColumnSchema("age", "integer", bounds=(0.0, 100.0)),
                                    ColumnSchema("retired", "boolean")), primary_key="pid")
    homes = TableSchema("homes", (ColumnSchema("hid", "id"), ColumnSchema("rooms", "integer", bounds=(1.0, 9.0))),
                        primary_key="hid")
    from synth.schema import Relationship
    schema = DatasetSchema("census", (homes, people), (Relationship("homes", "hid", "people", "hid"),),
                           rules=(ForbiddenRule("people", (("retired", True),)),))
    twin = {"homes": pd.DataFrame({"hid": [1, 2], "rooms": [3, 4]}),
            "people": pd.DataFrame({"pid": [1, 2, 3], "hid": [1, 1, 2], "age": [40, 80, 30],
                                    "retired": pd.array([False, True, False], dtype="boolean")})}
    kept, summary = keep_rules(twin, schema, lambda rows, seed: pytest.fail("no resampling"), seed=0)
    assert kept["homes"]["hid"].tolist() == [1, 2] and kept["people"]["hid"].tolist() == [1, 2]
    assert summary[0]["kept_by"] == "dropping rows" and summary[0]["rows_dropped"] == 1


def test_built_twin_keeps_order_and_implies_rules_exactly(tmp_path):
    rules = (OrderRule("claims", ("start", "end")),
             ImpliesRule("claims", (("disabled", False),), (("condition", None),)))
    schema = _table(rules)
    from synth.spec import ReleaseGates, SynthesisSpec

    spec = SynthesisSpec(seed=3, evaluation_rows=400)
    gates = ReleaseGates(min_quality=None, max_exact_copy_rate=None, min_dcr_protection=None)
    build = build_twin({"claims": _claims(400)}, schema, spec, gates, release_root=tmp_path / "twins",
                       staging_root=tmp_path / "staging", info=DatasetInfo(title="Claims"), progress=False)
    twin = pd.read_parquet(build.path / "data" / "claims.parquet")
    rows = json.loads((build.path / "manifest.json").read_text())["training_rows"]["claims"]
    assert len(twin) == rows and [c.count for c in violations(twin, rules)] == [0, 0]  # the twin keeps its size
    recorded = build.evaluation.rules
    assert [r["violations"] for r in recorded] == [0, 0] and all(r["twin_rows"] == rows for r in recorded)
    assert sum(r["rows_resampled"] for r in recorded) > 0  # a copula does break them on its own
    assert json.loads((build.path / "evaluation.json").read_text())["rules"] == recorded
    assert f"0 violations in {rows} twin rows" in (build.path / "report.html").read_text()
    card = (build.path / "card.md").read_text()
    assert "## Rules kept" in card and "`start` ≤ `end` where present (table `claims`): 0 violations" in card
    assert dataclasses.asdict(build.evaluation)["rules"] == recorded
