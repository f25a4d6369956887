"""The DP twin's plan: what to measure, at what noise, priced by OpenDP's privacy maps.

The plan is built from public information only (the schema, the policy's parameters and
privacy unit), so it can be priced and charged to the ledger before any real data is read.

Selection: which 2-way marginals to measure (a spanning tree of the modelled columns).
- ``selection: mst`` (the default): chosen from the data, as in MST. Each of the tree's
  n-1 edges is picked by OpenDP's report-noisy-max over the pairs not yet connected,
  scored by how badly the independent model (the noisy 1-way marginals) fits the pair's
  real counts, less the noise its measurement will add. It spends ``select_share`` of
  the budget.
- ``selection: public``: the tree is given by the policy (``parameters.pairs``) or, if
  absent, a chain in the policy's column order. It costs nothing; a data owner who knows
  which columns depend on each other can list them.

Measurement. Every 1-way marginal and every tree pair's 2-way marginal is counted by
``make_count_by_categories`` over the public cells, then noised by OpenDP (Laplace for
pure ε, Gaussian for zCDP; see synth.dp.loss). Each step's loss is its own privacy map at
``d_in = max_rows_per_person``; the twin's loss is their sum (sequential composition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from synth.dp.domain import Domain, bound_number, column_domain
from synth.dp.private_domain import policy_cut_domain
from synth.dp.loss import PrivacyLoss, count_metric, count_noise, privacy_loss, scale_for
from synth.errors import SynthesisError
from synth.schema import ColumnSchema, TableSchema
from synth.spec import SINGLE_TABLE_SYNTHESIZERS
SELECTIONS: tuple[str, ...] = ("mst", "public")
_KNOWN_PARAMETERS = {"epsilon", "rho", "delta", "bins", "pairs", "selection", "one_way_share", "select_share",
                     "refine_with", "cuts", "domain_share", "max_levels"}
#: Share of the budget that chooses cut points and frequent levels, when any column needs it.
DEFAULT_DOMAIN_SHARE = 0.1
#: A categorical column with more levels than this keeps its frequent ones apart (chosen under DP).
DEFAULT_MAX_LEVELS = 30
_MAX_CELLS = 1_000_000
_HEADROOM = 1 - 1e-9  # the maps round up; splitting slightly less keeps their sum within the target


@dataclass(frozen=True)
class Step:
    """One OpenDP measurement of the plan, priced before any data is read.

    ``kind`` is "one-way", "pair" or "select". A pair chosen by selection has no columns
    until the data has been measured; its price does not depend on which pair it is (the
    count vector's sensitivity is the privacy unit whatever its size).
    """

    kind: str  # "domain", "one-way", "select" or "pair"
    columns: tuple[str, ...]
    scale: float
    loss: float  # OpenDP's privacy map at the privacy unit: ε (pure) or ρ (zCDP)
    measurement: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class DPPlan:
    """Everything needed to measure a table, with its exact privacy loss."""

    table: str
    domains: dict[str, Domain]
    steps: tuple[Step, ...]
    selection: str  # "mst" or "public"
    edges: tuple[tuple[str, str], ...]  # (parent, child), parents first; empty until selected for "mst"
    candidates: tuple[tuple[str, str], ...]  # pairs selection may choose from ("mst")
    max_rows_per_person: int
    loss_target: PrivacyLoss
    refine_with: str | None = None  # an SDV single-table synthesizer fitted on the DP sample (post-processing)
    bins: int = 10
    max_levels: int = DEFAULT_MAX_LEVELS
    cut_columns: tuple[str, ...] = ()  # columns cut at the policy's public cut points

    @property
    def root(self) -> str:
        return next(iter(self.domains))

    @property
    def loss(self) -> float:
        """The twin's loss in the measure's unit (ε or ρ): math.fsum of OpenDP's maps."""
        return math.fsum(s.loss for s in self.steps)

    @property
    def epsilon(self) -> float:
        """The ε charged: the loss itself (pure), or OpenDP's conversion of ρ at δ (zCDP)."""
        return self.loss_target.charged_epsilon(self.loss)

    @property
    def epsilon_to_reserve(self) -> Decimal:
        """``epsilon`` rounded up to the ledger's unit (1e-12), so the ledger never under-charges."""
        return Decimal(repr(self.epsilon)).quantize(Decimal("1e-12"), rounding=ROUND_CEILING)

    def describe(self, edges: tuple[tuple[str, str], ...] | None = None) -> dict[str, Any]:
        """The plan as recorded in the manifest (``edges``: the pairs measured, once selected)."""
        pure = self.loss_target.kind == "pure"
        chosen = list(edges if edges is not None else self.edges)
        pairs = iter(chosen)
        steps = [{"kind": s.kind, "columns": list(s.columns or (next(pairs, ()) if s.kind == "pair" else ())),
                  "scale": s.scale,
                  ("epsilon" if pure else "rho"): s.loss} for s in self.steps]
        return {
            "mechanism": ("discrete Laplace and report-noisy-max (OpenDP)" if pure else
                          "discrete Gaussian and report-noisy-max under zCDP (OpenDP)"),
            "privacy_unit": {"max_rows_per_person": self.max_rows_per_person, "neighbouring": "add/remove rows "
                             "of one person (symmetric distance)"},
            "definition": "pure ε-DP" if pure else "ρ-zCDP, charged as (ε, δ)-DP",
            "epsilon": self.epsilon,
            "rho": None if pure else self.loss,
            "delta": self.loss_target.delta,
            "epsilon_reserved": str(self.epsilon_to_reserve),
            "epsilon_target": self.loss_target.epsilon,
            "selection": ("data-driven (MST-style: a spanning tree of pairs chosen by OpenDP's report-noisy-max)"
                          if self.selection == "mst" else "public (tree of pairs from the policy, no budget spent)"),
            "refined_with": self.refine_with,
            "marginals": [s for s in steps if s["kind"] not in ("select", "domain")],
            "selection_steps": sum(s.kind == "select" for s in self.steps),
            "domain": {"chosen_under_dp": [list(s.columns) for s in self.steps if s.kind == "domain"],
                       "policy_cut_points": list(self.cut_columns),
                       ("epsilon" if pure else "rho"): math.fsum(s.loss for s in self.steps if s.kind == "domain")},
        }


def make_plan(table: TableSchema, parameters: dict[str, Any], max_rows_per_person: int = 1) -> DPPlan:
    """Plan (and price) a DP twin of one table from public information.

    Raises:
        SynthesisError: missing bounds or categories, bad parameters.
    """
    unknown = set(parameters) - _KNOWN_PARAMETERS
    if unknown:
        raise SynthesisError(f"dp_marginals does not take {', '.join(sorted(unknown))}. "
                             f"Fix: use only {', '.join(sorted(_KNOWN_PARAMETERS))}.")
    loss = privacy_loss(parameters)
    bins = int(parameters.get("bins", 10))
    one_way_share = float(parameters.get("one_way_share", 0.3))
    select_share = float(parameters.get("select_share", 0.1))
    selection = parameters.get("selection", "public" if parameters.get("pairs") is not None else "mst")
    if not 2 <= bins <= 1000:
        raise SynthesisError(f"bins={bins} is out of range. Fix: use 2 to 1000 bins.")
    if selection not in SELECTIONS:
        raise SynthesisError(f"selection={selection!r} is unknown. Fix: use one of {', '.join(SELECTIONS)}.")
    if selection == "mst" and parameters.get("pairs") is not None:
        raise SynthesisError("pairs are for selection: public. Fix: drop pairs, or set selection: public.")
    if not (0 < one_way_share < 1 and 0 < select_share < 1 and one_way_share + select_share < 1):
        raise SynthesisError("one_way_share and select_share must be between 0 and 1 and add up to less than 1.")
    refine_with = parameters.get("refine_with")
    if refine_with is not None and refine_with not in SINGLE_TABLE_SYNTHESIZERS:
        raise SynthesisError(f"refine_with={refine_with!r} is not an SDV single-table synthesizer. "
                             f"Fix: use one of {', '.join(SINGLE_TABLE_SYNTHESIZERS)}, or leave it out.")
    if max_rows_per_person < 1:
        raise SynthesisError("max_rows_per_person must be at least 1.")
    columns = [c for c in table.modelled_columns if c.kind != "id"]
    if not columns:
        raise SynthesisError(f"table '{table.name}' has no modelled columns for a DP twin.")
    max_levels = int(parameters.get("max_levels", DEFAULT_MAX_LEVELS))
    if not 2 <= max_levels <= 1000:
        raise SynthesisError(f"max_levels={max_levels} is out of range. Fix: use 2 to 1000.")
    cuts = _policy_cuts(parameters.get("cuts"), {c.name: c for c in columns})
    domains = {c.name: policy_cut_domain(c, cuts[c.name]) if c.name in cuts else column_domain(c, bins)
               for c in columns}
    private = [c.name for c in columns if c.name not in cuts and _needs_private_domain(c, max_levels)]
    domain_share = float(parameters.get("domain_share", DEFAULT_DOMAIN_SHARE)) if private else 0.0
    if private and not 0 < domain_share < 0.5:
        raise SynthesisError("domain_share must be between 0 and 0.5. Fix: use e.g. 0.1 (the default).")
    names = [c.name for c in columns]
    if selection == "public":
        edges = orient_tree(names, parameters.get("pairs"))
        for parent, child in edges:
            if domains[parent].size * domains[child].size > _MAX_CELLS:
                raise SynthesisError(f"the pair ({parent}, {child}) has more than {_MAX_CELLS} cells. "
                                     "Fix: fewer bins.")
        candidates: list[tuple[str, str]] = []
        pair_count, select_budget = len(edges), 0.0
    else:
        edges = []
        candidates = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]
                      if domains[a].size * domains[b].size <= _MAX_CELLS]
        pair_count = len(names) - 1
        select_budget = loss.budget * select_share if pair_count else 0.0
    budget = loss.budget * _HEADROOM
    domain_budget = budget * domain_share
    budget -= domain_budget
    select_budget *= _HEADROOM * (1 - domain_share)
    one_way_budget = budget * (one_way_share if pair_count else 1.0) / len(names)
    pair_budget = (budget - select_budget - one_way_budget * len(names)) / pair_count if pair_count else 0.0
    d_in = max_rows_per_person
    steps = [_count_step("domain", (n,), 2, loss, domain_budget / len(private), d_in) for n in private]
    steps += [_count_step("one-way", (n,), domains[n].size, loss, one_way_budget, d_in) for n in names]
    if selection == "mst" and pair_count:
        steps += [_select_step(loss, select_budget / pair_count, d_in)] * pair_count  # same price each round
    slots: list[tuple[str, ...]] = list(edges) or [()] * pair_count  # unknown pairs until selected
    steps += [_count_step("pair", slot, math.prod(domains[c].size for c in slot) if slot else 2, loss, pair_budget,
                          d_in) for slot in slots]
    return DPPlan(table.name, domains, tuple(steps), selection, tuple(edges), tuple(candidates), d_in, loss,
                  refine_with, bins, max_levels, tuple(cuts))


