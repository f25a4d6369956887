"""The ``dp_marginals`` synthesizer: fit = OpenDP measurements, sample = post-processing.

Only the noisy marginals are kept after fitting, so everything sampled afterwards
(including the number of rows, when the spec does not fix it) is post-processing and
carries the plan's ε. OpenDP's noise is drawn from the operating system's secure random
source and cannot be seeded: two fits of the same data differ. Sampling from a fitted
model is seeded and repeatable.

Multi-table datasets are refused: counting a person's rows across related tables needs a
per-person bound on children and joint marginals across tables, which this synthesizer
does not model. A DP twin of the person table alone would drop the other tables silently,
which would mislead users; the data owner should build a single-table (flattened) dataset
with its own policy instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth.dp.estimate import consistent_marginals, noise_stddev
from synth.dp.generate import sample_tree
from synth.dp.measure import Measured, measure
from synth.dp.plan import DPPlan, make_plan
from synth.errors import SynthesisError
from synth.schema import DatasetSchema


class DPMarginals:
    """A differentially private synthesizer for one table."""

    def __init__(self, plan: DPPlan) -> None:
        self.plan = plan
        self.measured: Measured | None = None
        self.estimated: dict[tuple[str, ...], np.ndarray] = {}

    @classmethod
    def for_schema(cls, schema: DatasetSchema, parameters: dict[str, Any], max_rows_per_person: int = 1) -> DPMarginals:
        """Plan a DP twin of a single-table dataset.

        Raises:
            SynthesisError: the dataset has several tables, or the plan is impossible.
        """
        refuse_multi_table(schema)
        return cls(make_plan(schema.tables[0], parameters, max_rows_per_person))

    def fit(self, frame: pd.DataFrame) -> None:
        """Measure the real table (the privacy loss happens here, once)."""
        missing = [name for name in self.plan.domains if name not in frame]
        if missing:
            raise SynthesisError(f"the data lacks column(s) {', '.join(missing)} named by the policy.")
        self.measured = measure(self.plan, frame)
        self.estimated = self._estimate(self.measured)

    def _estimate(self, measured: Measured) -> dict[tuple[str, ...], np.ndarray]:
        """Private-PGM's consistent version of the noisy marginals (post-processing)."""
        scales = {s.kind: s.scale for s in self.plan.steps}
        one_way = {s.columns: s.scale for s in self.plan.steps if s.kind == "one-way"}
        stddevs = {clique: noise_stddev(self.plan.loss_target.kind, one_way.get(clique, scales.get("pair", 1.0)))
                   for clique in measured.counts}
        sizes = {name: d.size for name, d in measured.domains.items()} if measured.domains else \
            {name: d.size for name, d in self.plan.domains.items()}
        return consistent_marginals(sizes, measured.counts, stddevs)

    @property
    def noisy_rows(self) -> int:
        """The number of rows as estimated from the root's noisy 1-way marginal (post-processing)."""
        counts = self._noisy()[(self.plan.root,)]
        return max(1, int(round(np.clip(counts, 0, None).sum())))

    @property
    def domains(self) -> dict[str, Any]:
        """The cells measured: chosen under DP once fitted, the plan's public ones before."""
        return self.measured.domains if self.measured is not None and self.measured.domains else self.plan.domains

    def sample(self, rows: int | None, seed: int) -> pd.DataFrame:
        target = rows if rows is not None else self.noisy_rows  # refuses an unfitted model
        rng = np.random.default_rng(seed)
        sizes = {name: d.size for name, d in self.domains.items()}
        one_way = {m[0]: counts for m, counts in self.estimated.items() if len(m) == 1}
        two_way = {(m[0], m[1]): counts for m, counts in self.estimated.items() if len(m) == 2}
        cells = sample_tree(target, one_way, two_way, sizes, sampling_order(list(sizes), self.edges), rng)
        return pd.DataFrame({name: self.domains[name].decode(cells[name], rng).to_numpy()
                             for name in self.domains})

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        """The tree of pairs measured (selected from the data for ``mst``, so known after fitting)."""
        return self.measured.edges if self.measured is not None else self.plan.edges

    def describe(self) -> dict[str, Any]:
        """The plan and the pairs measured, as recorded in the manifest."""
        return self.plan.describe(self.edges)

    def _noisy(self) -> dict[tuple[str, ...], np.ndarray]:
        if self.measured is None:
            raise SynthesisError("the DP synthesizer has not been fitted.")
        return self.measured.counts


def sampling_order(names: list[str], edges: tuple[tuple[str, str], ...]) -> list[str]:
    """Columns with every tree parent before its children (edges come parents first)."""
    children = {child for _, child in edges}
    order = [name for name in names if name not in children and not any(p == name for p, _ in edges)]
    for parent, child in edges:
        if parent not in order:
            order.append(parent)
        order.append(child)
    return order


def refuse_multi_table(schema: DatasetSchema) -> None:
    if schema.is_multi_table:
        raise SynthesisError(
            f"dataset '{schema.name}' has {len(schema.tables)} related tables, and dp_marginals models one table. "
            "A person's rows across related tables would need a public per-person bound on child rows and "
            "cross-table marginals, which this synthesizer does not measure; a twin of the person table "
            "alone would silently drop the rest. Fix: use an SDV synthesizer (hma) without dp_only, or "
            "publish a flattened single-table dataset with its own policy for the DP twin.")
