"""DP twins (dp_marginals) at several ε beside the GaussianCopula twin, on the demo welfare table.

For each synthesizer the pipeline builds a twin of the same generated rows (release gates
off, so every build completes) and the runner prints: SDMetrics quality (the pipeline's
own evaluation), the mean total-variation distance over 3-way marginals between the
training rows and the twin (columns discretised on the DP twin's public cut points; up
to --triples random triples of modelled columns), and the build time.

    python benchmarks/dp_twin_bench.py --rows 20000 --epsilons 0.5 1 4

Not done here (see docs/twins.md): the bare OpenDP AIM baseline (AIM at ε=1 on 15
columns did not finish in 40 minutes on these machines, DESIGN §9).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
BUILD_STEPS = ("check data", "hold out", "fit", "sample", "finish twin", "write data")


def _policy():
    from lab.policies import load_policy

    return load_policy(REPO / "policies" / "welfare.yaml")


def build(frame: pd.DataFrame, synthesizer: str, parameters: dict, workdir: Path) -> tuple:
    from lab.policies import dataset_schema, synthesis_spec
    from synth.pipeline import DatasetInfo, build_twin
    from synth.spec import ReleaseGates

    policy = _policy()
    table = next(iter(policy.tables))
    spec = dataclasses.replace(synthesis_spec(policy), synthesizer=synthesizer, parameters=parameters,
                               utility_target=None)
    gates = ReleaseGates(None, None, None, None, None)
    start = time.perf_counter()
    result = build_twin({table: frame}, dataset_schema(policy), spec, gates, release_root=workdir / "twins",
                        staging_root=workdir / "staging", info=DatasetInfo(policy.title), progress=False)
    total = time.perf_counter() - start
    twin = pd.read_parquet(result.path / "data" / f"{table}.parquet")
    return result, twin, total


def mean_tv_3way(real: pd.DataFrame, twin: pd.DataFrame, bins: int, triples: int, seed: int) -> float:
    from lab.policies import dataset_schema
    from synth.dp.plan import make_plan

    schema = dataset_schema(_policy())
    plan = make_plan(schema.tables[0], {"epsilon": 1.0, "bins": bins})
    names = list(plan.domains)
    combos = list(itertools.combinations(names, 3))
    rng = np.random.default_rng(seed)
    chosen = [combos[i] for i in rng.choice(len(combos), size=min(triples, len(combos)), replace=False)]
    distances = []
    for combo in chosen:
        sizes = [plan.domains[c].size for c in combo]

        def histogram(frame: pd.DataFrame, combo=combo, sizes=sizes) -> np.ndarray:
            cell = np.zeros(len(frame), dtype="int64")
            for name, size in zip(combo, sizes):
                cell = cell * size + plan.domains[name].encode(frame[name])
            counts = np.bincount(cell, minlength=int(np.prod(sizes))).astype("float64")
            return counts / counts.sum()

        distances.append(0.5 * np.abs(histogram(real) - histogram(twin)).sum())
    return float(np.mean(distances))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epsilons", type=float, nargs="+", default=[0.5, 1.0, 4.0])
    parser.add_argument("--bins", type=int, default=10)
    parser.add_argument("--triples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from lab.demo import generate_welfare
    from lab.policies import dataset_schema
    from synth.checks import check_dataset

    policy = _policy()
    table = next(iter(policy.tables))
    frame = generate_welfare(args.rows, seed=args.seed)
    real = check_dataset({table: frame}, dataset_schema(policy))[table]
    runs = [("gaussian_copula", dict(policy.synthesis.parameters), "-")]
    runs += [("dp_marginals", {"epsilon": e, "bins": args.bins}, f"{e:g}") for e in args.epsilons]
    rows = []
    for synthesizer, parameters, epsilon in runs:
        with tempfile.TemporaryDirectory() as tmp:
            result, twin, total = build(frame, synthesizer, parameters, Path(tmp))
        rows.append({
            "synthesizer": synthesizer, "epsilon": epsilon,
            "quality": result.evaluation.quality.score,
            "tv_3way": mean_tv_3way(real, twin, args.bins, args.triples, args.seed),
            "build_s": sum(result.timings.get(s, 0.0) for s in BUILD_STEPS), "total_s": total,
        })
        print(rows[-1], flush=True)
    print(f"\nwelfare, {args.rows} rows, {len(real.columns)} columns, bins={args.bins}, "
          f"{args.triples} random 3-way marginals (TV: 0 identical, 1 disjoint)")
    print(f"{'synthesizer':<16} {'ε':>5} {'quality':>8} {'TV 3-way':>9} {'build s':>8} {'total s':>8}")
    for r in rows:
        print(f"{r['synthesizer']:<16} {r['epsilon']:>5} {r['quality']:>8.3f} {r['tv_3way']:>9.3f} "
              f"{r['build_s']:>8.1f} {r['total_s']:>8.1f}")


if __name__ == "__main__":
    main()
