"""How answers, budgets and previews read in a notebook (from contract-shaped JSON)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lab.client.display import QueryResult, budgets_frame, format_number
from lab.client.query import Query

BUDGETS = [
    {"dataset": "welfare", "scope": "dataset", "holder": "", "limit": "20", "spent": "0.7", "remaining": "19.3",
     "frozen": False},
    {"dataset": "welfare", "scope": "user", "holder": "alice", "limit": "2", "spent": "0.7", "remaining": "1.3",
     "frozen": False},
    {"dataset": "welfare", "scope": "group", "holder": "analysts", "limit": "8", "spent": "0.7",
     "remaining": "7.3", "frozen": False},
]


def _answer(rows, group_by=(), **extra):
    return {"dataset": "welfare", "statistic": "mean", "column": "household_income", "group_by": list(group_by),
            "confidence": 0.95, "epsilon": "0.2", "mechanism": "Integer Laplace", "interval_method": "derived",
            "notes": ["The interval combines OpenDP's accuracy for the noisy sum and the noisy count."],
            "rank_error": None, "private": True, "rows": rows, **extra}


def test_an_ungrouped_dp_answer():
    result = QueryResult.from_response({
        "answer": _answer([{"key": {}, "value": 23456.789, "lower": 21000.5, "upper": 25999.25}]),
        "charge": {"epsilon": "0.2", "entry_id": 7}, "budgets": BUDGETS,
    }, query=Query("welfare").mean("household_income", bounds=(0, 100_000)))
    assert result.value == 23456.789 and result.interval == (21000.5, 25999.25)
    assert result.epsilon == Decimal("0.2") and result.entry_id == 7 and result.private
    assert result.remaining == Decimal("1.3") and result.remaining_budget == "your allowance"
    text = repr(result)
    assert text.splitlines()[0] == "DP answer · welfare: mean of household_income, bounds [0, 100000]"
    for shown in ("23,457", "[21,000, 25,999]", "95% interval", "confidence: 95%", "ε charged: 0.2",
                  "ε remaining: 1.3 (your allowance)", "Note: The interval combines"):
        assert shown in text
    page = result._repr_html_()
    for shown in ("<b>DP answer · welfare: mean of household_income", "23,457", "[21,000, 25,999]",
                  "ε charged", "<td style='text-align:left'>0.2</td>", "1.3 (your allowance)", "<li>The interval"):
        assert shown in page


def test_a_grouped_answer_is_a_table_in_the_policys_order():
    rows = [{"key": {"region": "north_east"}, "value": 100.0, "lower": 90.0, "upper": 110.0},
            {"key": {"region": "wales"}, "value": None, "lower": 0.0, "upper": 100000.0}]
    result = QueryResult.from_response({"answer": _answer(rows, ["region"]), "charge": {"epsilon": "0.2"},
                                        "budgets": BUDGETS})
    frame = result.frame
    assert list(frame.columns) == ["region", "value", "lower", "upper"]
    assert frame["region"].tolist() == ["north_east", "wales"]
    with pytest.raises(ValueError, match="read result.frame"):
        result.value
    assert "—" in repr(result)  # the missing mean shows as a dash, and a note says why
    assert "noisy count of rows was not positive" in result._repr_html_()


def test_a_quantile_shows_its_rank_bound_instead_of_an_interval():
    result = QueryResult.from_response({
        "answer": _answer([{"key": {}, "value": 41.0, "lower": None, "upper": None}], statistic="quantile",
                          interval_method="rank", rank_error=12.34),
        "charge": {"epsilon": "0.1"}, "budgets": BUDGETS})
    assert "± 12.3 rows in rank" in repr(result)
    assert result.interval == (None, None)


def test_a_preview_says_it_is_free_and_from_the_twin():
    result = QueryResult.from_response({
        "answer": {**_answer([{"key": {}, "value": 1234, "lower": None, "upper": None}]), "epsilon": "0",
                   "private": False, "interval_method": "exact", "notes": ["Computed exactly on the twin."],
                   "mechanism": "none (exact, on the synthetic twin)"},
        "source": "twin", "twin_version": "v0003", "charge": None})
    assert not result.private and result.epsilon == 0 and result.remaining is None
    text = repr(result)
    assert text.startswith("Twin preview (v0003, exact, free)")
    assert "ε charged: 0" in text and "unchanged (previews are free)" in text and "interval" not in text.lower()


def test_budgets_are_exact_decimals():
    frame = budgets_frame(BUDGETS)
    assert frame["budget"].tolist() == ["the dataset's lifetime budget", "your allowance",
                                        "group 'analysts' allowance"]
    assert frame["remaining"].tolist() == [Decimal("19.3"), Decimal("1.3"), Decimal("7.3")]
    assert sum(frame["spent"], Decimal(0)) == Decimal("2.1")


@pytest.mark.parametrize(("value", "shown"), [
    (None, "—"), (float("nan"), "—"), (12, "12"), (1234567, "1,234,567"), (3.0, "3"), (1234.56, "1,235"),
    (12.3456, "12.35"), (0.012345, "0.0123"), (True, "True"), ("pip", "pip"),
])
def test_numbers_read_well(value, shown):
    assert format_number(value) == shown
