"""The privacy-loss ledger, on a real SQLite file and on a real PostgreSQL server.

Every test that takes ``ledger`` runs on both backends: what a user or an auditor would
notice (exact sums, refusals that charge nothing, kept reservations, history, exports,
no overspend under concurrency) must not depend on the database.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lab.errors import DatasetNotFound
from lab.policies.model import Policy
from lab.vault import (
    BudgetExceeded,
    BudgetFrozen,
    InvalidAmount,
    InvalidLedgerInput,
    Ledger,
    LedgerError,
    LedgerUnavailable,
    OutcomeAlreadyRecorded,
    QueryCapExceeded,
    ReservationNotFound,
    read_csv,
    read_json,
)

D = Decimal
START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)


def make_policy(dataset: str = "claims", *, dataset_epsilon: str = "10", user_epsilon: str = "1",
                query_epsilon_max: str = "0.5", group_epsilon: dict[str, str] | None = None) -> Policy:
    return Policy.model_validate({
        "policy_version": 1, "dataset": dataset, "title": "Benefit claims", "owner": "Benefits data owner",
        "tables": {"claims": {"path": "claims/claims.csv", "columns": {"age": {"type": "integer",
                                                                                "bounds": [16, 100]}}}},
        "budgets": {"dataset_epsilon": dataset_epsilon, "user_epsilon": user_epsilon,
                    "query_epsilon_max": query_epsilon_max, "group_epsilon": group_epsilon or {}},
    })


class Clock:
    """A clock that ticks one second per reading, so entries have distinct, known times."""

    def __init__(self) -> None:
        self.now = START
        self.lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self.lock:
            self.now += dt.timedelta(seconds=1)
            return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vault' / 'ledger.sqlite'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"ledger_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def make_ledger(ledger_url: str) -> Iterator:
    opened: list[Ledger] = []

    def make(**policy: object) -> Ledger:
        ledger = Ledger(ledger_url, clock=Clock())
        opened.append(ledger)
        ledger.ensure_schema()
        ledger.sync_policies({"claims": make_policy(**policy)})  # type: ignore[arg-type]
        return ledger

    yield make
    for ledger in opened:
        ledger.close()


def spend(ledger: Ledger, epsilon: str, user: str = "alice", groups: tuple[str, ...] = ()):
    return ledger.reserve(user=user, groups=groups, dataset="claims", epsilon=D(epsilon), kind="dp_query",
                          description={"query": "mean", "column": "age"})


def state(ledger: Ledger) -> tuple:
    """Everything a refusal must leave untouched."""
    return (ledger.budgets(), len(ledger.history()))


def test_ten_charges_of_a_tenth_fit_a_budget_of_one_and_the_eleventh_is_refused(make_ledger):
    ledger = make_ledger(user_epsilon="1")
    for _ in range(10):
        spend(ledger, "0.1")
    [dataset, alice] = ledger.budgets(user="alice")
    assert (alice.spent, alice.remaining, dataset.spent) == (D("1"), D("0"), D("1"))

    before = state(ledger)
    with pytest.raises(BudgetExceeded) as refused:
        spend(ledger, "0.1")
    assert state(ledger) == before
    [short] = refused.value.shortfalls
    assert (short.scope, short.holder, short.remaining, short.overspend) == ("user", "alice", D("0"), D("0.1"))
    message = refused.value.message
    assert "the allowance of user 'alice' has ε=0 left of 1" in message
    assert "Nothing was charged" in message and "top-up" in message and "Benefits data owner" in message
    assert ledger.check_consistency() == []


@pytest.mark.parametrize("case", ["dataset", "user", "group", "query cap"])
def test_each_budget_refuses_on_its_own_and_charges_nothing(make_ledger, case):
    ledger = make_ledger(dataset_epsilon="0.5" if case == "dataset" else "10",
                         user_epsilon="0.5" if case == "user" else "5",
                         group_epsilon={"team-a": "0.5" if case == "group" else "5"}, query_epsilon_max="1")
    spend(ledger, "0.4", "alice", ("team-a",))
    others = {"dataset": ("bob", ()), "user": ("alice", ()), "group": ("bob", ("team-a",)),
              "query cap": ("bob", ())}
    user, groups = others[case]
    amount = "1.5" if case == "query cap" else "0.2"
    before = state(ledger)
    error = QueryCapExceeded if case == "query cap" else BudgetExceeded
    with pytest.raises(error) as refused:
        spend(ledger, amount, user, groups)
    assert state(ledger) == before
    if case != "query cap":
        assert [s.scope for s in refused.value.shortfalls] == [case]
        assert refused.value.shortfalls[0].remaining == D("0.1")
    else:
        assert "at most ε=1" in refused.value.message
    # Someone the exhausted budget does not apply to can still spend.
    if case in ("user", "group"):
        spend(ledger, "0.2", "carol")


def test_frozen_budgets_refuse_until_unfrozen_and_admin_actions_are_entries(make_ledger):
    ledger = make_ledger(group_epsilon={"team-a": "2"})
    ledger.freeze(dataset="claims", user="alice", reason="suspicious pattern", actor="admin")
    with pytest.raises(BudgetFrozen, match="the allowance of user 'alice'.*frozen"):
        spend(ledger, "0.1", "alice")
    spend(ledger, "0.1", "bob", ("team-a",))
    ledger.freeze(dataset="claims", group="team-a", reason="hackathon over", actor="admin")
    with pytest.raises(BudgetFrozen):
        spend(ledger, "0.1", "bob", ("team-a",))
    spend(ledger, "0.1", "bob")  # outside the team, bob's own allowance still applies
    ledger.freeze(dataset="claims", reason="data owner review", actor="owner")
    with pytest.raises(BudgetFrozen, match="the dataset's lifetime budget"):
        spend(ledger, "0.1", "carol")

    for target in ({"user": "alice"}, {"group": "team-a"}, {}):
        ledger.unfreeze(dataset="claims", reason="resolved", actor="admin", **target)
    spend(ledger, "0.1", "alice")
    spend(ledger, "0.1", "bob", ("team-a",))
    admin = [(e.action, e.actor, e.description["reason"], e.totals[0].scope)
             for e in ledger.history() if e.action in ("freeze", "unfreeze")]
    assert admin == [("freeze", "admin", "suspicious pattern", "user"), ("freeze", "admin", "hackathon over", "group"),
                     ("freeze", "owner", "data owner review", "dataset"), ("unfreeze", "admin", "resolved", "user"),
                     ("unfreeze", "admin", "resolved", "group"), ("unfreeze", "admin", "resolved", "dataset")]
    assert not any(b.frozen for b in ledger.budgets())


def test_top_up_raises_a_limit_and_is_recorded(make_ledger):
    ledger = make_ledger(user_epsilon="0.2")
    spend(ledger, "0.2")
    with pytest.raises(BudgetExceeded):
        spend(ledger, "0.1")
    entry = ledger.top_up(dataset="claims", user="alice", epsilon=D("0.1"), reason="ticket 42", actor="owner")
    assert (entry.action, entry.actor, entry.epsilon, entry.description) == ("top_up", "owner", D("0.1"),
                                                                              {"reason": "ticket 42"})
    assert [(t.scope, t.holder, t.spent, t.limit) for t in entry.totals] == [("user", "alice", D("0.2"), D("0.3"))]
    spend(ledger, "0.1")
    [_, alice] = ledger.budgets(user="alice")
    assert (alice.limit, alice.policy_limit, alice.top_ups, alice.remaining) == (D("0.3"), D("0.2"), D("0.1"), D(0))
    assert [e.action for e in ledger.history(user="alice")][-2:] == ["top_up", "reserve"]

    with pytest.raises(LedgerError, match="group 'nobody' has no allowance"):
        ledger.top_up(dataset="claims", group="nobody", epsilon="1", reason="x", actor="owner")
    with pytest.raises(InvalidLedgerInput, match="reason"):
        ledger.top_up(dataset="claims", epsilon="1", reason=" ", actor="owner")
    assert ledger.check_consistency() == []


def test_concurrent_clients_never_overspend(make_ledger):
    # 32 clients in two teams charge 0.01 until refused. The dataset's budget (0.5) binds
    # after each team's (0.3) could, so the total must land on 0.5 exactly.
    ledger = make_ledger(dataset_epsilon="0.5", user_epsilon="1", group_epsilon={"a": "0.3", "b": "0.3"})
    granted: list = []
    errors: list = []
    start = threading.Barrier(32)

    def client(number: int) -> None:
        user, team = f"user{number}", ("a" if number % 2 else "b",)
        start.wait()
        while True:
            try:
                reservation = spend(ledger, "0.01", user, team)
            except BudgetExceeded:
                return
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
                return
            granted.append(reservation)
            if reservation.id % 2:
                ledger.record(reservation.id, "released")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    budgets = {(b.scope, b.holder): b for b in ledger.budgets()}
    assert budgets["dataset", ""].spent == D("0.5") == sum(r.epsilon for r in granted)
    assert len(granted) == 50
    assert budgets["group", "a"].spent <= D("0.3") and budgets["group", "b"].spent <= D("0.3")
    assert budgets["group", "a"].spent + budgets["group", "b"].spent == D("0.5")
    assert sum(b.spent for (scope, _), b in budgets.items() if scope == "user") == D("0.5")
    assert ledger.check_consistency() == []


def test_a_reservation_without_outcome_is_kept_and_nothing_is_refunded(make_ledger, ledger_url):
    ledger = make_ledger()
    released, failed, crashed = (spend(ledger, "0.1") for _ in range(3))
    ledger.record(released.id, "released", {"release": "r-1"})
    ledger.record(failed.id, "failed", {"error": "timeout"})
    ledger.close()  # the service "crashes" before recording the third outcome

    reopened = Ledger(ledger_url)
    statuses = {e.id: e.status for e in reopened.history() if e.action == "reserve"}
    assert statuses == {released.id: "released", failed.id: "failed", crashed.id: "kept"}
    assert reopened.budgets(user="alice")[1].spent == D("0.3")
    with pytest.raises(OutcomeAlreadyRecorded):
        reopened.record(released.id, "failed")
    with pytest.raises(ReservationNotFound):
        reopened.record(10_000, "released")
    with pytest.raises(InvalidLedgerInput, match="outcome"):
        reopened.record(crashed.id, "maybe")  # type: ignore[arg-type]
    assert reopened.check_consistency() == []
    reopened.close()


def test_bad_amounts_and_inputs_are_refused_before_anything_is_charged(make_ledger):
    ledger = make_ledger()
    before = state(ledger)
    for amount in ("0", "-0.1", "NaN", "sNaN", "Infinity", "-Infinity", "1e-13", "0.0000000000001", "abc",
                   "2000000", 0.1, 1.0, True, None, D("0.1000000000000000000000000000000000000000001")):
        with pytest.raises(InvalidAmount):
            ledger.reserve(user="alice", groups=(), dataset="claims", epsilon=amount, kind="dp_query",  # type: ignore[arg-type]
                           description={})
    for bad in ({"user": ""}, {"kind": "DROP TABLE"}, {"description": {"values": [float("nan")]}},
                {"description": {"x": "y" * 5000}}, {"description": ["not", "a", "dict"]}):
        arguments = {"user": "alice", "groups": (), "dataset": "claims", "epsilon": D("0.1"), "kind": "dp_query",
                     "description": {}} | bad
        with pytest.raises(InvalidLedgerInput):
            ledger.reserve(**arguments)
    with pytest.raises(DatasetNotFound, match="no policy gives dataset 'taxes'"):
        ledger.reserve(user="alice", groups=(), dataset="taxes", epsilon=D("0.1"), kind="dp_query", description={})
    assert state(ledger) == before
    assert spend(ledger, "0.000000000001").epsilon == D("1E-12")  # the unit itself is fine


def test_exports_round_trip(make_ledger):
    ledger = make_ledger(group_epsilon={"team-a": "1"})
    first = spend(ledger, "0.25", "alice", ("team-a", "staff"))
    ledger.record(first.id, "released", {"note": "commas, \"quotes\"\nand newlines"})
    spend(ledger, "0.125", "bob")
    ledger.top_up(dataset="claims", group="team-a", epsilon="0.5", reason="ticket 7", actor="owner")
    ledger.freeze(dataset="claims", user="bob", reason="paused", actor="owner")
    history = ledger.history()
    assert [e.action for e in history] == ["policy", "reserve", "outcome", "reserve", "top_up", "freeze"]
    assert history[1].groups == ("staff", "team-a") and history[1].at == START + dt.timedelta(seconds=2)

    as_csv, as_json = io.StringIO(), io.StringIO()
    assert ledger.export_csv(as_csv) == ledger.export_json(as_json) == 6
    assert read_csv(io.StringIO(as_csv.getvalue())) == history
    assert read_json(io.StringIO(as_json.getvalue())) == history
    only_bob = io.StringIO()
    ledger.export_json(only_bob, user="bob")
    assert [e.action for e in read_json(io.StringIO(only_bob.getvalue()))] == ["reserve", "freeze"]


def test_a_policy_change_moves_limits_and_keeps_history(make_ledger):
    ledger = make_ledger(user_epsilon="1")
    spend(ledger, "0.5")
    changes = ledger.sync_policies({"claims": make_policy(user_epsilon="0.4", group_epsilon={"team-a": "1"})})
    assert changes == ["claims: group_epsilon.team-a (none) -> 1", "claims: user_epsilon 1 -> 0.4"]
    assert ledger.sync_policies({"claims": make_policy(user_epsilon="0.4", group_epsilon={"team-a": "1"})}) == []
    [_, alice] = ledger.budgets(user="alice")
    assert (alice.limit, alice.spent, alice.remaining) == (D("0.4"), D("0.5"), D("0"))
    with pytest.raises(BudgetExceeded):
        spend(ledger, "0.1")

    assert ledger.sync_policies({}) == ["claims: retired (no policy declares it; its history stays)"]
    with pytest.raises(DatasetNotFound):
        spend(ledger, "0.1", "bob")
    assert ledger.budgets() == []
    ledger.sync_policies({"claims": make_policy(user_epsilon="0.4")})
    assert spend(ledger, "0.1", "bob").epsilon == D("0.1")
    assert [e.action for e in ledger.history()] == ["policy", "reserve", "policy", "policy", "policy", "reserve"]
    assert ledger.check_consistency() == []


def test_budgets_show_a_new_users_whole_allowance(make_ledger):
    ledger = make_ledger(user_epsilon="1", group_epsilon={"team-a": "3"})
    statuses = ledger.budgets(user="newcomer", groups=["team-a", "unknown"])
    assert [(s.scope, s.holder, s.limit, s.remaining) for s in statuses] == [
        ("dataset", "", D("10"), D("10")), ("user", "newcomer", D("1"), D("1")), ("group", "team-a", D("3"), D("3"))]
    assert ledger.history(user="newcomer") == []


def test_history_cannot_be_rewritten(make_ledger, ledger_url):
    ledger = make_ledger()
    spend(ledger, "0.1")
    engine = sa.create_engine(ledger_url)
    try:
        for statement in ("UPDATE ledger_entries SET units = 0", "DELETE FROM ledger_entries",
                          "UPDATE ledger_lines SET spent_after = 0", "DELETE FROM ledger_lines"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
    assert len(ledger.history()) == 2


def test_check_consistency_reports_a_tampered_total(make_ledger, ledger_url):
    ledger = make_ledger()
    spend(ledger, "0.3")
    engine = sa.create_engine(ledger_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE ledger_budgets SET spent_units = 0 WHERE scope = 'user'")
    engine.dispose()
    assert ledger.check_consistency() == [
        "the allowance of user 'alice' on 'claims': spent 0, but its journal lines sum to 0.3"]


def test_database_errors_reach_the_user_without_sql(tmp_path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'never-initialised.sqlite'}")
    with pytest.raises(LedgerUnavailable) as unavailable:
        spend(ledger, "0.1")
    message = unavailable.value.message
    assert "could not reserve privacy budget" in message and "it was not granted" in message
    assert "SELECT" not in message and "sqlite" not in message.lower()
    ledger.close()
