"""Bad queries and bad requests through the real service: each is refused clearly, for free.

Every case goes over real HTTP to the standalone service. Each must come back with the
right status and a JSON error ``{"error": {"type", "message", "fix"}}`` that carries no
value from the data (no identifier, no exact count), and afterwards the caller's budgets
(and the victim's, where another user's name was in the body) must be exactly as before:
nothing reserved, nothing charged. One valid query at the end shows the service still
answers and charges exactly what was asked.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from tests.reliability.conftest import ROWS, welfare_policy
from tests.support.vault_service import VaultService

QUERY = {"dataset": "welfare", "statistic": "mean", "column": "monthly_award", "epsilon": "0.1"}
BIG = 10 * 1024 * 1024


def _plan() -> str:
    frame = pl.LazyFrame({"monthly_award": [1.0, 2.0]})
    return base64.b64encode(frame.select(pl.col("monthly_award").map_batches(lambda s: s * 2)).serialize()).decode()


# (name, what is sent, expected status, expected error type). What is sent: a dict (sent as
# JSON), raw bytes/str (sent as they are), and optionally the token to use ("alice" by default).
CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown dataset", {"json": {**QUERY, "dataset": "welfar"}}, 404, "UnknownDataset"),
    ("unknown column", {"json": {**QUERY, "column": "monthly_awrd"}}, 400, "UnknownColumn"),
    ("identifier column", {"json": {**QUERY, "statistic": "count", "column": "ni_number"}}, 400,
     "ColumnNotQueryable"),
    ("mean of a category", {"json": {**QUERY, "column": "benefit_type"}}, 400, "WrongColumnType"),
    ("bounds reversed", {"json": {**QUERY, "bounds": [3000, 10]}}, 400, "BadBounds"),
    ("bounds NaN", {"data": json.dumps({**QUERY, "bounds": [float("nan"), 10]})}, 400, "BadBounds"),
    ("bounds infinite", {"data": json.dumps({**QUERY, "bounds": [0, float("inf")]})}, 400, "BadBounds"),
    ("bounds overflowing", {"data": json.dumps(QUERY)[:-1] + ', "bounds": [0, 1e999]}'}, 400, "BadBounds"),
    ("bounds outside the policy's", {"json": {**QUERY, "bounds": [0, 6000]}}, 400, "BadBounds"),
    ("epsilon zero", {"json": {**QUERY, "epsilon": "0"}}, 400, "BadPrivacyLoss"),
    ("epsilon negative", {"json": {**QUERY, "epsilon": "-0.1"}}, 400, "BadPrivacyLoss"),
    ("epsilon NaN", {"json": {**QUERY, "epsilon": "NaN"}}, 400, "BadPrivacyLoss"),
    ("epsilon NaN number", {"data": json.dumps({**QUERY, "epsilon": float("nan")})}, 400, "BadPrivacyLoss"),
    ("epsilon infinite", {"json": {**QUERY, "epsilon": "Infinity"}}, 400, "BadPrivacyLoss"),
    ("epsilon above the cap", {"json": {**QUERY, "epsilon": "0.6"}}, 400, "BadPrivacyLoss"),
    ("huge group-by", {"json": {**QUERY, "group_by": ["region", "age_band", "benefit_type", "tenure"]}}, 400,
     "TooManyGroups"),
    ("group-by on a non-key", {"json": {**QUERY, "group_by": ["age"]}}, 400, "NotGroupable"),
    ("malformed JSON", {"data": '{"dataset": "welfare", "statistic": '}, 400, "BadSpec"),
    ("not UTF-8", {"data": b"\xff\xfe{\x00}"}, 400, "BadSpec"),
    ("empty body", {"data": ""}, 400, "BadSpec"),
    ("a list, not an object", {"json": [QUERY]}, 400, "BadSpec"),
    ("unknown statistic", {"json": {**QUERY, "statistic": "variance"}}, 400, "BadSpec"),
    ("a serialized Polars plan", {"json": {"dataset": "welfare", "plan": _plan()}}, 400, "SerializedPlanRefused"),
    ("a 10 MB body", {"data": b'{"dataset": "' + b"x" * BIG + b'"}'}, 413, "BodyTooLarge"),
    ("another user's name in the body", {"json": {**QUERY, "user": "bob"}}, 400, "BadSpec"),
    ("another user's name, spelled otherwise", {"json": {**QUERY, "username": "bob", "charge_to": "bob"}}, 400,
     "BadSpec"),
    ("no token", {"json": QUERY, "token": None}, 401, "NotAuthenticated"),
    ("forged token", {"json": QUERY, "token": "forged-token-that-nobody-has"}, 401, "NotAuthenticated"),
    ("forged bearer token", {"json": QUERY, "token": None, "headers": {"Authorization": "Bearer forged"}}, 401,
     "NotAuthenticated"),
    ("a user who may not query", {"json": QUERY, "token": "carol"}, 403, "NoAccess"),
]


@pytest.fixture
def vault(make_site, services):
    """The service with the welfare data: alice and bob are analysts, carol only sees twins."""
    site = make_site()
    site.add_policy("welfare", welfare_policy(dataset_epsilon="20", user_epsilon="2", query_epsilon_max="0.5",
                                              group_epsilon={"analysts": "8"}))
    users = {name: site.add_user(name, groups=groups) for name, groups in
             (("alice", ["analysts"]), ("bob", ["analysts"]), ("carol", ["staff"]))}
    service = VaultService(site)
    services.append(service)
    service.start()
    return service, users


def budgets(service: VaultService, token: str) -> list[dict[str, Any]]:
    status, body = service.call("GET", "api/budgets?dataset=welfare", token)
    assert status == 200, body
    return sorted(body["budgets"], key=lambda b: (b["scope"], b["holder"]))


def test_every_bad_request_is_refused_clearly_and_charges_nothing(vault, claims):
    service, users = vault
    before = {name: budgets(service, user.token) for name, user in users.items() if name != "carol"}
    secrets = {str(v) for column in ("full_name", "ni_number", "postcode", "email") for v in claims[column]
               if v is not None}
    failures = []
    for name, request, status, kind in CASES:
        token = request.get("token", "alice")
        token = users[token].token if token in users else token
        got, body = service.call("POST", "api/query", token, json=request.get("json"), data=request.get("data"),
                                 headers=request.get("headers"))
        error = (body or {}).get("error") if isinstance(body, dict) else None
        if got != status or error is None or error.get("type") != kind:
            failures.append(f"{name}: expected {status} {kind}, got {got} {body!r:.300}")
            continue
        text = json.dumps(body)
        if not (error.get("message") and error.get("fix")):
            failures.append(f"{name}: the error has no message or no fix: {error}")
        if [s for s in secrets if s in text] or str(ROWS) in text or str(len(claims)) in text:
            failures.append(f"{name}: the error carries a value from the data: {text:.300}")
    assert not failures, "\n".join(failures)
    after = {name: budgets(service, user.token) for name, user in users.items() if name != "carol"}
    assert after == before  # every refusal charged nothing, to the caller or to anyone else
    status, history = service.call("GET", "api/history", users["alice"].token)
    assert status == 200 and [e for e in history["entries"] if e["action"] == "reserve"] == []


def test_problems_name_the_field_and_the_fix(vault):
    service, users = vault
    status, body = service.call("POST", "api/query", users["alice"].token,
                                json={**QUERY, "column": "monthly_awrd", "epsilon": "0", "group_by": ["age"]})
    assert status == 400
    problems = body["error"]["problems"]
    assert [p["field"] for p in problems] == ["epsilon", "column", "group_by[0]"]
    assert "did you mean 'monthly_award'?" in problems[1]["fix"]
    # A caller who may not see a dataset learns nothing of its columns, nor that it exists.
    status, body = service.call("POST", "api/query", users["carol"].token, json={**QUERY, "column": "monthly_awrd"})
    assert status == 403 and "monthly_award" not in json.dumps(body)


def test_after_the_refusals_a_good_query_is_answered_and_charged_exactly(vault):
    service, users = vault
    for name, request, _, _ in CASES[:6]:  # a few refusals first
        service.call("POST", "api/query", users["alice"].token, json=request.get("json"), data=request.get("data"))
    status, body = service.call("POST", "api/query", users["alice"].token, json={**QUERY, "epsilon": "0.1"})
    assert status == 200, body
    assert Decimal(body["charge"]["epsilon"]) == Decimal("0.1")
    assert Decimal(body["answer"]["epsilon"]) == Decimal("0.1")
    mine = {(b["scope"], b["holder"]): Decimal(b["spent"]) for b in body["budgets"]}
    assert mine == {("dataset", ""): Decimal("0.1"), ("user", "alice"): Decimal("0.1"),
                    ("group", "analysts"): Decimal("0.1")}
    assert all(Decimal(b["spent"]) == 0 for b in budgets(service, users["bob"].token) if b["scope"] == "user")
