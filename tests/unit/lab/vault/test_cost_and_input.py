"""The cost estimate, the input limits and admission control, without a service process."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab.vault import cost
from lab.vault import query_errors as qe
from lab.vault.query_spec import validate_query
from lab.vault.service.errors import TooManyRequests, VaultBusy
from lab.vault.service.json_input import SUBMISSION_INPUT, parse_body
from lab.vault.service.limits import Admission, AdmissionLimits, Lane
from tests.support.event_loop import run as run_coroutine
from tests.unit.lab.vault.test_query_spec import POLICIES

HIST = {"dataset": "welfare", "statistic": "histogram", "column": "monthly_award", "bin_count": 20,
        "group_by": ["region"], "epsilon": "0.1"}


def test_the_estimate_counts_groups_cells_comparisons_and_memory():
    query = validate_query({**HIST, "filters": [{"column": "age", "op": "in", "value": [20, 30, 40]}]}, POLICIES)
    estimate = cost.estimate(query, rows=1000)
    assert estimate.groups == query.cells and estimate.cells == 3 * query.cells
    assert estimate.comparisons == 1000 * 4
    assert estimate.memory_bytes > 1000 * 2 * 8


@pytest.mark.parametrize(("limits", "field", "says"), [
    (cost.CostLimits(groups=5), "group_by", "vault_max_groups"),
    (cost.CostLimits(cells=10), "group_by", "vault_max_result_cells"),
    (cost.CostLimits(rows=999), "dataset", "vault_max_rows_scanned"),
    (cost.CostLimits(comparisons=500), "filters", "vault_max_scan_work"),
    (cost.CostLimits(memory_bytes=1000), "filters", "vault_max_query_memory_mb"),
])
def test_each_cost_limit_names_itself_and_the_fix(limits, field, says):
    query = validate_query(HIST, POLICIES)
    with pytest.raises(qe.QueryTooCostly) as caught:
        cost.check(cost.estimate(query, rows=1000), limits, rows_public=True)
    [problem] = caught.value.problems
    assert problem.field == field and says in problem.problem and problem.fix


def test_the_real_datas_row_count_is_never_told():
    query = validate_query({**HIST, "filters": [{"column": "age", "op": "in", "value": [20, 30]}]}, POLICIES)
    for limits in (cost.CostLimits(rows=999), cost.CostLimits(comparisons=2000), cost.CostLimits(memory_bytes=10)):
        with pytest.raises(qe.QueryTooCostly) as caught:
            cost.check(cost.estimate(query, rows=1237), limits, rows_public=False)
        text = str(caught.value)
        assert "1237" not in text and "1,237" not in text
        assert "MiB of memory" not in text or "about" not in text


@pytest.mark.parametrize(("body", "field", "says"), [
    (b'{"dataset": "welfare", "epsilon": ' + b"1" * 5000 + b"}", "epsilon", "number of 5000 characters"),
    (b'{"filters": [{"value": -' + b"9" * 60 + b".5}]}", "filters[0].value", "number of 63 characters"),
    (b'{"dataset": "' + b"w" * 1001 + b'"}', "dataset", "string of 1001 characters"),
    (json.dumps({"filters": [{"value": list(range(1001))}]}).encode(), "filters[0].value", "list of 1001 items"),
    (json.dumps({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": 1}}}}}}}}).encode(), "a.b.c.d.e.f.g.h",
     "nested more than 8 levels"),
])
def test_oversized_input_is_refused_at_parse_time_naming_the_field(body, field, says):
    with pytest.raises(qe.InputTooLarge) as caught:
        parse_body(body)
    [problem] = caught.value.problems
    assert problem.field == field and says in problem.problem


@pytest.mark.parametrize("body", [b"", b"  ", b"{", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b"NaN-"])
def test_malformed_bodies_are_bad_specs(body):
    with pytest.raises(qe.BadSpec):
        parse_body(body)


def test_submissions_may_carry_long_lists():
    assert len(parse_body(json.dumps({"predictions": list(range(5000))}).encode(), SUBMISSION_INPUT)["predictions"]) \
        == 5000


# --- admission ---------------------------------------------------------------------------------


def _admission(**limits: float) -> Admission:
    settings = AdmissionLimits(**{"queue_limit": 4, "queue_timeout_s": 0.5, "user_concurrency": 1,
                                  "user_in_flight": 3, "user_rate_per_s": 1000.0, "user_burst": 1000, **limits})
    pool = ThreadPoolExecutor(2)
    queries = Lane("query", pool, 2, settings)
    return Admission({"query": queries, "preview": Lane("preview", ThreadPoolExecutor(1), 1, settings,
                                                        yields_to=queries)}, settings)


async def _gather(*calls):
    return await asyncio.gather(*calls, return_exceptions=True)


def test_a_user_over_their_in_flight_limit_gets_429_and_others_still_run():
    admission = _admission(queue_timeout_s=5)
    results = run_coroutine(_gather(*[admission.run("query", "mallory", time.sleep, 0.2) for _ in range(5)],
                                  admission.run("query", "alice", lambda: "answered")))
    refused = [r for r in results if isinstance(r, TooManyRequests)]
    assert len(refused) == 2 and results[-1] == "answered"
    assert all(r.retry_after >= 1 for r in refused)


def test_a_fast_sender_is_rate_limited_with_retry_after():
    admission = _admission(user_rate_per_s=1.0, user_burst=2, user_in_flight=10, user_concurrency=10)

    async def burst():
        return [await admission.run("query", "mallory", lambda: "ok") for _ in range(2)] + \
            await _gather(admission.run("query", "mallory", lambda: "ok"))

    first, second, third = run_coroutine(burst())
    assert (first, second) == ("ok", "ok") and isinstance(third, TooManyRequests) and third.retry_after >= 1


def test_a_request_that_waits_too_long_is_refused_with_503():
    admission = _admission(queue_timeout_s=0.2, user_concurrency=5, user_in_flight=5)
    results = run_coroutine(_gather(*[admission.run("preview", f"u{i}", time.sleep, 0.5) for i in range(3)]))
    assert sum(isinstance(r, VaultBusy) for r in results) == 2


def test_previews_wait_while_dp_queries_run():
    admission = _admission(queue_timeout_s=2.0)
    order: list[str] = []

    async def both():
        query = asyncio.ensure_future(admission.run("query", "alice", lambda: (time.sleep(0.3), order.append("q"))))
        await asyncio.sleep(0.05)
        await admission.run("preview", "bob", lambda: order.append("p"))
        await query

    run_coroutine(both())
    assert order == ["q", "p"]
    health = admission.health()
    assert health["queued"] == 0 and health["memory_rss_bytes"] > 0
