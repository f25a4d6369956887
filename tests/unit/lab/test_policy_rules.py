"""Policy rules (bands, birth_date, order, forbidden, implies): parsed strictly, checked across keys,
translated for the pipeline; and datetime bounds with a time of day."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from lab.errors import PolicyError
from lab.policies import dataset_schema, load_policy
from synth.schema import BandsRule, BirthDateRule, ImpliesRule, OrderRule

POLICY = textwrap.dedent("""
    policy_version: 1
    dataset: claims
    title: Benefit claims
    owner: Benefits data owner
    tables:
      claims:
        path: claims/claims.csv
        primary_key: claim_id
        columns:
          claim_id: {type: id}
          date_of_birth: {type: date, identifier: fake, fake_as: date_of_birth}
          age: {type: integer, bounds: [16, 100]}
          age_band: {type: categorical, categories: ["16-39", "40-100"]}
          benefit: {type: categorical, categories: [jobs, pension]}
          disabled: {type: boolean}
          condition: {type: categorical, categories: [sight, hearing], nullable: true}
          start: {type: date, bounds: [2015-01-01, 2025-12-31]}
          end: {type: date, bounds: [2015-01-01, 2025-12-31], nullable: true}
          seen_at: {type: datetime, bounds: [2015-01-01T08:30:00, 2025-12-31T17:45:00]}
    budgets: {dataset_epsilon: 10, user_epsilon: 1, query_epsilon_max: 0.5}
""")

RULES = textwrap.dedent("""
    rules:
      - kind: bands
        column: age_band
        from: age
        bands: {"16-39": [16, 39], "40-100": [40, 100]}
      - {kind: birth_date, column: date_of_birth, from: age, reference_date: 2025-03-31}
      - {kind: order, columns: [start, end]}
      - {kind: forbidden, when: {benefit: pension, age_band: "16-39"}}
      - {kind: implies, if: {disabled: false}, then: {condition: null}}
""")


def _load(tmp_path: Path, text: str):
    path = tmp_path / "claims.yaml"
    path.write_text(text)
    return load_policy(path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        _load(tmp_path, text)
    return [p.describe() for p in caught.value.problems]


def test_rules_parse_and_reach_the_pipeline_schema(tmp_path):
    schema = dataset_schema(_load(tmp_path, POLICY + RULES))
    bands, birth, order, forbidden, implies = schema.rules
    assert bands == BandsRule("claims", "age_band", "age", (("16-39", 16.0, 39.0), ("40-100", 40.0, 100.0)))
    assert birth == BirthDateRule("claims", "date_of_birth", "age", dt.date(2025, 3, 31))
    assert order == OrderRule("claims", ("start", "end"))
    assert forbidden.when == (("benefit", "pension"), ("age_band", "16-39"))
    assert implies == ImpliesRule("claims", (("disabled", False),), (("condition", None),))
    assert schema.rules_for("claims") == schema.rules


def test_a_typo_in_a_rule_names_the_rule_and_suggests_the_key(tmp_path):
    problems = _problems(tmp_path, POLICY + "rules:\n  - {kind: bands, column: age_band, form: age, bands: {a: [1, 2]}}"
                                            "\n  - {kind: sorted, columns: [start, end]}\n")
    assert any("rules[0].form: unknown key 'form'. Fix: did you mean 'from'?" in p for p in problems)
    assert any("rules[0].from: this key is required" in p for p in problems)
    assert any("rules[1]: 'sorted' is not a kind of rule. Fix: set kind to one of: bands, birth_date" in p
               for p in problems)


def test_cross_key_problems_are_all_reported_with_their_keys(tmp_path):
    rules = textwrap.dedent("""
        rules:
          - {kind: order, table: payments, columns: [start, end]}
          - {kind: bands, column: age_band, from: age, bands: {"16-39": [16, 45], "40-plus": [40, 100]}}
          - {kind: order, columns: [start, ended]}
          - {kind: order, columns: [age, start]}
          - {kind: birth_date, column: start, from: benefit, reference_date: 2025-03-31}
          - {kind: forbidden, when: {benefit: retired}}
          - {kind: implies, if: {disabled: maybe}, then: {benefit: null}}
          - {kind: bands, column: age_band, from: age, bands: {"16-39": [10, 39], "40-100": [40, 100]}}
    """)
    problems = _problems(tmp_path, POLICY + rules)
    expected = [
        "rules[0].table: 'payments' is not a table of this policy",
        "rules[1].bands: the band labels are not exactly the categories of 'age_band' (not categories: 40-plus) "
        "(no band for: 40-100)",
        "rules[1].bands: bands '16-39' and '40-plus' overlap",
        "rules[2].columns: 'ended' is not a column of table 'claims'",
        "rules[3].columns: columns of types integer, date cannot be ordered together. Fix: order numbers with "
        "numbers, or dates with dates",
        "rules[4].from: 'benefit' is categorical; an age in whole years is an integer column",
        "rules[5].when.benefit: 'retired' is not one of the column's categories",
        "rules[6].if.disabled: 'maybe' is not true or false",
        "rules[6].then.benefit: null (missing) but the column may not be missing",
        "rules[7].bands.16-39: the band lies outside the bounds of 'age' (16 to 100)",
    ]
    for text in expected:
        assert any(text in p for p in problems), (text, problems)


def test_datetime_bounds_with_a_time_of_day_are_valid(tmp_path):
    schema = dataset_schema(_load(tmp_path, POLICY))
    assert schema.table("claims").column("seen_at").bounds == (dt.datetime(2015, 1, 1, 8, 30),
                                                                dt.datetime(2025, 12, 31, 17, 45))


@pytest.mark.parametrize("column, expected", [
    # a date and a datetime in one pair used to crash with a TypeError
    ("seen_at: {type: datetime, bounds: [2015-01-01, 2025-12-31T17:45:00]}", None),
    ("seen_at: {type: datetime, bounds: [2025-12-31T17:45:00, 2015-01-01]}",
     "seen_at.bounds: the lower bound is not below the upper bound"),
    ("seen_at: {type: date, bounds: [2015-01-01, 2025-12-31T17:45:00]}",
     "seen_at.bounds: a date column's bound carries a time of day. Fix: write dates such as 2020-01-31"),
    ("seen_at: {type: datetime, bounds: [2015-01-01T08:00:00Z, 2025-12-31T17:45:00]}",
     "seen_at.bounds: a bound carries a time zone"),
])
def test_mixed_date_and_datetime_bounds_get_a_clear_message(tmp_path, column, expected):
    text = POLICY.replace("seen_at: {type: datetime, bounds: [2015-01-01T08:30:00, 2025-12-31T17:45:00]}", column)
    if expected is None:
        assert dataset_schema(_load(tmp_path, text)).table("claims").column("seen_at").bounds == (
            dt.datetime(2015, 1, 1), dt.datetime(2025, 12, 31, 17, 45))
    else:
        assert any(expected in p for p in _problems(tmp_path, text))
