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


_PUBLIC_DP_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ info.title }} — DP twin {{ info.version }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}</style></head><body>
<h1>{{ info.title }} — differentially private twin {{ info.version }}</h1>
<p>Dataset <code>{{ info.dataset }}</code> · built {{ info.built_at }} · synthesizer <code>{{ info.synthesizer }}</code>
{% if info.dp.refined_with %} then SDV <code>{{ info.dp.refined_with }}</code> fitted on the DP rows only{% endif %}</p>
<h2>Guarantee</h2>
<p>Differentially private, ε = {{ "%.6g"|format(info.dp.epsilon) }} (OpenDP's accounting; charged as ε =
{{ info.dp.epsilon_reserved }}), privacy unit: at most {{ info.dp.privacy_unit.max_rows_per_person }} row(s) per person.
Made from {{ info.sampled_from }}.</p>
<p>Figures comparing the twin with the real data: {{ info.real_data_figures }}. Release gates:
{% for g in gates %}{{ g.gate }} {{ "passed" if g.passed else "failed" }}{{ "; " if not loop.last }}{% else %}none set{% endfor %}.</p>
{% if info.rules %}<h2>Rules</h2><ul>{% for r in info.rules %}<li>{{ r.rule }} (<code>{{ r.table }}</code>):
{{ r.violations }} violations in {{ r.twin_rows }} twin rows; {{ r.kept_by }}</li>{% endfor %}</ul>{% endif %}
<h2>The twin's own columns</h2>
{% for table, entry in description.items() %}
<h3>{{ table }} ({{ entry.rows }} rows)</h3>
<table><tr><th>column</th><th>type</th><th>missing</th><th>distribution in the twin</th></tr>
{% for name, c in entry.columns.items() %}<tr><td>{{ name }}</td><td>{{ c.dtype }}</td>
<td>{{ "%.1f%%"|format(100 * c.missing_share) }}</td><td>
{% if c.quantiles %}min / quartiles / max: {{ c.quantiles|map("round", 2)|join(" / ") }}
{% elif c.first %}{{ c.first }} to {{ c.last }}
{% elif c.shares %}{% for k, v in c.shares.items() %}{{ k }} {{ "%.1f%%"|format(100 * v) }}{{ ", " if not loop.last }}{% endfor %}
{% endif %}</td></tr>{% endfor %}
</table>{% endfor %}
</body></html>
"""


def render_public_report(info: dict[str, Any], gates: list[GateOutcome], description: dict[str, Any]) -> str:
    """A DP twin's report for users: the guarantee and the twin's own distributions, no real-data figure."""
    environment = Environment(autoescape=True)
    return environment.from_string(_PUBLIC_DP_TEMPLATE).render(info=info, gates=gates, description=description)
