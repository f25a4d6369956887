"""Run the lab's benchmarks and print their tables.

    python benchmarks/run.py twins                 # twin pipeline vs bare SDV (10k, 100k, 1M rows)
    python benchmarks/run.py ledger                # ledger reservations/s, SQLite and PostgreSQL
    python benchmarks/run.py queries               # DP query latency: bare OpenDP, engine, service
    python benchmarks/run.py hub                   # hub start, spawn p50/p95, 5/10/20 people at once (root)
    python benchmarks/run.py dp-twins              # DP twins vs bare OpenDP AIM/MST and GaussianCopula, ε 0.5/1/4
    python benchmarks/run.py fidelity              # every synthesizer on demo and public tables: fidelity, privacy, utility
    python benchmarks/run.py abuse                 # the vault under abuse: DP latency, memory, refusals
    python benchmarks/run.py grading               # autograding 20 submissions: sandbox vs nbgrader's own (root)
    python benchmarks/run.py all
    python benchmarks/run.py twins -- --rows 10000 # arguments after -- go to the benchmark

Each benchmark is also a script of its own (`benchmarks/<name>_bench.py --help`). They
measure the bare libraries in the same run, so the ratios hold on any machine; absolute
figures depend on it (docs/benchmarks.md records ours).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "twins": "twin_bench.py",
    "ledger": "ledger_bench.py",
    "queries": "query_bench.py",
    "hub": "hub_bench.py",
    "dp-twins": "dp_twin_bench.py",
    "fidelity": "fidelity_bench.py",
    "abuse": "abuse_bench.py",
    "grading": "grading_bench.py",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=[*BENCHMARKS, "all"], help="which benchmark to run")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS) if args.benchmark == "all" else [args.benchmark]
    status = 0
    for name in names:
        print(f"\n== {name} ==", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / BENCHMARKS[name]), *extra])
    return status


if __name__ == "__main__":
    sys.exit(main())
