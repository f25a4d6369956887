"""The vault service's routes over real HTTP, as the notebook client and an admin use them."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from lab.vault import read_csv, read_json
from tests.service.running import Client, RunningVault

COUNT = {"dataset": "welfare", "statistic": "count", "epsilon": "0.1"}
MEAN_BY_REGION = {"dataset": "welfare", "statistic": "mean", "column": "monthly_award", "group_by": ["region"],
                  "epsilon": "0.2"}


@pytest.fixture
def as_user(vault: RunningVault, tokens: dict[str, str]):
    """``as_user("alice")``: a client that sends alice's token."""
    return lambda name: vault.client(tokens[name])


def spent_entries(admin: Client, user: str) -> list[dict]:
    """Every reservation charged to ``user``, from the admin's ledger export."""
    response = admin.get("api/ledger", user=user, format="json")
    assert response.status_code == 200
    return [e for e in response.json()["entries"] if e["action"] == "reserve" and e["actor"] == user]


def assert_error(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["type"] == kind
    assert error["message"] and error["fix"]
    assert "Traceback" not in response.text
    return error


def test_health_needs_no_token(vault):
    response = vault.client(None).get("api/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    # Saturation, for probes and the admin dashboard: operational figures only, never data.
    assert set(health["saturation"]) == {"lanes", "queued", "memory_rss_bytes", "refusals"}
    assert set(health["saturation"]["lanes"]) == {"query", "preview"}


def test_catalog_lists_only_what_the_callers_groups_may_see(as_user):
    def catalog(name: str) -> dict[str, dict]:
        response = as_user(name).get("api/catalog")
        assert response.status_code == 200
        return {d["name"]: d for d in response.json()["datasets"]}

    analyst, staff, hackathon, admin = catalog("alice"), catalog("bob"), catalog("hana"), catalog("ada")
    assert set(analyst) == set(staff) == set(admin) == {"census", "tax", "welfare"}
    assert set(hackathon) == {"census", "welfare"}  # the tax policy keeps its twin from hackathons
    assert catalog("nobody") == {}
    assert analyst["welfare"]["can_query"] and admin["tax"]["can_query"]
    assert not staff["welfare"]["can_query"] and not hackathon["welfare"]["can_query"]

    welfare = staff["welfare"]
    assert welfare["twin"]["version"] == "v0001" and welfare["twin"]["released_at"]
    assert staff["census"]["twin"] is None
    columns = welfare["tables"]["claims"]["columns"]
    assert columns["region"]["public"] is True and "london" in columns["region"]["categories"]
    assert columns["monthly_award"]["bounds"] == [0, 5000]  # the policy's public bounds
    assert columns["claim_start_date"]["bounds"] == ["1990-01-01", "2025-03-31"]
    assert columns["full_name"]["identifier"] == "fake"
    assert welfare["privacy_unit"] == {"table": "claims", "max_rows_per_person": 1}


def test_budgets_show_the_callers_allowances(as_user):
    response = as_user("gus").get("api/budgets", dataset="welfare")
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == "gus"
    by_scope = {(b["scope"], b["holder"]): b for b in body["budgets"]}
    assert set(by_scope) == {("dataset", ""), ("user", "gus"), ("group", "analysts")}
    assert by_scope[("user", "gus")] == {"dataset": "welfare", "scope": "user", "holder": "gus", "limit": "2",
                                          "spent": "0", "remaining": "2", "frozen": False}
    assert by_scope[("group", "analysts")]["limit"] == "8"
    everything = as_user("gus").get("api/budgets").json()["budgets"]
    assert {b["dataset"] for b in everything} == {"census", "tax", "welfare"}
    assert_error(as_user("gus").get("api/budgets", dataset="nope"), 404, "UnknownDataset")
    assert_error(as_user("nobody").get("api/budgets", dataset="welfare"), 403, "NoAccess")


def test_query_charges_the_caller_and_returns_answer_interval_and_remaining(as_user):
    alice = as_user("alice")
    before = Decimal(alice.remaining("welfare"))
    response = alice.post("api/query", MEAN_BY_REGION)
    assert response.status_code == 200, response.text
    body = response.json()
    answer = body["answer"]
    assert answer["statistic"] == "mean" and answer["private"] is True
    assert answer["group_by"] == ["region"] and len(answer["rows"]) == 11  # every public region
    for row in answer["rows"]:
        assert row["lower"] <= row["upper"]
    assert body["charge"]["epsilon"] == "0.2" and isinstance(body["charge"]["entry_id"], int)
    mine = {b["scope"]: b for b in body["budgets"] if b["scope"] != "group"}
    assert Decimal(mine["user"]["remaining"]) == before - Decimal("0.2")
    assert alice.remaining("welfare") == mine["user"]["remaining"]

    history = alice.get("api/history", dataset="welfare").json()
    [entry] = [e for e in history["entries"] if e["id"] == body["charge"]["entry_id"]]
    assert entry["actor"] == "alice" and entry["status"] == "released" and entry["epsilon"] == "0.2"


def test_a_user_outside_query_groups_is_refused_and_not_charged(as_user):
    bob, admin = as_user("bob"), as_user("ada")
    error = assert_error(bob.post("api/query", COUNT), 403, "NoAccess")
    assert "analysts" in error["fix"]
    assert_error(as_user("nobody").post("api/query", COUNT), 403, "NoAccess")
    assert bob.remaining("welfare") == "2"
    assert spent_entries(admin, "bob") == [] and spent_entries(admin, "nobody") == []


def test_over_budget_is_refused_with_409_and_charges_nothing(as_user):
    carol = as_user("carol")
    big = {**COUNT, "epsilon": "0.5"}
    for _ in range(4):  # carol's allowance is 2
        assert carol.post("api/query", big).status_code == 200
    error = assert_error(carol.post("api/query", big), 409, "BudgetExceeded")
    assert "Nothing was charged" in error["message"]
    assert error["shortfalls"][0]["scope"] == "user" and error["shortfalls"][0]["remaining"] == "0"
    assert carol.remaining("welfare") == "0"
    assert len(spent_entries(as_user("ada"), "carol")) == 4
    # Over the per-query cap is an invalid spec, refused before the ledger.
    assert_error(as_user("gus").post("api/query", {**COUNT, "epsilon": "0.6"}), 400, "BadPrivacyLoss")


def test_concurrent_queries_never_overspend_an_allowance(as_user):
    erin = as_user("erin")
    big = {**COUNT, "epsilon": "0.5"}
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: as_user("erin").post("api/query", big).status_code, range(8)))
    assert statuses == [200] * 4 + [409] * 4
    assert erin.remaining("welfare") == "0"


