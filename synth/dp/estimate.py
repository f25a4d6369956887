"""Consistent marginals from the noisy ones, with Private-PGM (post-processing).

The noisy 1-way and 2-way counts disagree with each other (each has its own noise) and
can be negative. Private-PGM's mirror descent, the estimator OpenDP's own AIM and MST use,
fits one graphical model to all of them, weighting each by its noise; its marginals on
the tree's pairs are consistent, non-negative, and use the 1-way measurements too (tree
sampling from raw 2-way tables would ignore them). Nothing here sees the real data.
"""

from __future__ import annotations

import math

import numpy as np

_ITERATIONS = 500


def consistent_marginals(sizes: dict[str, int], noisy: dict[tuple[str, ...], np.ndarray],
                         stddevs: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], np.ndarray]:
    """The fitted model's counts for every measured marginal (same keys and shapes as ``noisy``)."""
    import mbi
    from mbi.estimation import mirror_descent

    domain = mbi.Domain(list(sizes), [sizes[name] for name in sizes])
    measurements = [mbi.LinearMeasurement(np.asarray(counts, dtype="float64"), clique, stddevs[clique])
                    for clique, counts in noisy.items()]
    model = mirror_descent(domain, measurements, iters=_ITERATIONS)
    return {clique: np.clip(np.asarray(model.project(clique).datavector(flatten=True)), 0, None)
            for clique in noisy}


def noise_stddev(kind: str, scale: float) -> float:
    """The standard deviation of OpenDP's count noise at ``scale`` (Laplace or Gaussian)."""
    return math.sqrt(2.0) * scale if kind == "pure" else scale
