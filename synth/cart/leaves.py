"""One column's tree: the partition of real rows it learns, and drawing from its leaves.

This is the heart of the sequential-tree method (Reiter 2005; Nowok, Raab & Dibben 2016,
synthpop's ``cart``): a tree is fitted to predict the column from the columns drawn
before it; a synthetic row is dropped down the tree, and its value is an observed value
drawn at random from the real rows in the leaf it lands in. The tree only chooses *which*
real values are plausible together; the values themselves come from the leaf.

Disclosure control lives here too. Every leaf holds at least ``min_leaf`` real rows, so no
value is drawn from a group smaller than that; and a numeric value that fewer than
``min_leaf`` real rows share is smoothed with a Gaussian kernel (Silverman's bandwidth over
its leaf), so a twin's rare value is not a real person's exact value. Values many rows
share (a point mass such as 0, a round amount) are kept exact.
"""

from __future__ import annotations

import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

#: Above this many distinct categories the tree learns its partition from the most frequent
#: ones (the rest grouped); values are still drawn from the leaf, so every category survives.
MAX_SPLIT_CLASSES = 50


class LeafSampler:
    """A fitted tree over one target column and, per leaf, the real values it holds."""

    def __init__(self, *, categorical: bool, min_leaf: int, smoothing: bool, seed: int,
                 max_fit_rows: int | None = None, bounds: tuple[float, float] | None = None) -> None:
        self.categorical = categorical
        self.bounds = bounds
        self.min_leaf = min_leaf
        self.smoothing = smoothing and not categorical
        self.seed = seed
        self.max_fit_rows = max_fit_rows
        self.tree: DecisionTreeClassifier | DecisionTreeRegressor | None = None

    def fit(self, predictors: np.ndarray | None, target: np.ndarray) -> LeafSampler:
        """Learn the partition and keep each leaf's real values (sorted by leaf, for fast draws)."""
        if predictors is None or predictors.shape[1] == 0 or _constant(target):
            leaves = np.zeros(len(target), dtype=np.int64)
        else:
            self.tree = self._fit_tree(predictors, target)
            leaves = self.tree.apply(predictors).astype(np.int64)
        order = np.argsort(leaves, kind="stable")
        self.donors = target[order]
        sorted_leaves = leaves[order]
        size = int(sorted_leaves[-1]) + 1 if len(sorted_leaves) else 1
        self.starts = np.searchsorted(sorted_leaves, np.arange(size), side="left")
        self.counts = np.searchsorted(sorted_leaves, np.arange(size), side="right") - self.starts
        if self.smoothing:
            self.bandwidths = _silverman_bandwidths(self.donors, self.starts, self.counts)
            self.common = _common_values(target, self.min_leaf)
        return self

    def sample(self, predictors: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
        """One drawn value per row of ``predictors`` (``predictors`` may have zero columns)."""
        rows = len(predictors) if predictors is not None else 0
        if rows == 0:
            return np.empty(0, dtype=np.float64)
        if self.tree is None:
            leaves = np.zeros(rows, dtype=np.int64)
        else:
            leaves = self.tree.apply(predictors.astype(np.float32)).astype(np.int64)
        picks = self.starts[leaves] + (rng.random(rows) * self.counts[leaves]).astype(np.int64)
        values = self.donors[picks]
        if self.smoothing:
            values = self._smooth(values, leaves, rng)
        return values

    def _fit_tree(self, predictors: np.ndarray, target: np.ndarray) -> DecisionTreeClassifier | DecisionTreeRegressor:
        rng = np.random.default_rng(self.seed)
        rows = np.arange(len(target))
        if self.max_fit_rows is not None and len(rows) > self.max_fit_rows:
            # The partition is learned on a sample; every real row is still a donor of its leaf.
            rows = np.sort(rng.choice(len(target), self.max_fit_rows, replace=False))
        x, y = predictors[rows], target[rows]
        # Leaves on the fitted sample are scaled so that, over all rows, each holds >= min_leaf.
        leaf = max(1, int(np.ceil(self.min_leaf * len(rows) / len(target))))
        if self.categorical:
            tree: DecisionTreeClassifier | DecisionTreeRegressor = DecisionTreeClassifier(
                min_samples_leaf=leaf, random_state=self.seed)
            tree.fit(x, _split_labels(y))
        else:
            tree = DecisionTreeRegressor(min_samples_leaf=leaf, random_state=self.seed)
            tree.fit(x, _missing_apart(y))
        return tree

    def _smooth(self, values: np.ndarray, leaves: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        rare = ~np.isnan(values) & ~np.isin(values, self.common)
        noise = rng.standard_normal(len(values)) * self.bandwidths[leaves]
        smoothed = values + noise
        if self.bounds is not None:
            # Reflect at the public bounds: clipping would pile smoothed values onto the bound.
            lower, upper = self.bounds
            smoothed = np.where(smoothed < lower, 2 * lower - smoothed, smoothed)
            smoothed = np.where(smoothed > upper, 2 * upper - smoothed, smoothed)
            smoothed = np.clip(smoothed, lower, upper)
        return np.where(rare, smoothed, values)


def _constant(target: np.ndarray) -> bool:
    present = target[~np.isnan(target)]
    return len(present) == 0 or (len(present) == len(target) and bool(np.all(present == present[0])))


def _split_labels(codes: np.ndarray) -> np.ndarray:
    """Class labels for the tree: missing is its own class; rare classes beyond the most
    frequent MAX_SPLIT_CLASSES are grouped (they are still drawn from the leaves)."""
    labels = np.where(np.isnan(codes), -1, codes).astype(np.int64)
    values, counts = np.unique(labels, return_counts=True)
    if len(values) <= MAX_SPLIT_CLASSES:
        return labels
    keep = values[np.argsort(-counts, kind="stable")[:MAX_SPLIT_CLASSES]]
    return np.where(np.isin(labels, keep), labels, -2)


def _missing_apart(values: np.ndarray) -> np.ndarray:
    """Regression target with missing values placed far below the rest, so the tree can
    separate 'missing' as a state of its own (the drawn value is still the real NaN)."""
    present = values[~np.isnan(values)]
    if len(present) == 0:
        return np.zeros(len(values))
    low, high = float(present.min()), float(present.max())
    return np.where(np.isnan(values), low - 2 * (high - low) - 1, values)


def _silverman_bandwidths(donors: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Silverman's rule of thumb per leaf: 0.9 · min(sd, IQR / 1.34) · n^(-1/5) (0 for a leaf of one value)."""
    widths = np.zeros(len(starts))
    for leaf, (start, count) in enumerate(zip(starts, counts)):
        values = donors[start:start + count]
        values = values[~np.isnan(values)]
        if len(values) < 2:
            continue
        sd = float(values.std(ddof=1))
        q75, q25 = np.percentile(values, [75, 25])
        spread = min(sd, (q75 - q25) / 1.34) or sd
        widths[leaf] = 0.9 * spread * len(values) ** -0.2
    return widths


def _common_values(values: np.ndarray, min_count: int) -> np.ndarray:
    """Values at least ``min_count`` real rows share: drawing them exactly singles nobody out."""
    present = values[~np.isnan(values)]
    distinct, counts = np.unique(present, return_counts=True)
    return distinct[counts >= min_count]
