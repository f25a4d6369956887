"""Ledger reservations per second on SQLite and PostgreSQL, and proof of no overspend.

For each backend and each number of concurrent clients (separate processes by default,
which is what many notebook kernels hitting the vault service look like to SQLite), two
phases run on a fresh ledger:

  throughput  every client reserves small amounts (as a user in one of four groups, so a
              charge locks the dataset's, the user's and a group's budget) and records each
              outcome, in a loop until the time limit; reservations/s counts granted
              reservations (each one a reserve and a record transaction).
  exhaustion  every client hammers a small budget (--race-charges charges' worth) until
              refused: exactly that many must be granted, never one more.

Afterwards every budget must satisfy spent <= limit, spent == the sum of granted charges,
and Ledger.check_consistency() must find nothing; "overspend" is the total by which any
budget went over (must be 0). PostgreSQL runs on a throw-away server with fsync on
(tests/support/postgres.py); SQLite on a file with WAL and synchronous=FULL.

    python benchmarks/ledger_bench.py                       # both backends, 1/8/32 clients, 5 s each
    python benchmarks/ledger_bench.py --seconds 2 --backends sqlite --clients 32
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make `lab` and `tests.support` importable
    sys.path.insert(0, str(REPO))

GROUPS = ("g0", "g1", "g2", "g3")
CHARGE = Decimal("0.001")
COLUMNS = ("backend", "clients", "reservations", "seconds", "reservations/s", "overspend", "exhaustion")


def client(url: str, number: int, seconds: float, gate: Any, results: Any) -> None:
    """One client: reserve-and-record until the time is up, then exhaust the race budget."""
    from lab.vault import BudgetRefused, Ledger

    user, groups = f"user{number}", [GROUPS[number % len(GROUPS)]]
    counts = []
    with Ledger(url, busy_timeout=120) as ledger:
        for dataset, deadline_after in (("bench", seconds), ("race", None)):
            gate.wait()
            deadline = None if deadline_after is None else time.monotonic() + deadline_after
            granted = 0
            while deadline is None or time.monotonic() < deadline:
                try:
                    reservation = ledger.reserve(user=user, groups=groups, dataset=dataset, epsilon=CHARGE,
                                                 kind="dp_query", description={"bench": number})
                except BudgetRefused:
                    if deadline is None:
                        break
                    continue
                granted += 1
                ledger.record(reservation.id, "released")
            counts.append(granted)
    results.put(tuple(counts))


def run_clients(url: str, clients: int, seconds: float, mode: str) -> tuple[int, float, int]:
    """Run both phases with ``clients`` concurrent clients.

    Returns:
        (reservations granted in the throughput phase, its length in seconds, reservations
        granted in the exhaustion phase).
    """
    if mode == "process":
        context = mp.get_context("spawn")
        gate, results = context.Barrier(clients + 1), context.Queue()
        workers: list[Any] = [context.Process(target=client, args=(url, n, seconds, gate, results))
                              for n in range(clients)]
    else:
        import queue

        gate, results = threading.Barrier(clients + 1), queue.Queue()
        workers = [threading.Thread(target=client, args=(url, n, seconds, gate, results)) for n in range(clients)]
    for worker in workers:
        worker.start()
    gate.wait(timeout=300)  # every client has opened its ledger: start the clock
    began = time.perf_counter()
    gate.wait(timeout=seconds + 300)  # every client has finished the throughput phase
    elapsed = time.perf_counter() - began
    counts = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return sum(c[0] for c in counts), elapsed, sum(c[1] for c in counts)


def measure(backend: str, url: str, clients: int, seconds: float, race_charges: int, mode: str) -> dict[str, Any]:
    from lab.vault import Ledger

    with Ledger(url) as ledger:
        ledger.ensure_schema()
        ledger.set_limits("bench", dataset_epsilon="1000000", user_epsilon="1000000", query_epsilon_max="1",
                          group_epsilon={group: "1000000" for group in GROUPS})
        ledger.set_limits("race", dataset_epsilon=str(CHARGE * race_charges), user_epsilon="1000000",
                          query_epsilon_max="1", group_epsilon={group: "1000000" for group in GROUPS})
    granted, elapsed, raced = run_clients(url, clients, seconds, mode)
    with Ledger(url) as ledger:
        budgets = ledger.budgets()
        problems = ledger.check_consistency()
        charged = {dataset: sum(e.epsilon for e in ledger.history(dataset=dataset) if e.action == "reserve")
                   for dataset in ("bench", "race")}
    overspend = sum((max(b.spent - b.limit, Decimal(0)) for b in budgets), Decimal(0))
    totals = {b.dataset: b.spent for b in budgets if b.scope == "dataset"}
    if totals != charged or charged["bench"] != granted * CHARGE or charged["race"] != raced * CHARGE:
        problems.append(f"totals {totals} differ from the charges granted ({granted} and {raced} x {CHARGE})")
    return {"backend": backend, "clients": clients, "reservations": granted, "seconds": round(elapsed, 2),
            "reservations/s": round(granted / elapsed, 1), "overspend": format(overspend.normalize(), "f"),
            "exhaustion": f"{raced}/{race_charges}", "problems": problems}


def run(backends: list[str], client_counts: list[int], seconds: float, race_charges: int, mode: str,
        report: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    rows = []
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(prefix="ledger-bench-") as directory:
            for clients in client_counts:
                url = f"sqlite:///{Path(directory) / f'ledger-{clients}.sqlite'}"
                rows.append(measure("sqlite", url, clients, seconds, race_charges, mode))
                report(rows[-1])
    if "postgres" in backends:
        from tests.support.postgres import PostgresServer

        with PostgresServer(durable=True) as server:
            for clients in client_counts:
                url = server.create_database(f"bench_{clients}_{uuid.uuid4().hex[:6]}")
                rows.append(measure("postgres", url, clients, seconds, race_charges, mode))
                report(rows[-1])
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    cells = [[str(row[c]) for c in COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput phase, in seconds")
    parser.add_argument("--race-charges", type=int, default=200,
                        help="the exhaustion phase's budget, in charges of 0.001 epsilon")
    parser.add_argument("--mode", choices=("process", "thread"), default="process",
                        help="clients as processes (default) or threads of one process")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    counts = [int(c) for c in args.clients.split(",")]
    print(f"ledger benchmark: {args.mode} clients, {args.seconds:g} s per run, charges of {CHARGE} epsilon",
          file=sys.stderr)
    before = ", ".join(f"{v:.2f}" for v in os.getloadavg())  # other work on the machine, before our clients
    rows = run(backends, counts, args.seconds, args.race_charges, args.mode,
               lambda row: print(f"  done: {row['backend']} x {row['clients']}", file=sys.stderr))
    after = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"ledger reservations on {os.cpu_count()} cores ({args.mode} clients, {args.seconds:g} s per run; "
          f"load average over 1, 5, 15 min: {before} before, {after} after, the clients included)")
    print(format_table(rows))
    failed = [f"{r['backend']} x {r['clients']}: {p}" for r in rows for p in r["problems"]]
    failed += [f"{r['backend']} x {r['clients']}: overspend {r['overspend']}" for r in rows
               if Decimal(r["overspend"]) != 0]
    failed += [f"{r['backend']} x {r['clients']}: exhaustion granted {r['exhaustion']}" for r in rows
               if r["exhaustion"].split("/")[0] != r["exhaustion"].split("/")[1]]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"mode": args.mode, "seconds": args.seconds, "rows": rows}, indent=2))
    for problem in failed:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
