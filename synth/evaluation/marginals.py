"""Fidelity staff can read: 2-way and 3-way marginal distance to unseen real rows, "× floor".

A twin is compared with the holdout (real rows the synthesizer never saw) on the joint
distribution of every pair and of a random set of triples of columns, by total variation
distance (TVD). Two real samples differ too, by chance alone: the same distance between
the real training rows and the holdout is the *floor*, and the twin's distance over the
floor ("× floor") reads 1.0 for a twin as good as a second real sample.

Columns are discretised on the training rows only (quantile bins, the 30 most frequent
categories) and encoded to small integers once, so every marginal is one ``bincount``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synth.evaluation.results import FidelityResult
from synth.schema import ColumnSchema, TableSchema

MISSING = "<missing>"
OTHER = "<other>"
#: A categorical column keeps at most this many training levels; the rest merge into OTHER.
MAX_LEVELS = 30
#: How many worst pairs, and cells per pair, the result lists.
WORST_PAIRS = 5
WORST_CELLS = 5


@dataclass(frozen=True)
class _Encoded:
    """One column's cells: their labels, and each frame's rows as cell codes."""

    name: str
    labels: list[str]
    codes: list[np.ndarray]  # train, holdout, twin


def measure_fidelity(train: pd.DataFrame, holdout: pd.DataFrame, twin: pd.DataFrame, table: TableSchema, *,
                     seed: int = 0, max_triples: int = 60, bins: int = 10, max_rows: int | None = 50_000,
                     min_cell: int = 10) -> FidelityResult:
    """Mean 2-way and 3-way TVD of the twin to the holdout, beside the training rows' ("floor").

    Args:
        train: the real rows the synthesizer learned from (cut points come from these only).
        holdout: real rows it never saw: the reference both distances are measured against.
        twin: the twin table.
        table: the table's public schema; its modelled, non-key columns are compared.
        seed: for the row subsamples and the choice of triples.
        max_triples: at most this many random triples (all of them when there are fewer).
        bins: quantile bins per numeric, date or datetime column.
        max_rows: each frame is subsampled to at most this many rows (None: all rows).
        min_cell: cells with fewer holdout rows are never listed in ``worst_pairs``.
    """
    columns = [c for c in table.modelled_columns
               if c.kind != "id" and all(c.name in f.columns for f in (train, holdout, twin))]
    frames = [_subsample(f, max_rows, seed + i) for i, f in enumerate((train, holdout, twin))]
    encoded = [_encode(column, frames, bins) for column in columns]
    pairs = list(itertools.combinations(range(len(encoded)), 2))
    triples = _choose_triples(len(encoded), max_triples, np.random.default_rng(seed))
    two_twin, two_floor, worst = _distances(encoded, pairs, keep_worst=True, min_cell=min_cell)
    three_twin, three_floor, _ = _distances(encoded, triples)
    two_way, two_way_floor = _mean(two_twin), _mean(two_floor)
    three_way, three_way_floor = _mean(three_twin), _mean(three_floor)
    two_way_ratio, three_way_ratio = _ratio(two_way, two_way_floor), _ratio(three_way, three_way_floor)
    return FidelityResult(
        two_way=two_way, two_way_floor=two_way_floor, two_way_ratio=two_way_ratio,
        three_way=three_way, three_way_floor=three_way_floor, three_way_ratio=three_way_ratio,
        worst_pairs=worst, pairs_compared=len(pairs), triples_compared=len(triples),
        rows_compared=len(frames[1]), table=table.name,
        sentence=fidelity_sentence(two_way_ratio, three_way_ratio, two_way_floor, three_way_floor),
    )


def describe_ratio(ratio: float | None) -> str:
    """A "× floor" figure in words, for people who do not read TVDs."""
    if ratio is None:
        return "not measurable"
    if ratio <= 1.2:
        return "as close as a second real sample"
    if ratio <= 2:
        return "close to real data, with some relationships between columns weakened"
    if ratio <= 4:
        return "relationships between columns are visibly lost"
    return "most relationships between columns are lost"


def format_ratio(ratio: float | None) -> str:
    """``1.4×``, or a dash when there is no ratio."""
    return "-" if ratio is None else f"{ratio:.1f}×"


def fidelity_sentence(two_way_ratio: float | None, three_way_ratio: float | None,
                      two_way_floor: float | None = None, three_way_floor: float | None = None) -> str:
    """One plain-English sentence on what the × floor means (3-way if measured, else 2-way)."""
    ratio, what, floor = ((three_way_ratio, "3-way combinations", three_way_floor) if three_way_ratio is not None
                          else (two_way_ratio, "pairs", two_way_floor))
    if ratio is None:
        if floor == 0:
            return ("The real training and unseen rows agree exactly on these columns, so the twin cannot be "
                    "compared with a second real sample (no × floor).")
        return "The table has too few comparable columns to measure relationships between columns."
    return (f"On {what} of columns the twin differs from unseen real rows {format_ratio(ratio)} as much as a "
            f"second real sample does: {describe_ratio(ratio)} (1.0× would be as good as real data; above 2× "
            "relationships between columns are visibly lost).")


def tvd(first: np.ndarray, second: np.ndarray) -> float:
    """Total variation distance of two count vectors over the same cells (0 same shares, 1 disjoint)."""
    total_first, total_second = first.sum(), second.sum()
    if not total_first or not total_second:
        return 0.0 if total_first == total_second else 1.0
    return float(0.5 * np.abs(first / total_first - second / total_second).sum())


# -- discretisation ---------------------------------------------------------------------------------------------


def _subsample(frame: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    if max_rows is None or len(frame) <= max_rows:
        return frame
    return frame.sample(n=max_rows, random_state=seed)


def _encode(column: ColumnSchema, frames: Sequence[pd.DataFrame], bins: int) -> _Encoded:
    """Cut points or levels from the training frame (the first), applied to every frame."""
    series = [f[column.name] for f in frames]
    if column.is_numeric or column.is_temporal:
        return _encode_numbers(column, series, bins)
    return _encode_levels(column.name, series, boolean=column.kind == "boolean")


def _encode_numbers(column: ColumnSchema, series: list[pd.Series], bins: int) -> _Encoded:
    values = [_as_numbers(s, column.is_temporal) for s in series]
    present = values[0][~np.isnan(values[0])]
    cuts = _cut_points(present, bins)
    labels = _bin_labels(cuts, present, column)
    missing = len(labels)
    codes = [np.where(np.isnan(v), missing, np.searchsorted(cuts, v, side="right")) for v in values]
    return _Encoded(column.name, [*labels, MISSING], codes)


def _cut_points(present: np.ndarray, bins: int) -> np.ndarray:
    """Inner cut points at the training quantiles; a value repeated across quantiles gets a bin of its own.

    Bins are ``[cut_i, cut_i+1)``; values below the first or above the last cut fall into
    the end bins. A point mass ``m`` (many zeros) is isolated by cutting at ``m`` and just above it.
    """
    if not len(present):
        return np.array([], dtype="float64")
    quantiles = np.quantile(present, np.linspace(0, 1, max(bins, 1) + 1))
    edges, counts = np.unique(quantiles, return_counts=True)
    cuts = set(edges[1:-1].tolist())
    for mass in edges[counts > 1]:
        cuts |= {float(mass), float(np.nextafter(mass, np.inf))}
    low, high = edges[0], edges[-1]
    return np.array(sorted(c for c in cuts if low < c <= high), dtype="float64")


def _bin_labels(cuts: np.ndarray, present: np.ndarray, column: ColumnSchema) -> list[str]:
    """Readable bin names; the end bins are open ("< 23", ">= 82"), so no real minimum or maximum is shown.

    A cut just above a value (``nextafter``) isolates a point mass: that bin is named by the
    value, and the next one opens with "(" or ">".
    """
    if not len(present):
        return []
    if not len(cuts):
        return ["all values"]
    bottom = float(present.min())
    lows = [bottom if cuts[0] == np.nextafter(bottom, np.inf) else None, *cuts.tolist()]
    highs = [*cuts.tolist(), None]
    labels = []
    for low, high in zip(lows, highs):
        point = next((c for c in (bottom, *cuts.tolist()) if low == np.nextafter(c, np.inf)), None)
        after_point = point is not None
        shown_low = None if low is None else _show(low if point is None else point, column)
        if low is not None and high is not None and high == np.nextafter(low, np.inf):
            labels.append(shown_low)
        elif low is not None and high is None and low == present.max():
            labels.append(shown_low)
        elif low is None:
            labels.append(f"< {_show(high, column)}")
        elif high is None:
            labels.append(f"{'>' if after_point else '>='} {shown_low}")
        else:
            labels.append(f"{'(' if after_point else '['}{shown_low}, {_show(high, column)})")
    return labels


def _show(value: float, column: ColumnSchema) -> str:
    if column.is_temporal:
        stamp = pd.Timestamp(int(value))
        return stamp.strftime("%Y-%m-%d" if column.kind == "date" else "%Y-%m-%d %H:%M")
    if 1000 <= abs(value) < 1e15:
        return f"{float(f'{value:.4g}'):,.0f}"
    return f"{value:.4g}"


def _as_numbers(series: pd.Series, temporal: bool) -> np.ndarray:
    """Floats (dates as nanoseconds), NaN for missing: Int64 and int64 give the same values."""
    if temporal:
        stamps = pd.to_datetime(series, errors="coerce")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        stamps = stamps.astype("datetime64[ns]")
        out = stamps.to_numpy().astype("int64").astype("float64")
        out[stamps.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _encode_levels(name: str, series: list[pd.Series], *, boolean: bool = False) -> _Encoded:
    """The training levels (the MAX_LEVELS most frequent), OTHER for the rest, MISSING for missing."""
    texts = [_as_text(s) for s in series]
    if boolean:  # 1/0, "true"/"false" and True/False are the same values
        texts = [t.map(lambda v: _BOOLEAN_TEXT.get(v.lower(), v) if isinstance(v, str) else v) for t in texts]
    frequent = texts[0].dropna().value_counts()
    levels = [str(v) for v in frequent.index[:MAX_LEVELS]]
    labels = [*levels, OTHER, MISSING]
    codes = []
    for text in texts:
        code = pd.Categorical(text, categories=levels).codes.astype("int64")
        code = np.where(code < 0, len(levels), code)
        codes.append(np.where(text.isna().to_numpy(), len(levels) + 1, code))
    return _Encoded(name, labels, codes)


def _as_text(series: pd.Series) -> pd.Series:
    """Values as strings (None for missing), the same for nullable and plain dtypes (True, 1, 'a')."""
    missing = series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(series):
        text = series.astype(object).map(str)
    elif pd.api.types.is_numeric_dtype(series):
        numbers = series.astype("float64")
        whole = numbers.dropna()
        integral = (whole == whole.round()).all() and (whole.abs() < 2**53).all()
        text = numbers.astype("Int64").astype(str) if integral else numbers.astype(str)
    elif pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        text = series.astype(str)  # the common case, vectorised
    else:
        text = series.astype(object).map(_text)
    return text.where(~missing, None).reset_index(drop=True)


_BOOLEAN_TEXT = {"1": "True", "0": "False", "true": "True", "false": "False"}


def _text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


# -- distances --------------------------------------------------------------------------------------------------


def _choose_triples(n: int, max_triples: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """All triples when there are at most ``max_triples``, else a seeded random set of distinct ones."""
    total = math.comb(n, 3)
    if total <= max_triples:
        return list(itertools.combinations(range(n), 3))
    if total <= 200_000:
        every = list(itertools.combinations(range(n), 3))
        return [every[i] for i in sorted(rng.choice(total, size=max_triples, replace=False))]
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < max_triples:
        chosen.add(tuple(sorted(rng.choice(n, size=3, replace=False).tolist())))
    return sorted(chosen)


def _counts(encoded: list[_Encoded], combo: tuple[int, ...]) -> tuple[list[np.ndarray], list[int]]:
    """Each frame's counts over the joint cells of ``combo`` (mixed-radix cell codes, one bincount)."""
    sizes = [len(encoded[i].labels) for i in combo]
    total = int(np.prod(sizes))
    counts = []
    for frame in range(3):
        cell = np.zeros(len(encoded[combo[0]].codes[frame]), dtype="int64")
        for i, size in zip(combo, sizes):
            cell = cell * size + encoded[i].codes[frame]
        counts.append(np.bincount(cell, minlength=total))
    return counts, sizes


