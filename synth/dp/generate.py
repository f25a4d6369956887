"""Rows from estimated marginals (post-processing: no access to the real data).

The marginals are Private-PGM's consistent estimates of the noisy counts
(synth.dp.estimate), clipped at zero and normalised. Each tree's root column is drawn
from its 1-way marginal, then each child from the conditional of its tree pair's 2-way
table given its parent's drawn value; a parent value whose row is empty falls back to
the child's own 1-way marginal. Columns outside the tree are drawn from their 1-way
marginals.
"""

from __future__ import annotations

import numpy as np


def normalise(counts: np.ndarray) -> np.ndarray:
    """Noisy counts → probabilities (negative counts to zero; uniform if nothing is left)."""
    positive = np.clip(np.asarray(counts, dtype="float64"), 0, None)
    total = positive.sum()
    return positive / total if total > 0 else np.full(len(positive), 1.0 / len(positive))


def sample_tree(rows: int, one_way: dict[str, np.ndarray], two_way: dict[tuple[str, str], np.ndarray],
                sizes: dict[str, int], order: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Cell indices for each column."""
    drawn: dict[str, np.ndarray] = {}
    parent_of = {child: parent for parent, child in two_way}
    for name in order:
        parent = parent_of.get(name)
        if parent is None or parent not in drawn:
            drawn[name] = rng.choice(sizes[name], size=rows, p=normalise(one_way[name]))
            continue
        table = np.clip(two_way[(parent, name)].reshape(sizes[parent], sizes[name]).astype("float64"), 0, None)
        fallback = normalise(one_way[name])
        out = np.empty(rows, dtype="int64")
        for value in range(sizes[parent]):
            where = np.flatnonzero(drawn[parent] == value)
            if len(where) == 0:
                continue
            row = table[value]
            p = row / row.sum() if row.sum() > 0 else fallback
            out[where] = rng.choice(sizes[name], size=len(where), p=p)
        drawn[name] = out
    return drawn