def test_preview_is_free_and_computed_on_the_twin(as_user):
    bob = as_user("bob")  # staff: twin access only
    response = bob.post("api/preview", MEAN_BY_REGION)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "twin" and body["twin_version"] == "v0001" and body["charge"] is None
    assert body["answer"]["private"] is False and body["answer"]["epsilon"] == "0"
    assert len(body["answer"]["rows"]) == 11
    assert bob.remaining("welfare") == "2"
    without_epsilon = {key: value for key, value in MEAN_BY_REGION.items() if key != "epsilon"}
    assert bob.post("api/preview", without_epsilon).json()["answer"]["rows"] == body["answer"]["rows"]
    assert_error(as_user("nobody").post("api/preview", MEAN_BY_REGION), 403, "NoAccess")
    assert_error(as_user("alice").post("api/preview", {**COUNT, "dataset": "census"}), 404, "TwinNotFound")


def test_history_holds_only_the_callers_own_entries(as_user):
    dora = as_user("dora")
    charged = dora.post("api/query", COUNT).json()["charge"]["entry_id"]
    as_user("gus").post("api/query", COUNT)
    entries = dora.get("api/history").json()["entries"]
    assert {e["actor"] for e in entries} == {"dora"}
    assert [e["status"] for e in entries if e["id"] == charged] == ["released"]
    assert dora.get("api/history", dataset="census").json()["entries"] == []


