"""The DP twin's plan: what to measure, at what noise, priced by OpenDP's privacy maps.

The plan is built from public information only (the schema, the policy's parameters and
privacy unit), so it can be priced and charged to the ledger before any real data is read.

Selection. MST selects its 2-way marginals with part of the budget; we select them from
public information instead, which costs nothing: a tree over the modelled columns, given
by the policy (``parameters.pairs``) or, by default, a chain in the policy's column order
(each column paired with the one before it). A data owner who knows which columns depend
on each other should list them as pairs; the default is honest but not clever.

Measurement. Every 1-way marginal and every tree pair's 2-way marginal is counted by
``make_count_by_categories`` over the public cells, then noised with OpenDP's Laplace
mechanism (discrete, on integer counts). Each measurement's ε is its own privacy map at
``d_in = max_rows_per_person`` (one person adds or removes at most that many rows); the
twin's ε is the sum of those maps (sequential composition), recorded as OpenDP reports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from synth.dp.domain import Domain, column_domain
from synth.errors import SynthesisError
from synth.schema import TableSchema

DP_SYNTHESIZERS: tuple[str, ...] = ("dp_marginals",)
_KNOWN_PARAMETERS = {"epsilon", "bins", "pairs", "one_way_share", "refine_with"}
_MAX_CELLS = 1_000_000


@dataclass(frozen=True)
class Marginal:
    """One measured marginal: the columns it counts and its OpenDP measurement."""

    columns: tuple[str, ...]
    cells: int
    scale: float
    epsilon: float
    measurement: Any = field(repr=False, compare=False)


@dataclass(frozen=True)
class DPPlan:
    """Everything needed to measure a table, with its exact privacy loss."""

    table: str
    domains: dict[str, Domain]
    marginals: tuple[Marginal, ...]
    edges: tuple[tuple[str, str], ...]  # (parent, child) in sampling order
    root: str
    max_rows_per_person: int
    epsilon_target: float
    refine_with: str | None = None  # an SDV single-table synthesizer fitted on the DP sample (post-processing)

    @property
    def epsilon(self) -> float:
        """The twin's ε: the sum of OpenDP's privacy maps (math.fsum of the reported floats)."""
        return math.fsum(m.epsilon for m in self.marginals)

    @property
    def epsilon_to_reserve(self) -> Decimal:
        """``epsilon`` rounded up to the ledger's unit (1e-12), so the ledger never under-charges."""
        return Decimal(repr(self.epsilon)).quantize(Decimal("1e-12"), rounding=ROUND_CEILING)

    def describe(self) -> dict[str, Any]:
        return {
            "mechanism": "discrete Laplace (OpenDP make_count_by_categories >> then_laplace)",
            "privacy_unit": {"max_rows_per_person": self.max_rows_per_person, "neighbouring": "add/remove rows "
                             "of one person (symmetric distance)"},
            "epsilon": self.epsilon,
            "epsilon_reserved": str(self.epsilon_to_reserve),
            "epsilon_target": self.epsilon_target,
            "selection": "public (tree of pairs from the policy, no budget spent)",
            "refined_with": self.refine_with,
            "marginals": [{"columns": list(m.columns), "cells": m.cells, "scale": m.scale, "epsilon": m.epsilon}
                          for m in self.marginals],
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
    epsilon = float(parameters.get("epsilon", 1.0))
    bins = int(parameters.get("bins", 10))
    one_way_share = float(parameters.get("one_way_share", 0.3))
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise SynthesisError(f"epsilon={epsilon} is not a positive number. Fix: set parameters.epsilon, e.g. 1.0.")
    if not 2 <= bins <= 1000:
        raise SynthesisError(f"bins={bins} is out of range. Fix: use 2 to 1000 bins.")
    if not 0 < one_way_share < 1:
        raise SynthesisError("one_way_share must be between 0 and 1 (exclusive).")
    refine_with = parameters.get("refine_with")
    if refine_with is not None:
        from synth.spec import SINGLE_TABLE_SYNTHESIZERS

        if refine_with not in SINGLE_TABLE_SYNTHESIZERS:
            raise SynthesisError(f"refine_with={refine_with!r} is not an SDV single-table synthesizer. "
                                 f"Fix: use one of {', '.join(SINGLE_TABLE_SYNTHESIZERS)}, or leave it out.")
    if max_rows_per_person < 1:
        raise SynthesisError("max_rows_per_person must be at least 1.")
    columns = [c for c in table.modelled_columns if c.kind != "id"]
    if not columns:
        raise SynthesisError(f"table '{table.name}' has no modelled columns for a DP twin.")
    domains = {c.name: column_domain(c, bins) for c in columns}
    names = [c.name for c in columns]
    edges = _tree(names, parameters.get("pairs"))
    for parent, child in edges:
        if domains[parent].size * domains[child].size > _MAX_CELLS:
            raise SynthesisError(f"the pair ({parent}, {child}) has more than {_MAX_CELLS} cells. Fix: fewer bins.")
    one_way_eps = epsilon * (one_way_share if edges else 1.0) / len(names)
    two_way_eps = epsilon * (1 - one_way_share) / len(edges) if edges else 0.0
    marginals = [_marginal((n,), domains, one_way_eps, max_rows_per_person) for n in names]
    marginals += [_marginal(edge, domains, two_way_eps, max_rows_per_person) for edge in edges]
    return DPPlan(table.name, domains, tuple(marginals), tuple(edges), names[0], max_rows_per_person, epsilon,
                  refine_with)


def _tree(names: list[str], pairs: object) -> list[tuple[str, str]]:
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


def _marginal(columns: tuple[str, ...], domains: dict[str, Domain], epsilon: float, d_in: int) -> Marginal:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    cells = math.prod(domains[c].size for c in columns)
    scale = d_in / epsilon
    counting = dp.t.make_count_by_categories(dp.vector_domain(dp.atom_domain(T=int)), dp.symmetric_distance(),
                                             categories=list(range(cells)), null_category=False)
    measurement = counting >> dp.m.then_laplace(scale)
    return Marginal(columns, cells, scale, float(measurement.map(d_in)), measurement)
