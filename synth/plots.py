"""Figures for the twin report, as PNG images embedded in the HTML.

Real-data histograms use the policy's public bins and suppress cells with fewer than
``SMALL_CELL`` real rows, following statistical disclosure control practice: a report
travels with the twin and must not single anyone out.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from synth.evaluation.results import Evaluation  # noqa: E402
from synth.schema import ColumnSchema, TableSchema  # noqa: E402

SMALL_CELL = 10
MAX_COLUMN_PLOTS = 16
REAL_COLOUR, TWIN_COLOUR = "#1f4e79", "#e07b39"


@dataclass(frozen=True)
class Figure:
    title: str
    png_base64: str
    caption: str


def report_figures(real: dict[str, pd.DataFrame], twin: dict[str, pd.DataFrame], tables: list[TableSchema],
                   evaluation: Evaluation) -> list[Figure]:
    """All figures of a report: shape scores, distributions, pair trends, privacy."""
    figures = [_shape_scores(evaluation)]
    for table in tables:
        columns = [c for c in table.modelled_columns if c.kind != "id"][:MAX_COLUMN_PLOTS]
        if columns:
            figures.append(_distributions(real[table.name], twin[table.name], table.name, columns))
    trends = _pair_trends(evaluation)
    if trends is not None:
        figures.append(trends)
    figures.append(_privacy(evaluation))
    return figures


def _encode(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _shape_scores(evaluation: Evaluation) -> Figure:
    shapes = evaluation.quality.column_shapes
    labels = [f"{r.get('Table', '')}.{r['Column']}".lstrip(".") for r in shapes]
    scores = [r.get("Score") or 0.0 for r in shapes]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.28 * len(labels))))
    colours = ["#c0392b" if s < 0.8 else "#2e8b57" for s in scores]
    ax.barh(labels, scores, color=colours)
    ax.set_xlim(0, 1)
    ax.axvline(0.8, color="grey", linestyle=":", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("column shape score (1 = same distribution)")
    return Figure("Column shapes", _encode(fig),
                  "How closely each twin column's distribution matches the real one (KS or TV complement). "
                  "Red bars, under 0.8, mark columns where the twin misleads most.")


def _distributions(real: pd.DataFrame, twin: pd.DataFrame, table: str, columns: list[ColumnSchema]) -> Figure:
    cols = 4
    rows = int(np.ceil(len(columns) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.6 * rows), squeeze=False)
    for ax, column in zip(axes.flat, columns):
        _one_distribution(ax, real[column.name], twin[column.name], column)
    for ax in list(axes.flat)[len(columns):]:
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=REAL_COLOUR), plt.Rectangle((0, 0), 1, 1, color=TWIN_COLOUR)]
    fig.legend(handles, ["real", "twin"], loc="upper right")
    fig.tight_layout()
    return Figure(f"Distributions: {table}", _encode(fig),
                  f"Share of rows per bin, real beside twin. Bins come from the policy's public bounds; "
                  f"bins with fewer than {SMALL_CELL} real rows are not shown.")


def _one_distribution(ax: plt.Axes, real: pd.Series, twin: pd.Series, column: ColumnSchema) -> None:
    if column.kind in ("categorical", "boolean"):
        levels = list(column.categories or sorted(set(real.dropna().astype(str))))
        real_counts = real.dropna().astype(str).value_counts().reindex(levels, fill_value=0)
        twin_counts = twin.dropna().astype(str).value_counts().reindex(levels, fill_value=0)
        keep = real_counts >= SMALL_CELL
        real_share = real_counts[keep] / max(1, real_counts.sum())
        twin_share = twin_counts[keep] / max(1, twin_counts.sum())
        x = np.arange(int(keep.sum()))
        ax.bar(x - 0.2, real_share.to_numpy(), 0.4, color=REAL_COLOUR)
        ax.bar(x + 0.2, twin_share.to_numpy(), 0.4, color=TWIN_COLOUR)
        ax.set_xticks(x, [str(v)[:12] for v in real_share.index], rotation=60, ha="right", fontsize=7)
    else:
        lower, upper = column.bounds
        to_number = (lambda s: pd.to_datetime(s).astype("int64") / 8.64e13) if column.is_temporal else \
            (lambda s: pd.to_numeric(s).astype("float64"))
        lo, hi = to_number(pd.Series([lower, upper]))
        edges = np.linspace(lo, hi, 21)
        real_counts, _ = np.histogram(to_number(real.dropna()), bins=edges)
        twin_counts, _ = np.histogram(to_number(twin.dropna()), bins=edges)
        real_share = np.where(real_counts >= SMALL_CELL, real_counts / max(1, real_counts.sum()), 0)
        twin_share = twin_counts / max(1, twin_counts.sum())
        width = edges[1] - edges[0]
        ax.bar(edges[:-1], real_share, width * 0.45, align="edge", color=REAL_COLOUR)
        ax.bar(edges[:-1] + width * 0.45, twin_share, width * 0.45, align="edge", color=TWIN_COLOUR)
        if column.is_temporal:
            ticks = np.linspace(lo, hi, 3)
            ax.set_xticks(ticks, [str(pd.Timestamp(t * 8.64e13).date()) for t in ticks], fontsize=7)
    unit = f" ({column.unit})" if column.unit else ""
    ax.set_title(f"{column.name}{unit}", fontsize=9)
    ax.tick_params(labelsize=7)


def _pair_trends(evaluation: Evaluation) -> Figure | None:
    rows = [r for r in evaluation.quality.pair_trends if r.get("Score") is not None]
    if not rows:
        return None
    names = sorted({r["Column 1"] for r in rows} | {r["Column 2"] for r in rows})
    index = {n: i for i, n in enumerate(names)}
    grid = np.full((len(names), len(names)), np.nan)
    for r in rows:
        i, j = index[r["Column 1"]], index[r["Column 2"]]
        grid[i, j] = grid[j, i] = r["Score"]
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * len(names)), max(4, 0.4 * len(names))))
    image = ax.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn")
    ax.set_xticks(range(len(names)), names, rotation=70, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    fig.colorbar(image, ax=ax, label="pair trend score")
    return Figure("Column pair trends", _encode(fig),
                  "How well the twin keeps the relationship between each pair of columns "
                  "(1 = same correlation or contingency). Blank cells could not be scored.")


def _privacy(evaluation: Evaluation) -> Figure:
    privacy = evaluation.privacy
    fig, ax = plt.subplots(figsize=(6, 2.2))
    closer = privacy.dcr_closer_to_training
    if closer is not None:
        ax.barh(["twin rows"], [closer], color="#c0392b", label="closer to training rows")
        ax.barh(["twin rows"], [1 - closer], left=[closer], color="#2e8b57", label="closer to unseen rows")
        ax.axvline(0.5, color="black", linestyle=":", linewidth=1)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=2, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of sampled twin rows")
    return Figure("Distance to closest record", _encode(fig),
                  "For each sampled twin row, is its nearest real row one the synthesizer trained on, or one it "
                  "never saw? About half and half means the twin does not memorise training rows.")
