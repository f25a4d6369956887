"""SIGKILL the service in the middle of queries, 20 times; the ledger stays consistent.

Four clients send DP queries without pause while the service is killed with SIGKILL (no
handler, no cleanup: what an OOM kill or a power cut of the process looks like) at a
random moment, then started again on the same ledger, twenty times over. Afterwards:

* ``Ledger.check_consistency()`` finds nothing;
* every reservation either has a recorded outcome or shows as ``kept`` (the charge stands,
  because the release may have happened), and there are at most as many kept ones as
  requests that were in flight when the service died;
* every budget's spent equals the sum of every reservation's epsilon, kept ones included,
  and the service's own api/budgets says the same;
* every answer a client received is in the ledger as a released reservation of exactly
  the epsilon the answer says.
"""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal
from typing import Any

import requests

from lab.vault import Ledger
from tests.reliability.conftest import welfare_policy
from tests.support.vault_service import VaultService

KILLS = 20
CLIENTS = 4
D = Decimal
QUERIES = [
    {"dataset": "welfare", "statistic": "count", "epsilon": "0.01"},
    {"dataset": "welfare", "statistic": "mean", "column": "monthly_award", "group_by": ["region"], "epsilon": "0.02"},
    {"dataset": "welfare", "statistic": "median", "column": "age", "epsilon": "0.03"},
    {"dataset": "welfare", "statistic": "histogram", "column": "benefit_type", "group_by": ["sex"],
     "epsilon": "0.015"},
]


def test_sigkill_during_queries_leaves_a_consistent_ledger(make_site, services):
    site = make_site()
    site.add_policy("welfare", welfare_policy(dataset_epsilon="1000", user_epsilon="1000", query_epsilon_max="1",
                                              group_epsilon={"analysts": "1000"},
                                              queries_per_user_per_day=1_000_000))  # this test is about kills, not quotas
    alice = site.add_user("alice", groups=["analysts"])
    # Kills, not admission control (tests/reliability/test_limits.py): no rate or in-flight cap.
    site.config_file.write_text(f"vault_user_in_flight = {CLIENTS}\nvault_user_rate_per_s = 100000\n"
                                f"vault_user_burst = 100000\nvault_queue_limit = {CLIENTS}\n")
    service = VaultService(site)
    services.append(service)

    answers: list[dict[str, Any]] = []
    other: list[tuple[int, Any]] = []
    lock = threading.Lock()
    done = threading.Event()

    def client(number: int) -> None:
        rng = random.Random(number)
        session = requests.Session()
        while not done.is_set():
            try:
                status, body = service.call("POST", "api/query", alice.token, json=rng.choice(QUERIES),
                                            session=session, timeout=30)
            except requests.RequestException:  # the service died under us, or is not up yet
                session.close()
                session = requests.Session()
                time.sleep(0.02)
                continue
            with lock:
                (answers.append(body) if status == 200 else other.append((status, body)))
        session.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    rng = random.Random(2024)
    answered_at_kill: list[int] = []
    try:
        service.start()
        for thread in threads:
            thread.start()
        for _ in range(KILLS):
            # Wait until queries are flowing, then kill at a random moment among them.
            deadline = time.monotonic() + 30
            with lock:
                seen = len(answers)
            while time.monotonic() < deadline:
                with lock:
                    if len(answers) >= seen + 2:
                        break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.4))
            service.kill()
            with lock:
                answered_at_kill.append(len(answers))
            service.start()
        time.sleep(0.5)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)

    assert other == [], other[:3]  # only answers, or a connection cut by the kill: never an error status
    assert len(answers) > 2 * KILLS
    assert all(later > earlier for earlier, later in zip(answered_at_kill, answered_at_kill[1:]))

    status, body = service.call("GET", "api/budgets?dataset=welfare", alice.token)
    assert status == 200
    reported = {(b["scope"], b["holder"]): D(b["spent"]) for b in body["budgets"]}
    service.stop()

    with Ledger(site.ledger_url) as ledger:
        assert ledger.check_consistency() == []
        reservations = [e for e in ledger.history(dataset="welfare") if e.action == "reserve"]
        statuses = {e.id: e.status for e in reservations}
        assert set(statuses.values()) <= {"released", "failed", "kept"}
        kept = [e for e in reservations if e.status == "kept"]
        assert len(kept) <= KILLS * CLIENTS  # only requests in flight at a kill can lack an outcome
        total = sum((e.epsilon for e in reservations), D(0))
        spent = {(b.scope, b.holder): b.spent for b in ledger.budgets(dataset="welfare")}
        assert spent == {("dataset", ""): total, ("user", "alice"): total, ("group", "analysts"): total}
        assert reported == spent
        # Every answer delivered is a released reservation of exactly the epsilon it reports.
        by_id = {e.id: e for e in reservations}
        for answer in answers:
            entry = by_id[answer["charge"]["entry_id"]]
            assert entry.status == "released"
            assert entry.epsilon == D(answer["charge"]["epsilon"]) == D(answer["answer"]["epsilon"])
    print(f"{len(answers)} answers, {len(reservations)} reservations, {len(kept)} kept after {KILLS} kills")