def _needs_private_domain(column: ColumnSchema, max_levels: int) -> bool:
    """Numbers and dates (their cut points) and categories with many levels (which to keep apart)."""
    if column.is_numeric or column.is_temporal:
        return True
    return column.kind == "categorical" and len(column.categories or ()) > max_levels


def _policy_cuts(cuts: object, columns: dict[str, ColumnSchema]) -> dict[str, list[object]]:
    """``parameters.cuts``: public cut points per numeric or date column, checked against the bounds."""
    if cuts is None:
        return {}
    if not isinstance(cuts, dict):
        raise SynthesisError("parameters.cuts must map columns to lists of cut points, e.g. {income: [12570, 50270]}.")
    for name, points in cuts.items():
        column = columns.get(name)
        if column is None or not (column.is_numeric or column.is_temporal):
            raise SynthesisError(f"parameters.cuts names '{name}', which is not a modelled numeric or date column. "
                                 "Fix: give cut points only for numbers and dates.")
        if not isinstance(points, list) or not points:
            raise SynthesisError(f"parameters.cuts.{name} must be a non-empty list of cut points.")
        try:
            numbers = [bound_number(p, column) for p in points]
        except (TypeError, ValueError):
            raise SynthesisError(f"parameters.cuts.{name} holds a value that is not a {column.kind}.") from None
        lower, upper = (bound_number(b, column) for b in column.bounds)  # type: ignore[union-attr]
        if numbers != sorted(set(numbers)) or not all(lower < n <= upper for n in numbers):
            raise SynthesisError(f"parameters.cuts.{name} must rise strictly and lie within the column's bounds. "
                                 "Fix: list each public cut point once, in order.")
    return {name: list(points) for name, points in cuts.items()}


