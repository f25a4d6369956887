"""32 clients spend budgets at once through the real service; no budget is ever overspent.

Two races, each with 32 concurrent HTTP clients (threads, each with its own connection),
split between two service processes that share one ledger (as two vault replicas would,
and so that the check-and-charge is raced across processes, not only across the threads
of one), each with 8 worker threads:

* one user's allowance: 32 clients of the same user ask for 0.1 each against an allowance
  of 1. Exactly ten are granted (float arithmetic would grant nine, or eleven), every other
  request is refused with 409.
* one dataset's lifetime budget: 32 users (one client each) ask for 0.01 each against a
  dataset budget of 1, until refused. Exactly 100 are granted.

Afterwards, read from the ledger itself: spent never exceeds a limit, spent equals the sum
of the charges the clients were told about (exact Decimals), the ledger holds a
reservation for each granted query and none for a refusal, and
``Ledger.check_consistency()`` finds nothing. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import requests

from lab.vault import Ledger
from tests.reliability.conftest import welfare_policy
from tests.support.vault_service import VaultService, VaultSite

CLIENTS = 32
D = Decimal


def race(services: list[VaultService], tokens: list[str], dataset: str, epsilon: str,
         max_tries: int = 60) -> list[tuple]:
    """Every token's client asks until refused; returns (client, status, body) for every answer.

    Client ``n`` talks to ``services[n % len(services)]``.
    """
    answers: list[tuple[int, int, Any]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(tokens))

    def client(number: int, token: str) -> None:
        service = services[number % len(services)]
        with requests.Session() as session:
            start.wait(timeout=60)
            for _ in range(max_tries):
                status, body = service.call("POST", "api/query", token, session=session, timeout=120,
                                            json={"dataset": dataset, "statistic": "count", "epsilon": epsilon})
                with lock:
                    answers.append((number, status, body))
                if status != 200:
                    return

    threads = [threading.Thread(target=client, args=(n, t)) for n, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return answers


def budget(service: VaultService, token: str, dataset: str, scope: str) -> dict[str, Any]:
    status, body = service.call("GET", f"api/budgets?dataset={dataset}", token)
    assert status == 200, body
    [item] = [b for b in body["budgets"] if b["scope"] == scope]
    return item


def check_refusals(answers: list[tuple], scope: str) -> None:
    """Every refusal is a 409 BudgetExceeded naming the budget that stopped it, with no data."""
    refusals = [body for _, status, body in answers if status != 200]
    assert {status for _, status, _ in answers} <= {200, 409}, Counter(s for _, s, _ in answers)
    assert refusals
    for body in refusals:
        error = body["error"]
        assert error["type"] == "BudgetExceeded"
        assert "Nothing was charged" in error["message"] and error["fix"]
        assert scope in {s["scope"] for s in error["shortfalls"]}


def check_ledger(url: str, answers: list[tuple], dataset: str) -> None:
    """The ledger holds exactly the granted charges, each released, and is consistent."""
    granted = {body["charge"]["entry_id"]: D(body["charge"]["epsilon"]) for _, status, body in answers
               if status == 200}
    with Ledger(url) as ledger:
        assert ledger.check_consistency() == []
        reservations = [e for e in ledger.history(dataset=dataset) if e.action == "reserve"]
        assert {e.id: e.epsilon for e in reservations} == granted  # a refusal left no reservation
        assert {e.status for e in reservations} == {"released"}
        for status in ledger.budgets(dataset=dataset):
            assert status.spent <= status.limit
            charged = sum((e.epsilon for e in reservations if status.scope == "dataset" or e.actor == status.holder),
                          D(0))
            assert status.spent == charged, status


def run_races(site: VaultSite, services: list[VaultService]) -> None:
    site.add_policy("welfare", welfare_policy(dataset_epsilon="100", user_epsilon="1", query_epsilon_max="0.5"))
    site.add_policy("pool", welfare_policy("pool", dataset_epsilon="1", user_epsilon="0.5",
                                           query_epsilon_max="0.1"))
    alice = site.add_user("alice", groups=["analysts"])
    others = [site.add_user(f"user{n:02d}", groups=["analysts"]) for n in range(CLIENTS)]
    # These races are about the ledger, not admission control (tests/reliability/test_limits.py):
    # let one user run as many queries at once as the threads allow, so that they do race.
    site.config_file.write_text(f"vault_user_in_flight = {CLIENTS}\nvault_user_concurrency = 8\n"
                                f"vault_queue_limit = {CLIENTS}\n")
    pair = [VaultService(site, extra_args=("--workers", "8")) for _ in range(2)]
    services.extend(pair)
    for one in pair:
        one.start()
    service = pair[0]

    # One user's allowance: 32 clients of alice, 0.1 each, allowance 1.
    answers = race(pair, [alice.token] * CLIENTS, "welfare", "0.1")
    assert sum(status == 200 for _, status, _ in answers) == 10
    check_refusals(answers, "user")
    mine = budget(service, alice.token, "welfare", "user")
    assert (D(mine["spent"]), D(mine["remaining"])) == (D(1), D(0))
    check_ledger(site.ledger_url, answers, "welfare")

    # One dataset's budget: 32 users, 0.01 each, until the dataset's budget of 1 is gone.
    answers = race(pair, [u.token for u in others], "pool", "0.01", max_tries=200)
    assert sum(status == 200 for _, status, _ in answers) == 100
    check_refusals(answers, "dataset")
    assert D(budget(service, others[0].token, "pool", "dataset")["remaining"]) == 0
    check_ledger(site.ledger_url, answers, "pool")
    # Each user's charges add up to what the service says they spent.
    for number, user in enumerate(others):
        spent = sum((D(body["charge"]["epsilon"]) for n, status, body in answers if n == number and status == 200),
                    D(0))
        assert D(budget(service, user.token, "pool", "user")["spent"]) == spent


def test_32_clients_never_overspend_on_sqlite(make_site, services):
    run_races(make_site(), services)


@pytest.mark.postgres
def test_32_clients_never_overspend_on_postgresql(make_site, services, postgres_server):
    url = postgres_server.create_database(f"reliability_{uuid.uuid4().hex[:10]}")
    run_races(make_site(ledger_url=url), services)
