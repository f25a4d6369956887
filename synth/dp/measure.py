"""The only code of a DP twin that touches the real data: OpenDP measurements.

Each row is first mapped to its public cell index per column (a per-row map, which does
not change a person's number of rows). From there, every output is released by an OpenDP
measurement of the plan, in the plan's order: the 1-way marginals, then (selection
``mst``) the n-1 tree pairs chosen one at a time, then the pairs' 2-way marginals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from synth.dp.generate import normalise
from synth.dp.plan import DPPlan, Step, count_measurement, orient_tree, select_measurement
from synth.dp.private_domain import binned_domain, fine_grid, grouped_domain
from synth.errors import SynthesisError


@dataclass(frozen=True)
class Measured:
    """What a DP twin keeps of the real data: noisy counts, the pairs selected, and the cells
    (domains) chosen under DP."""

    counts: dict[tuple[str, ...], np.ndarray]
    edges: tuple[tuple[str, str], ...]  # (parent, child), parents first
    domains: dict[str, Any] = field(default_factory=dict)


def measure(plan: DPPlan, frame: pd.DataFrame) -> Measured:
    """Noisy counts of every marginal of the plan (and the selected tree, for ``mst``).

    Domain steps come first: their noisy counts choose the cells every later step counts in.
    """
    plan = replace(plan, domains=choose_domains(plan, frame))
    codes = {name: domain.encode(frame[name]) for name, domain in plan.domains.items()}
    steps = {kind: [s for s in plan.steps if s.kind == kind] for kind in ("one-way", "select", "pair")}
    noisy: dict[tuple[str, ...], np.ndarray] = {}
    for step in steps["one-way"]:
        noisy[step.columns] = _count(step, plan, codes, step.columns)
    if plan.selection == "mst":
        import opendp.prelude as dp

        dp.enable_features("honest-but-curious")  # for the score transformation only (see _select_tree)
        try:
            chosen = _select_tree(plan, steps["select"], codes, noisy)
        finally:
            dp.disable_features("honest-but-curious")
        edges = tuple(orient_tree(list(plan.domains), [list(p) for p in chosen]))
    else:
        edges = plan.edges
    for step, edge in zip(steps["pair"], edges):
        noisy[edge] = _count(step, plan, codes, edge)
    return Measured(noisy, edges, dict(plan.domains))


def choose_domains(plan: DPPlan, frame: pd.DataFrame) -> dict[str, Any]:
    """The plan's domains, with cut points and frequent levels chosen from noisy fine counts.

    Each domain step counts one column on its public fine grid (or its public level list)
    with OpenDP; the cells are post-processing of those counts.
    """
    domains: dict[str, Any] = dict(plan.domains)
    for step in (s for s in plan.steps if s.kind == "domain"):
        (name,) = step.columns
        public = plan.domains[name]
        grid = fine_grid(public.column) if public.edges is not None else public
        measurement = count_measurement(grid.size, plan.loss_target, step.scale)
        _same_price(measurement.map(plan.max_rows_per_person), step)
        noisy = np.asarray(measurement(grid.encode(frame[name]).tolist()), dtype="float64")
        domains[name] = binned_domain(grid, noisy, plan.bins) if public.edges is not None \
            else grouped_domain(public, noisy, plan.max_levels)
    return domains


def _cells(plan: DPPlan, codes: dict[str, np.ndarray], columns: tuple[str, ...]) -> np.ndarray:
    cell = np.zeros(len(next(iter(codes.values()))), dtype="int64")
    for name in columns:
        cell = cell * plan.domains[name].size + codes[name]
    return cell


def _count(step: Step, plan: DPPlan, codes: dict[str, np.ndarray], columns: tuple[str, ...]) -> np.ndarray:
    cells = int(np.prod([plan.domains[c].size for c in columns]))
    measurement = count_measurement(cells, plan.loss_target, step.scale)
    _same_price(measurement.map(plan.max_rows_per_person), step)
    return np.asarray(measurement(_cells(plan, codes, columns).tolist()), dtype="int64")


def _select_tree(plan: DPPlan, steps: list[Step], codes: dict[str, np.ndarray],
                 noisy: dict[tuple[str, ...], np.ndarray]) -> list[tuple[str, str]]:
    """MST's selection: n-1 rounds of report-noisy-max over the pairs that join two components.

    A pair's score is the L1 distance between its real counts and what the independent
    model predicts from the noisy 1-way marginals, less the noise its measurement will add
    (public). Adding or removing a person's rows moves each pair's counts by at most
    ``max_rows_per_person`` in L1, so each score moves by at most that (the stability
    OpenDP's own MST asserts); the scores are computed inside an OpenDP transformation.
    """
    import opendp.prelude as dp

    dp.enable_features("contrib")
    total = max(1.0, float(np.clip(noisy[(plan.root,)], 0, None).sum()))
    expected = {pair: total * np.outer(normalise(noisy[(pair[0],)]), normalise(noisy[(pair[1],)])).ravel()
                for pair in plan.candidates}
    pair_scale = next(s.scale for s in plan.steps if s.kind == "pair")
    noise_error = {pair: pair_scale * np.sqrt(2 / np.pi) * expected[pair].size for pair in plan.candidates}
    rows = [",".join(map(str, row)) for row in zip(*(codes[name].tolist() for name in plan.domains))]
    index = {name: i for i, name in enumerate(plan.domains)}
    component = {name: name for name in plan.domains}

    def find(name: str) -> str:
        while component[name] != name:
            name = component[name]
        return name

    chosen: list[tuple[str, str]] = []
    for step in steps:
        open_pairs = [p for p in plan.candidates if find(p[0]) != find(p[1])]
        if not open_pairs:
            break

        def scores(data: list[str], open_pairs: list[tuple[str, str]] = open_pairs) -> list[float]:
            picked = _parse_rows(data, len(index))
            out = []
            for a, b in open_pairs:
                size_b = plan.domains[b].size
                counts = np.bincount(picked[:, index[a]] * size_b + picked[:, index[b]],
                                     minlength=expected[(a, b)].size)
                out.append(float(np.abs(counts - expected[(a, b)]).sum() - noise_error[(a, b)]))
            return out

        scoring = dp.t.make_user_transformation(
            dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance(),
            dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.linf_distance(T=float, monotonic=False),
            function=scores, stability_map=lambda d_in: float(d_in))
        measurement = scoring >> select_measurement(plan.loss_target, step.scale)
        _same_price(measurement.map(plan.max_rows_per_person), step)
        a, b = open_pairs[measurement(rows)]
        chosen.append((a, b))
        component[find(a)] = find(b)
    return chosen


def _parse_rows(data: list[str], columns: int) -> np.ndarray:
    """Rows of comma-separated cell indices → an integer matrix (one row per input row)."""
    if not data:
        return np.zeros((0, columns), dtype="int64")
    return np.array(",".join(data).split(","), dtype="int64").reshape(len(data), columns)


def _same_price(reported: float, step: Step) -> None:
    """Fail closed, before measuring, if a measurement would cost more than the plan charged."""
    if float(reported) > step.loss:
        raise SynthesisError(f"internal error: a {step.kind} measurement costs {reported}, more than the "
                             f"{step.loss} planned and charged; nothing was measured by it.")