def test_ledger_is_for_admins_in_json_and_csv(as_user):
    as_user("alice").post("api/query", COUNT)
    assert_error(as_user("alice").get("api/ledger"), 403, "AdminOnly")
    admin = as_user("ada")
    as_json = admin.get("api/ledger", format="json")
    assert as_json.status_code == 200
    entries = read_json(io.StringIO(as_json.text))
    assert any(e.actor == "alice" and e.action == "reserve" for e in entries)
    as_csv = admin.get("api/ledger", format="csv", dataset="welfare")
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    rows = read_csv(io.StringIO(as_csv.text))
    assert rows and {e.dataset for e in rows} == {"welfare"}
    only_alice = read_json(io.StringIO(admin.get("api/ledger", user="alice").text))
    assert {e.actor for e in only_alice if e.action == "reserve"} == {"alice"}
    assert_error(admin.get("api/ledger", format="xml"), 400, "BadParameter")


def test_missing_or_forged_tokens_get_401(vault, tokens):
    assert_error(vault.client(None).get("api/catalog"), 401, "NotAuthenticated")
    assert_error(vault.client(None).post("api/query", COUNT), 401, "NotAuthenticated")
    assert_error(vault.client(tokens["alice"] + "x").get("api/budgets"), 401, "NotAuthenticated")
    forged = Client(vault.url, None)
    forged.session.headers["Authorization"] = "alice"
    assert_error(forged.get("api/history"), 401, "NotAuthenticated")
    bearer = Client(vault.url, None)
    bearer.session.headers["Authorization"] = f"Bearer {tokens['alice']}"
    assert bearer.get("api/whoami").json()["user"] == {"name": "alice", "groups": ["analysts"], "admin": False}


def test_malformed_json_and_bad_specs_get_400(as_user):
    gus = as_user("gus")
    before = gus.remaining("welfare")
    assert_error(gus.post("api/query", data="{not json", headers={"Content-Type": "application/json"}),
                 400, "BadSpec")
    assert_error(gus.post("api/query", data=b""), 400, "BadSpec")
    assert_error(gus.post("api/query", ["welfare"]), 400, "BadSpec")
    error = assert_error(gus.post("api/query", {**COUNT, "statistic": "mean", "column": "monthly_awrd"}),
                         400, "UnknownColumn")
    assert error["problems"][0]["field"] == "column" and "monthly_award" in error["problems"][0]["fix"]
    assert_error(gus.post("api/query", {**COUNT, "dataset": "nope"}), 404, "UnknownDataset")
    assert gus.remaining("welfare") == before


def test_a_10_mb_body_gets_413_unread(as_user):
    gus = as_user("gus")
    before = gus.remaining("welfare")
    response = gus.post("api/query", data=b"{" + b" " * (10 * 1024 * 1024) + b"}",
                        headers={"Content-Type": "application/json"})
    error = assert_error(response, 413, "BodyTooLarge")
    assert "64 KiB" in error["message"]

    def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(100):
            yield b" " * 1024

    assert_error(gus.post("api/preview", data=chunks()), 413, "BodyTooLarge")
    assert gus.remaining("welfare") == before


def test_a_body_cannot_name_another_user(as_user):
    alice, bob, admin = as_user("alice"), as_user("bob"), as_user("ada")
    alice_before, bob_before = alice.remaining("welfare"), len(spent_entries(admin, "bob"))
    for key in ("user", "as_user", "charge_to"):
        error = assert_error(alice.post("api/query", {**COUNT, key: "bob"}), 400, "BadSpec")
        assert error["problems"][0]["field"] == key
    assert alice.remaining("welfare") == alice_before
    assert len(spent_entries(admin, "bob")) == bob_before


def test_serialized_plans_are_refused(as_user):
    gus = as_user("gus")
    before = gus.remaining("welfare")
    for body in ({"dataset": "welfare", "plan": "gASVxxxx"}, {**COUNT, "filters": [{"expr": "gASV"}]},
                 {**COUNT, "column": "gASVlQAAAAAAAACMCGJ1aWx0aW5z"}):
        assert_error(gus.post("api/query", body), 400, "SerializedPlanRefused")
    assert gus.remaining("welfare") == before


def test_unknown_routes_and_methods_answer_json(as_user):
    assert_error(as_user("alice").get("api/nothing-here"), 404, "RouteNotFound")
    assert_error(as_user("alice").get("api/query"), 405, "MethodNotAllowed")
