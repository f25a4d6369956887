"""The query builder: immutable, chainable, and its spec is exactly what the vault parses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import lab
from lab.client.errors import BadBounds, BadQuery
from lab.client.query import Query, epsilon_text


def test_the_issue_example_builds_the_vault_spec():
    q = lab.query("welfare").mean("household_income", bounds=(0, 100_000)).where("age", ">=", 66).by("region")
    assert q.to_spec(epsilon=0.2) == {
        "dataset": "welfare", "statistic": "mean", "column": "household_income", "bounds": [0, 100_000],
        "filters": [{"column": "age", "op": ">=", "value": 66}], "group_by": ["region"], "epsilon": "0.2",
        "confidence": 0.95,
    }


def test_each_step_returns_a_new_query_and_leaves_the_old_one_alone():
    base = lab.query("welfare").where("age", ">=", 66)
    spec_before = base.count().to_spec()
    counted = base.count().by("sex")
    mean = base.mean("monthly_award")
    assert base.statistic is None and base.group_by == ()
    assert counted.group_by == ("sex",) and mean.group_by == ()
    assert base.filters == counted.filters == mean.filters
    assert base.count().to_spec() == spec_before
    with pytest.raises(AttributeError):
        base.dataset = "tax"  # type: ignore[misc]


@pytest.mark.parametrize(("build", "expected"), [
    (lambda q: q.count(), {"statistic": "count"}),
    (lambda q: q.count("email"), {"statistic": "count", "column": "email"}),
    (lambda q: q.sum("monthly_award", bounds=(0, 2000)), {"statistic": "sum", "column": "monthly_award",
                                                          "bounds": [0, 2000]}),
    (lambda q: q.mean("monthly_award"), {"statistic": "mean", "column": "monthly_award"}),
    (lambda q: q.median("age", bounds=[16, 100]), {"statistic": "median", "column": "age", "bounds": [16, 100]}),
    (lambda q: q.quantile("age", 0.9), {"statistic": "quantile", "column": "age", "q": 0.9}),
    (lambda q: q.histogram("benefit_type"), {"statistic": "histogram", "column": "benefit_type"}),
    (lambda q: q.histogram("age", [30, 60]), {"statistic": "histogram", "column": "age", "bins": [30, 60]}),
    (lambda q: q.histogram("age", bin_count=5, bounds=(16, 116)),
     {"statistic": "histogram", "column": "age", "bin_count": 5, "bounds": [16, 116]}),
    (lambda q: q.count().table("persons"), {"statistic": "count", "table": "persons"}),
    (lambda q: q.count().confidence(0.9), {"statistic": "count", "confidence": 0.9}),
    (lambda q: q.count().by("region", "sex").by("region"), {"statistic": "count", "group_by": ["region", "sex"]}),
    (lambda q: q.count().by(["region", "sex"]), {"statistic": "count", "group_by": ["region", "sex"]}),
], ids=["count", "count-column", "sum", "mean", "median", "quantile", "histogram-categorical", "histogram-bins",
        "histogram-bin-count", "table", "confidence", "by-dedup", "by-list"])
def test_every_builder_method(build, expected):
    spec = build(Query("welfare")).to_spec(epsilon="0.1")
    assert spec == {"dataset": "welfare", "confidence": 0.95, "epsilon": "0.1", **expected}


def test_a_new_statistic_replaces_the_previous_one_entirely():
    q = Query("welfare").quantile("age", 0.9, bounds=(16, 100)).histogram("benefit_type")
    assert q.to_spec() == {"dataset": "welfare", "statistic": "histogram", "column": "benefit_type",
                           "confidence": 0.95}


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("==", "london", {"op": "==", "value": "london"}),
    ("=", "london", {"op": "==", "value": "london"}),
    ("!=", True, {"op": "!=", "value": True}),
    ("<", 2.5, {"op": "<", "value": 2.5}),
    ("in", ["london", "wales"], {"op": "in", "value": ["london", "wales"]}),
    ("in", ("pip",), {"op": "in", "value": ["pip"]}),
    (">=", dt.date(2024, 1, 31), {"op": ">=", "value": "2024-01-31"}),
])
def test_filters(op, value, expected):
    spec = Query("welfare").count().where("col", op, value).to_spec()
    assert spec["filters"] == [{"column": "col", **expected}]


def test_numpy_scalars_become_plain_json():
    np = pytest.importorskip("numpy")
    spec = Query("welfare").count().where("age", ">", np.int64(66)).where("region", "in", np.array(["wales"])) \
        .to_spec()
    assert spec["filters"] == [{"column": "age", "op": ">", "value": 66},
                               {"column": "region", "op": "in", "value": ["wales"]}]
    assert type(spec["filters"][0]["value"]) is int


@pytest.mark.parametrize(("build", "kind", "words"), [
    (lambda q: q.where("age", "~", 3), BadQuery, "use one of == != < <= > >= in"),
    (lambda q: q.where("region", "==", ["a", "b"]), BadQuery, "where('region', 'in', [...])"),
    (lambda q: q.where("region", "in", "london"), BadQuery, "give a list"),
    (lambda q: q.where("region", "in", []), BadQuery, "at least one value"),
    (lambda q: q.where("age", "==", None), BadQuery, "missing value"),
    (lambda q: q.where("age", ">", float("nan")), BadQuery, "finite"),
    (lambda q: q.mean("x", bounds=(5, 1)), BadBounds, "lower < upper"),
    (lambda q: q.mean("x", bounds=(0,)), BadBounds, "(lower, upper)"),
    (lambda q: q.mean("x", bounds="0-10"), BadBounds, "(lower, upper)"),
    (lambda q: q.mean("x", bounds=(0, float("inf"))), BadQuery, "finite"),
    (lambda q: q.quantile("x", 1.5), BadQuery, "0.25 or 0.9"),
    (lambda q: q.histogram("x", [1], bin_count=3), BadQuery, "not both"),
    (lambda q: q.histogram("x", bin_count=1), BadQuery, "bin_count=10"),
    (lambda q: q.confidence(95), BadQuery, "0.95"),
    (lambda q: q.mean(None), BadQuery, "as a string"),
    (lambda q: q.by("region", 3), BadQuery, "as a string"),
])
def test_shape_mistakes_are_caught_where_they_are_written(build, kind, words):
    with pytest.raises(kind) as caught:
        build(Query("welfare"))
    assert words in str(caught.value)


def test_a_query_without_a_statistic_says_what_to_add():
    with pytest.raises(BadQuery, match=r"does not say what to compute. Fix: add one of \.count\(\)"):
        Query("welfare").where("age", ">", 3).to_spec()


@pytest.mark.parametrize(("given", "sent"), [
    (0.2, "0.2"), (0.1 + 0.2, "0.30000000000000004"), ("0.05", "0.05"), (1, "1"), (Decimal("0.500"), "0.5"),
    ("1e-3", "0.001"),
])
def test_epsilon_is_sent_as_an_exact_decimal_string(given, sent):
    assert epsilon_text(given) == sent


@pytest.mark.parametrize("bad", [0, -0.1, "abc", float("nan"), float("inf"), True, None])
def test_bad_epsilon_is_refused_before_sending(bad):
    with pytest.raises(BadQuery, match="epsilon"):
        epsilon_text(bad)


def test_repr_reads_like_the_question():
    q = Query("census").table("persons").quantile("age", 0.9, bounds=(0, 110)).where("region", "in", ["wales"]) \
        .by("sex").confidence(0.9)
    assert repr(q) == ("Query('census': 0.9-quantile of age, table persons, bounds [0, 110], "
                       "where region in ['wales'], by sex, 90% confidence)")


def test_equal_queries_compare_equal_whatever_their_connection():
    from lab.client.connection import Connection

    other = Connection(url="http://127.0.0.1:9/", token="t", environ={})
    assert Query("welfare").count() == Query("welfare").count().using(other)
    assert hash(Query("welfare").count().by("sex")) == hash(Query("welfare").count().by("sex"))