def _distances(encoded: list[_Encoded], combos: list[tuple[int, ...]], *, keep_worst: bool = False,
               min_cell: int = 10) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    """Twin and floor TVD of every combination; for pairs, the worst ones with their cells."""
    twin, floor, details = [], [], []
    for combo in combos:
        (train, holdout, synthetic), sizes = _counts(encoded, combo)
        twin.append(tvd(synthetic, holdout))
        floor.append(tvd(train, holdout))
        if keep_worst:
            details.append((twin[-1], floor[-1], combo, sizes, holdout, synthetic))
    worst = sorted(details, key=lambda d: -d[0])[:WORST_PAIRS]
    return twin, floor, [_worst_pair(encoded, *d, min_cell=min_cell) for d in worst]


def _worst_pair(encoded: list[_Encoded], twin_tvd: float, floor_tvd: float, combo: tuple[int, ...],
                sizes: list[int], holdout: np.ndarray, synthetic: np.ndarray, *, min_cell: int) -> dict[str, Any]:
    """A pair's largest cell differences, never a cell with fewer than ``min_cell`` holdout rows."""
    real_share = holdout / max(holdout.sum(), 1)
    twin_share = synthetic / max(synthetic.sum(), 1)
    gap = np.abs(twin_share - real_share)
    shown = (holdout >= min_cell) & (gap > 0)
    suppressed = int(((holdout < min_cell) & (gap > 0)).sum())
    order = [int(i) for i in np.argsort(-gap, kind="stable") if shown[i]][:WORST_CELLS]
    cells = [{"cell": [encoded[c].labels[k] for c, k in zip(combo, np.unravel_index(i, sizes))],
              "real_share": round(float(real_share[i]), 4), "twin_share": round(float(twin_share[i]), 4)}
             for i in order]
    return {"columns": [encoded[i].name for i in combo], "twin_tvd": round(twin_tvd, 4),
            "floor_tvd": round(floor_tvd, 4), "ratio": _ratio(twin_tvd, floor_tvd), "cells": cells,
            "suppressed_cells": suppressed}


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _ratio(twin: float | None, floor: float | None) -> float | None:
    if twin is None or floor is None or floor == 0:
        return None
    return twin / floor
