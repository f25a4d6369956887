"""How the dashboard words budgets and ledger entries (the pages' tests are in tests/dashboard)."""

from __future__ import annotations

import pytest

from lab.vault.service.dashboard_views import amount, budget_row, summary, when


@pytest.mark.parametrize("text, shown", [("0.200000000000", "0.2"), ("20", "20"), ("0E-12", "0"),
                                         ("1.5E+1", "15"), ("0.000001", "0.000001")])
def test_amounts_are_exact_without_trailing_zeros(text, shown):
    assert amount(text) == shown


def test_a_budget_row_names_its_holder_and_its_share_left():
    item = {"dataset": "welfare", "scope": "user", "holder": "alice", "limit": "2", "spent": "0.2",
            "remaining": "1.8", "frozen": False}
    assert budget_row(item, you="alice").label == "You"
    row = budget_row(item)
    assert (row.label, row.remaining, row.share_left) == ("User alice", "1.8", pytest.approx(0.9))
    empty = budget_row({**item, "scope": "group", "holder": "analysts", "limit": "0", "remaining": "0"})
    assert (empty.label, empty.share_left) == ("Group analysts", 0.0)


def test_entries_are_summarised_in_words():
    query = {"action": "reserve", "description": {"statistic": "mean", "column": "monthly_award",
                                                  "filters": [["age", ">=", 66]], "group_by": ["region"]}}
    assert summary(query) == "mean of monthly_award where age >= 66 by region"
    assert summary({"action": "top_up", "description": {"reason": "course week 2"}}) == "course week 2"
    policy = {"action": "policy", "description": {"changes": {"user_epsilon": {"from": None, "to": "2"}}}}
    assert summary(policy) == "user_epsilon: none → 2"
    outcome = {"action": "outcome", "reservation_id": 4, "status": "released",
               "description": {"outcome": "released", "detail": {}}}
    assert summary(outcome) == "outcome of #4: released"
    assert when("2026-11-25T00:50:11.191181+00:00") == "2026-11-25 00:50:11 UTC"
