"""Twin pipeline speed and memory against bare SDV, on the demo welfare table.

For each size, two child processes run on the same training rows:
  * pipeline: lab's build (check, hold out, fit, sample, finish, write data; then report)
  * bare SDV: Metadata.detect_from_dataframes, GaussianCopulaSynthesizer fit + sample
and the runner prints build time, peak memory and SDMetrics quality of both, with the
pipeline/bare ratio of the build time without the report. Each side runs --repeats times,
alternating, and the median build time counts: on a shared 2-core machine one run of SDV's
fit varies by a third.

    python benchmarks/twin_bench.py --rows 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Steps of the pipeline's build before evaluation and report: what bare SDV also does.
BUILD_STEPS = ("check data", "hold out", "fit", "sample", "finish twin", "write data")


def _welfare(rows: int, seed: int):
    from lab.demo import generate_welfare

    return generate_welfare(rows, seed=seed)


def run_pipeline(rows: int, seed: int, workdir: Path) -> dict:
    from lab.policies import dataset_schema, load_policy, release_gates, synthesis_spec
    from synth.pipeline import DatasetInfo, build_twin

    policy = load_policy(REPO / "policies" / "welfare.yaml")
    table = next(iter(policy.tables))
    frame = _welfare(rows, seed)
    start = time.perf_counter()
    build = build_twin({table: frame}, dataset_schema(policy), synthesis_spec(policy), release_gates(policy),
                       release_root=workdir / "twins", staging_root=workdir / "staging",
                       info=DatasetInfo(policy.title), progress=False)
    total = time.perf_counter() - start
    return {
        "build_s": sum(build.timings[s] for s in BUILD_STEPS),
        "total_s": total,
        "timings": build.timings,
        "quality": build.evaluation.quality.score,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "train_rows": build.evaluation.privacy.twin_rows_checked,
    }


def run_bare(rows: int, seed: int, workdir: Path) -> dict:
    """Bare SDV on the same training rows the pipeline uses (identifiers removed, holdout out)."""
    import numpy as np
    import pandas as pd
    from sdv.evaluation import evaluate_quality
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    from lab.policies import dataset_schema, load_policy, synthesis_spec
    from synth.checks import check_dataset

    policy = load_policy(REPO / "policies" / "welfare.yaml")
    table = next(iter(policy.tables))
    schema, spec = dataset_schema(policy), synthesis_spec(policy)
    frame = check_dataset({table: _welfare(rows, seed)}, schema)[table]
    held = np.random.default_rng(spec.seed).random(len(frame)) < spec.holdout_fraction
    modelled = [c.name for c in schema.table(table).modelled_columns]
    train = frame.loc[~held, modelled].reset_index(drop=True)
    start = time.perf_counter()
    metadata = Metadata.detect_from_dataframes({table: train})
    synthesizer = GaussianCopulaSynthesizer(metadata, **spec.parameters)
    synthesizer.fit({table: train})
    twin = synthesizer.sample(num_rows=len(train))[table]
    build = time.perf_counter() - start
    sample = min(spec.evaluation_rows, len(train))
    report = evaluate_quality({table: train.sample(n=sample, random_state=spec.seed)},
                              {table: twin.sample(n=sample, random_state=spec.seed + 1)}, metadata, verbose=False)
    scores = [float(s) for s in report.get_properties()["Score"] if pd.notna(s)]
    return {"build_s": build, "quality": sum(scores) / len(scores),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(kind: str, rows: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--rows", str(rows), "--seed", str(seed),
                              "--workdir", workdir], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} at {rows} rows failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_run(runs: list[dict]) -> dict:
    """The run with the median build time (its other figures come with it); peak memory is the largest."""
    ordered = sorted(runs, key=lambda run: run["build_s"])
    return {**ordered[len(ordered) // 2], "peak_mib": max(run["peak_mib"] for run in runs),
            "build_runs_s": [round(run["build_s"], 2) for run in runs]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="welfare table sizes (default: 10000 100000 1000000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each side per size, alternating; times are medians (default: 3)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", choices=["pipeline", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        runner = run_pipeline if args.child == "pipeline" else run_bare
        print(json.dumps(runner(args.rows[0], args.seed, args.workdir)))
        return 0
    results = []
    header = f"{'rows':>9} | {'pipeline build s':>16} | {'bare SDV s':>10} | {'ratio':>5} | " \
             f"{'with report s':>13} | {'pipeline MiB':>12} | {'bare MiB':>8} | {'quality pipe':>12} | {'quality bare':>12}"
    print(header)
    print("-" * len(header))
    for rows in args.rows:
        # Alternate the two sides so that a busy moment of the machine hits both alike.
        runs = [(_child("pipeline", rows, args.seed), _child("bare", rows, args.seed)) for _ in range(args.repeats)]
        pipeline, bare = _median_run([p for p, _ in runs]), _median_run([b for _, b in runs])
        ratio = pipeline["build_s"] / bare["build_s"]
        results.append({"rows": rows, "pipeline": pipeline, "bare": bare, "ratio": ratio})
        print(f"{rows:>9,} | {pipeline['build_s']:>16.1f} | {bare['build_s']:>10.1f} | {ratio:>5.2f} | "
              f"{pipeline['total_s']:>13.1f} | {pipeline['peak_mib']:>12,.0f} | {bare['peak_mib']:>8,.0f} | "
              f"{pipeline['quality']:>12.3f} | {bare['quality']:>12.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
