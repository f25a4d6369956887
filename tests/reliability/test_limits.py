"""The vault's limits through the real service: each one crossed is refused with its own
status, type and message, and charges nothing; fuzzed bodies never get a 500; and a short
abuse load (oversized previews, an epsilon flood, malformed input) leaves the vault up and
the analyst answered. The speed and memory targets are measured by benchmarks/abuse_bench.py.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.conftest import ROWS, welfare_policy
from tests.support.abuse_load import AbuseLoad, release_copy_as_twin
from tests.support.vault_service import VaultService

QUERY = {"dataset": "welfare", "statistic": "mean", "column": "monthly_award", "epsilon": "0.1"}
DAILY = 3
FLOOR = "0.05"


def limited_policy(daily: int = DAILY, floor: str = FLOOR) -> str:
    text = welfare_policy(dataset_epsilon="20", user_epsilon="2", query_epsilon_max="0.5",
                          group_epsilon={"analysts": "8"})
    return text.replace("  query_epsilon_max: 0.5\n", f"  query_epsilon_max: 0.5\n  query_epsilon_min: {floor}\n"
                                                      f"  queries_per_user_per_day: {daily}\n")


def start(make_site, services, demo_data, settings_toml: str, policy: str) -> tuple[VaultService, dict]:
    site = make_site()
    site.config_file.write_text(settings_toml)
    site.add_policy("welfare", policy)
    release_copy_as_twin(site, "welfare", {"claims": pl.read_parquet(demo_data / "welfare" / "claims.parquet")
                                           .to_pandas()})
    users = {name: site.add_user(name, groups=groups) for name, groups in
             (("alice", ["analysts"]), ("mallory", ["analysts"]), ("tess", ["staff"]))}
    users["ada"] = site.add_user("ada", admin=True)
    service = VaultService(site)
    services.append(service)
    service.start()
    return service, users


def post(service: VaultService, token: str, route: str, body: Any = None, data: bytes | None = None
         ) -> requests.Response:
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    return requests.post(service.url + route, json=body, data=data, headers=headers, timeout=60)


def spent(service: VaultService, token: str) -> dict[tuple[str, str], Decimal]:
    status, body = service.call("GET", "api/budgets?dataset=welfare", token)
    assert status == 200, body
    return {(b["scope"], b["holder"]): Decimal(b["spent"]) for b in body["budgets"]}


def reservations(service: VaultService, token: str) -> int:
    status, body = service.call("GET", "api/history", token)
    assert status == 200, body
    return sum(1 for e in body["entries"] if e["action"] == "reserve")


# (name, route, body or raw bytes, status, type, words the message must hold)
CASES: list[tuple[str, str, Any, int, str, str]] = [
    ("too many groups, query", "api/query", {**QUERY, "group_by": ["region"]}, 400, "QueryTooCostly",
     "vault_max_groups"),
    ("too many groups, preview", "api/preview", {**QUERY, "group_by": ["region"]}, 400, "QueryTooCostly",
     "vault_max_groups"),
    ("too much scanning, query", "api/query",
     {**QUERY, "filters": [{"column": "age", "op": "in", "value": list(range(20, 60))}]}, 400, "QueryTooCostly",
     "vault_max_scan_work"),
    ("too much scanning, preview", "api/preview",
     {**QUERY, "filters": [{"column": "age", "op": "in", "value": list(range(20, 60))}]}, 400, "QueryTooCostly",
     "vault_max_scan_work"),
    ("epsilon under the floor", "api/query", {**QUERY, "epsilon": "0.01"}, 400, "BadPrivacyLoss",
     f"minimum of {FLOOR}"),
    ("epsilon of 1e-12", "api/query", {**QUERY, "epsilon": "0.000000000001"}, 400, "BadPrivacyLoss",
     f"minimum of {FLOOR}"),
    ("a 5,000-digit integer", "api/query", b'{"dataset": "welfare", "statistic": "count", "epsilon": ' + b"9" * 5000
     + b"}", 400, "InputTooLarge", "epsilon: a number of 5000 characters"),
    ("deep nesting", "api/preview", b'{"filters": ' + b"[" * 40 + b"]" * 40 + b"}", 400, "InputTooLarge",
     "nested more than"),
    ("a long string", "api/query", json.dumps({**QUERY, "column": "m" * 5000}).encode(), 400, "InputTooLarge",
     "column: a string of 5000 characters"),
    ("a long list", "api/preview", {**QUERY, "filters": [{"column": "age", "op": "in", "value": [1] * 1500}]}, 400,
     "InputTooLarge", "filters[0].value: a list of 1500 items"),
    ("a body over 64 KiB", "api/query", b'{"dataset": "' + b"x" * 70_000 + b'"}', 413, "BodyTooLarge", "64 KiB"),
]


def test_each_limit_is_refused_with_its_message_and_charges_nothing(make_site, services, demo_data):
    # 737 rows: one 'in' value per row is fine (737 x 2), forty are over (737 x 41 > 20,000).
    service, users = start(make_site, services, demo_data, "vault_max_groups = 5\nvault_max_scan_work = 20000\n",
                           limited_policy())
    alice = users["alice"].token
    before = spent(service, alice)
    failures = []
    for name, route, body, status, kind, words in CASES:
        response = post(service, alice, route, data=body) if isinstance(body, bytes) else post(service, alice, route,
                                                                                              body)
        error = response.json().get("error", {})
        if response.status_code != status or error.get("type") != kind or words not in error.get("message", ""):
            failures.append(f"{name}: expected {status} {kind} '{words}', got {response.status_code} "
                            f"{response.text[:300]}")
        elif not error.get("fix") or str(ROWS) in response.text:
            failures.append(f"{name}: no fix, or the row count is in the answer: {response.text[:300]}")
    assert not failures, "\n".join(failures)
    assert spent(service, alice) == before and reservations(service, alice) == 0  # nothing charged
    status, health = service.call("GET", "api/health")
    refusals = health["saturation"]["refusals"]
    assert {"QueryTooCostly", "BadPrivacyLoss", "InputTooLarge", "BodyTooLarge"} <= set(refusals)
    # Admins see the same saturation on the dashboard; others are refused the page.
    page = requests.get(service.url + "dash/admin", headers={"Authorization": f"token {users['ada'].token}"},
                        timeout=30)
    assert page.status_code == 200 and "Vault load" in page.text and "QueryTooCostly" in page.text
    page = requests.get(service.url + "dash/admin", headers={"Authorization": f"token {alice}"}, timeout=30)
    assert page.status_code == 403 and "Vault load" not in page.text


def test_the_daily_query_limit_refuses_with_429_and_retry_after(make_site, services, demo_data):
    service, users = start(make_site, services, demo_data, "", limited_policy())
    mallory = users["mallory"].token
    for _ in range(DAILY):
        assert post(service, mallory, "api/query", QUERY).status_code == 200
    refused = post(service, mallory, "api/query", QUERY)
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "DailyQueryLimitReached"
    assert f"{DAILY} DP queries" in refused.json()["error"]["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 86_401
    assert reservations(service, mallory) == DAILY  # the refusal added no ledger row ...
    assert spent(service, mallory)[("user", "mallory")] == Decimal("0.1") * DAILY  # ... and charged nothing
    assert post(service, users["alice"].token, "api/query", QUERY).status_code == 200  # others are not limited
    assert post(service, mallory, "api/preview", QUERY).status_code == 200  # previews are free and not counted


def test_a_fast_sender_gets_429_with_retry_after_and_is_not_charged(make_site, services, demo_data):
    service, users = start(make_site, services, demo_data, "vault_user_rate_per_s = 0.2\nvault_user_burst = 2\n",
                           limited_policy(daily=100))
    alice = users["alice"].token
    statuses = [post(service, alice, "api/query", QUERY) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["error"]["type"] == "TooManyRequests" and int(statuses[2].headers["Retry-After"]) >= 1
    assert spent(service, alice)[("user", "alice")] == Decimal("0.2")  # the refused one charged nothing
    assert post(service, users["mallory"].token, "api/query", QUERY).status_code == 200  # another user is fine


# --- fuzzing the request schema -------------------------------------------------------------------

_KEYS = ["dataset", "table", "statistic", "column", "q", "bounds", "bins", "bin_count", "filters", "group_by",
         "epsilon", "confidence", "user", "plan"]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**60, max_value=10**60),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
                     st.sampled_from(["welfare", "claims", "mean", "count", "histogram", "quantile", "age", "region",
                                      "monthly_award", "in", ">=", "0.1", "1e-12", "NaN", "-0", "0.05"]))
_JSON = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                       st.dictionaries(st.sampled_from(_KEYS + ["op", "value"]),
                                                                       inner, max_size=5)), max_leaves=25)
_SPECS = st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=8)
_RAW = st.one_of(st.binary(max_size=200), st.integers(min_value=1, max_value=6000).map(
    lambda n: b'{"dataset": "welfare", "statistic": "count", "epsilon": ' + b"7" * n + b"}"))


@pytest.fixture
def fuzz_target(make_site, services, demo_data):
    return start(make_site, services, demo_data, "vault_user_rate_per_s = 1000\nvault_user_burst = 1000\n",
                 limited_policy(daily=1000))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_SPECS.map(lambda spec: json.dumps(spec).encode()), _RAW), route=st.sampled_from(
    ["api/query", "api/preview"]), who=st.sampled_from(["alice", "tess"]))
def test_no_request_body_gets_a_500(fuzz_target, body, route, who):
    service, users = fuzz_target
    response = post(service, users[who].token, route, data=body)
    assert response.status_code < 500 or response.status_code == 503, response.text[:500]
    if response.status_code != 200:
        error = response.json()["error"]
        assert error["type"] and error["message"] and error["fix"]


# --- a short abuse load -----------------------------------------------------------------------------


def test_under_a_short_abuse_load_the_vault_stays_up_and_answers_the_analyst(make_site, services, demo_data):
    service, users = start(make_site, services, demo_data, "", limited_policy(daily=20, floor="0.01"))
    twin_users = [service.site.add_user(f"twin{i}", groups=["staff"]) for i in range(3)]
    service.restart()  # the users file is read at start
    hist = {"dataset": "welfare", "statistic": "histogram", "column": "monthly_award", "bin_count": 90,
            "group_by": ["region"]}
    oversized = [hist, {**hist, "bin_count": 1000},
                 {**hist, "filters": [{"column": "age", "op": "in", "value": list(range(i, i + 999))}
                                      for i in range(0, 5000, 1000)]},
                 {"dataset": "welfare", "statistic": "quantile", "q": 0.9, "column": "monthly_award",
                  "group_by": ["region", "sex"]}]
    load = AbuseLoad(service, "welfare", users["alice"], users["mallory"], twin_users, oversized,
                     {"dataset": "welfare", "statistic": "mean", "column": "monthly_award", "group_by": ["region"]},
                     previews_at_once=4, pause_s=0.2)
    began = time.monotonic()
    report = load.run(8.0)
    assert time.monotonic() - began < 60
    assert report.restarts == 0 and report.status_500 == 0, report.errors[:5]
    assert report.dp_ms and report.dp_statuses[200] >= 1  # the analyst was answered
    assert max(report.preview_ms) < 10_000
    assert 0 <= report.flood_reservations <= 20  # the flood's ledger rows stay within the daily limit
    assert {"BadPrivacyLoss", "InputTooLarge"} <= set(report.refusals)
