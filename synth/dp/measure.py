"""The only code of a DP twin that touches the real data: OpenDP measurements."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.dp.plan import DPPlan


def measure(plan: DPPlan, frame: pd.DataFrame) -> dict[tuple[str, ...], np.ndarray]:
    """Noisy counts of every planned marginal.

    Each row is mapped to its public cell index (a per-row map), and the vector of indices
    goes through the marginal's OpenDP measurement (count by categories, then Laplace).
    """
    codes = {name: domain.encode(frame[name]) for name, domain in plan.domains.items()}
    noisy: dict[tuple[str, ...], np.ndarray] = {}
    for marginal in plan.marginals:
        cell = np.zeros(len(frame), dtype="int64")
        for name in marginal.columns:
            cell = cell * plan.domains[name].size + codes[name]
        noisy[marginal.columns] = np.asarray(marginal.measurement(cell.tolist()), dtype="int64")
    return noisy
