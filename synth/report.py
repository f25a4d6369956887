"""The twin's human-readable report (HTML with embedded figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from synth.evaluation.results import Evaluation
from synth.plots import Figure
from synth.spec import GateOutcome

_TEMPLATES = Path(__file__).parent / "templates"


def render_report(info: dict[str, Any], evaluation: Evaluation, gates: list[GateOutcome],
                  figures: list[Figure]) -> str:
    """The report as one self-contained HTML page.

    ``info`` holds the build facts (dataset, title, version, synthesizer, seed, rows,
    timings, released flag) as written to the manifest.
    """
    environment = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    template = environment.get_template("report.html.j2")
    shapes = [r for r in evaluation.quality.column_shapes if r.get("Score") is not None]
    weakest = sorted(shapes, key=lambda r: r["Score"])[:3]
    weakest = [{"name": r["Column"], "score": r["Score"]} for r in weakest if r["Score"] < 0.9]
    return template.render(info=info, evaluation=evaluation, gates=gates, figures=figures, weakest=weakest,
                           fmt=_fmt)


def _fmt(value: float | None) -> str:
    return "not measurable" if value is None else f"{value:.3f}"
