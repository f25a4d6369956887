"""The vault under abuse: DP latency idle and under abuse, memory, restarts, refusals by kind.

Seeded synthetic claims (default 1,000,000 rows) are the real data *and* (copied) the
released twin, so that previews are as large as they get. The standalone vault service
runs as a subprocess on 127.0.0.1 with its default limits. First an analyst runs DP
group-by means one after another (0.2 s apart) on an idle vault; then, for ``--seconds``, the same
analyst keeps querying while (tests/support/abuse_load.py):

  * three twin-only users each send 8 oversized previews at once, again and again
    (990-cell histograms, 'in' lists of a thousand values, filters over the scan limit,
    group-bys over the cell limit);
  * a flooder sends DP counts at epsilon 1e-12 and at the floor (0.01) as fast as it can;
  * each twin-only user also sends malformed bodies (a 5,000-digit integer, 5,000-deep
    nesting, 20,000-character strings, 1,500 filters, bad UTF-8, random bytes).

It prints DP p50/p95 idle and under abuse, the vault's peak RSS (VmRSS sampled, and the
kernel's VmHWM), restarts, the slowest preview, responses by status, refusals by kind,
the flooder's ledger rows, and the targets: 0 restarts, RSS <= 2 GiB, every preview
answered or refused within 10 s, DP p95 under abuse <= 3x idle, no 500, flood rows <= the
policy's daily limit.

    python benchmarks/abuse_bench.py [--rows 1000000] [--seconds 60] [--idle-queries 30]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from query_bench import POLICY as QUERY_BENCH_POLICY  # noqa: E402 - after the path set-up above

#: The flooder's daily limit on the bench dataset (the policy's queries_per_user_per_day).
DAILY_LIMIT = 400
#: The analyst's think time between DP queries (a person in a notebook; the same idle and under abuse).
PAUSE_S = 0.2
GIB = 2**30

#: query_bench's data and columns, with twin-only and analyst groups, a budget no run can
#: exhaust, and the daily limit under test.
POLICY = QUERY_BENCH_POLICY.replace(
    "budgets: {dataset_epsilon: 1000, user_epsilon: 1000, query_epsilon_max: 1}",
    "access: {twin_groups: [twins, analysts], query_groups: [analysts]}\n"
    "budgets: {dataset_epsilon: 1000000, user_epsilon: 100000, query_epsilon_max: 1, "
    f"queries_per_user_per_day: {DAILY_LIMIT}}}")

DP_QUERY = {"dataset": "bench", "statistic": "mean", "column": "income", "group_by": ["region"]}


def oversized_previews() -> list[dict]:
    """Previews as large as a user can write: some within the limits (heavy), some over them."""
    hist = {"dataset": "bench", "statistic": "histogram", "column": "income", "bin_count": 45,
            "group_by": ["region", "couple"]}
    return [
        hist,  # 990 groups: the most the cell limit allows
        {**hist, "filters": [{"column": "income", "op": "in", "value": [v + 0.5 for v in range(999)]},
                             {"column": "age", "op": "in", "value": list(range(1000, 1999))}]},  # just within
        {**hist, "filters": [{"column": "age", "op": "in", "value": list(range(i * 1000, i * 1000 + 1000))}
                             for i in range(5)]},  # 5,000 filter values: over the scan limit
        {**hist, "bin_count": 1000},  # 22,000 cells: over the cell limit
        {"dataset": "bench", "statistic": "quantile", "q": 0.9, "column": "income", "group_by": ["region", "couple"],
         "filters": [{"column": "income", "op": "in", "value": [v * 7.5 for v in range(999)]}]},
        {"dataset": "bench", "statistic": "mean", "column": "income", "group_by": ["region", "couple"]},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of data and of the twin (default 1,000,000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the abuse phase (default 60)")
    parser.add_argument("--idle-queries", type=int, default=30, help="DP queries timed on the idle vault (default 30)")
    args = parser.parse_args(argv)

    import polars as pl
    from query_bench import make_dataset, machine

    from tests.support.abuse_load import AbuseLoad, dp_latencies, p, release_copy_as_twin
    from tests.support.vault_service import VaultService, VaultSite

    print(f"before the run: {machine()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="abuse-bench-") as tmp:
        dataset = make_dataset(args.rows, Path(tmp) / "made")
        site = VaultSite(Path(tmp) / "site")
        site.add_policy("bench", POLICY)
        target = site.data_dir / "bench" / "claims.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(dataset.parquet, target)
        release_copy_as_twin(site, "bench", {"claims": pl.read_parquet(dataset.parquet).to_pandas()})
        analyst = site.add_user("analyst", groups=["analysts"])
        flooder = site.add_user("flooder", groups=["analysts"])
        twin_users = [site.add_user(f"twin{i}", groups=["twins"]) for i in range(3)]
        with VaultService(site) as service:
            idle = dp_latencies(service, analyst, DP_QUERY, args.idle_queries, pause_s=PAUSE_S)
            print(f"idle: {len(idle)} DP queries timed", flush=True)
            load = AbuseLoad(service, "bench", analyst, flooder, twin_users, oversized_previews(), DP_QUERY,
                             pause_s=PAUSE_S)
            report = load.run(args.seconds)
            status, health = service.call("GET", "api/health")
    return print_report(args, idle, report, health if status == 200 else {})


def print_report(args: argparse.Namespace, idle: list[float], report, health: dict) -> int:
    from query_bench import machine

    from tests.support.abuse_load import p

    print(f"\nThe vault under abuse: {args.rows:,} rows, {args.seconds:g} s of abuse; after: {machine()}")
    print(f"{'':<28} {'idle':>10} {'abuse':>10}")
    print(f"{'DP queries answered':<28} {len(idle):>10} {len(report.dp_ms):>10}")
    print(f"{'DP p50 (ms)':<28} {p(idle, 0.5):>10.1f} {p(report.dp_ms, 0.5):>10.1f}")
    print(f"{'DP p95 (ms)':<28} {p(idle, 0.95):>10.1f} {p(report.dp_ms, 0.95):>10.1f}")
    print(f"vault RSS peak: {report.rss_peak_bytes / 2**20:.0f} MiB sampled, {report.hwm_bytes / 2**20:.0f} MiB "
          "VmHWM (whole run)")
    print(f"restarts: {report.restarts}")
    print(f"previews: {len(report.preview_ms)} answered or refused; slowest {max(report.preview_ms, default=0):.0f} "
          f"ms, p95 {p(report.preview_ms, 0.95):.0f} ms")
    print("responses by status: " + ", ".join(f"{what} {status}: {n}" for (what, status), n in
                                             sorted(report.statuses.items())))
    print("refusals by kind (clients): " + ", ".join(f"{k}: {n}" for k, n in report.refusals.most_common()))
    print("refusals by kind (vault's api/health): " + ", ".join(
        f"{k}: {n}" for k, n in sorted(health.get("saturation", {}).get("refusals", {}).items())))
    print(f"flooder's ledger rows: {report.flood_reservations} (daily limit {DAILY_LIMIT})")
    for error in report.errors[:10]:
        print(f"  problem: {error}")
    peak = max(report.rss_peak_bytes, report.hwm_bytes)
    targets = [
        ("0 vault restarts", report.restarts == 0, f"{report.restarts}"),
        ("vault memory <= 2 GiB", peak <= 2 * GIB, f"{peak / 2**20:.0f} MiB"),
        ("every preview answered or refused within 10 s", max(report.preview_ms, default=0) <= 10_000,
         f"slowest {max(report.preview_ms, default=0):.0f} ms"),
        ("DP p95 under abuse <= 3 x idle p95", p(report.dp_ms, 0.95) <= 3 * p(idle, 0.95),
         f"{p(report.dp_ms, 0.95):.1f} <= {3 * p(idle, 0.95):.1f}"),
        ("no response with status 500", report.status_500 == 0, f"{report.status_500}"),
        ("flood ledger rows <= daily limit", 0 <= report.flood_reservations <= DAILY_LIMIT,
         f"{report.flood_reservations} <= {DAILY_LIMIT}"),
    ]
    print("targets:")
    missed = 0
    for name, ok, figure in targets:
        print(f"  {name:<48} {figure:>24}  {'met' if ok else 'MISSED'}")
        missed += not ok
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