def count_measurement(cells: int, loss: PrivacyLoss, scale: float):
    """OpenDP: count a vector of cell indices by public cell, then add noise."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    counting = dp.t.make_count_by_categories(dp.vector_domain(dp.atom_domain(T=int)), dp.symmetric_distance(),
                                             categories=list(range(cells)), null_category=False,
                                             MO=count_metric(loss))
    return counting >> count_noise(loss, scale)


def select_measurement(loss: PrivacyLoss, scale: float):
    """OpenDP: report the index of the noisy maximum of a score vector (each score d_in-sensitive)."""
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp.m.make_noisy_max(dp.vector_domain(dp.atom_domain(T=float, nan=False)),
                               dp.linf_distance(T=float, monotonic=False), loss.measure, scale)


def _count_step(kind: str, columns: tuple[str, ...], cells: int, loss: PrivacyLoss, budget: float, d_in: int) -> Step:
    scale = scale_for(loss, budget, d_in)
    measurement = count_measurement(cells, loss, scale)
    return Step(kind, columns, scale, float(measurement.map(d_in)), measurement)


def _select_step(loss: PrivacyLoss, budget: float, d_in: int) -> Step:
    import opendp.prelude as dp

    scale = dp.binary_search_param(lambda s: select_measurement(loss, s), d_in=float(d_in), d_out=budget, T=float)
    measurement = select_measurement(loss, scale)
    return Step("select", (), float(scale), float(measurement.map(float(d_in))), measurement)


def orient_tree(names: list[str], pairs: object) -> list[tuple[str, str]]:
    """Edges (parent, child) of a spanning forest, in an order where parents come first."""
    if pairs is None:
        return [(names[i - 1], names[i]) for i in range(1, len(names))]
    if not isinstance(pairs, list) or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
        raise SynthesisError("parameters.pairs must be a list of [column, column] pairs.")
    adjacency: dict[str, list[str]] = {n: [] for n in names}
    for a, b in pairs:
        if a not in adjacency or b not in adjacency or a == b:
            raise SynthesisError(f"pair [{a}, {b}] does not name two modelled columns.")
        adjacency[a].append(b)
        adjacency[b].append(a)
    edges: list[tuple[str, str]] = []
    seen: set[str] = set()
    for start in names:
        if start in seen:
            continue
        seen.add(start)
        queue = [start]
        while queue:
            node = queue.pop(0)
            for other in adjacency[node]:
                if other not in seen:
                    seen.add(other)
                    edges.append((node, other))
                    queue.append(other)
    if len(edges) != len(pairs):
        raise SynthesisError("parameters.pairs must form a tree (no cycles, no repeated pairs).")
    return edges
