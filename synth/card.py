"""The twin's data card: what it is, how it was made, how good it is, what it is not for."""

from __future__ import annotations

from typing import Any

from synth.evaluation.marginals import format_ratio
from synth.evaluation.results import Evaluation, FidelityResult
from synth.schema import DatasetSchema
from synth.spec import GateOutcome


def render_card(info: dict[str, Any], schema: DatasetSchema, evaluation: Evaluation | None,
                gates: list[GateOutcome]) -> str:
    """The data card in Markdown.

    ``evaluation`` is None for a DP twin's public card: figures computed on the real data sit
    outside the guarantee and go to the data owner only.
    """
    status = "released" if info["released"] else "NOT released (failed a release gate)"
    lines = [
        f"# Data card: {info['title']} — synthetic twin {info['version']}",
        "",
        f"**Status:** {status}  ",
        f"**Dataset:** `{info['dataset']}` · **Owner:** {info.get('owner', 'unknown')} · **Built:** {info['built_at']}",
        "",
        "## What this is",
        "",
        f"A *synthetic twin* of the {info['title']} dataset: artificial rows with the same columns, types and "
        "statistical shape as the real data, made by a model that learned from it. No row is a real person, "
        "and direct identifiers (names, numbers, contact details) are either removed or replaced by fake values.",
        "",
        info.get("description", "").strip(),
        "",
        "## How it was made",
        "",
        *_how_made(info),
        *_rules_kept(info.get("rules") or []),
        "",
        "## Columns",
        "",
        "| table | column | type | public range or categories | notes |",
        "|---|---|---|---|---|",
    ]
    for table in schema.tables:
        for column in table.columns:
            lines.append(f"| {table.name} | {column.name} | {column.kind} | {_range(column)} | {_notes(column)} |")
    if evaluation is None:
        lines += ["", "## How good it is", "",
                  "- Fidelity, privacy and utility figures compared with the real data are withheld: they are not "
                  "covered by the DP guarantee, so only the data owner sees them. `report.html` describes the "
                  "twin's own distributions.",
                  "", "Release gates (decided on the real comparison by the data owner's vault):", ""]
        lines += [f"- {'✅' if g.passed else '❌'} {g.gate}" for g in gates] or ["- none set"]
        lines += ["", "## What it is not good for", ""]
        lines += [f"- {item}" for item in _limits(info, None)]
        lines += _files(info)
        return "\n".join(lines)
    q, p, u = evaluation.quality, evaluation.privacy, evaluation.utility
    lines += [
        "",
        "## How good it is",
        "",
        f"- Fidelity (SDMetrics quality, 0–1): **{_f(q.score)}** on {q.rows_compared} rows; "
        + ", ".join(f"{k} {_f(v)}" for k, v in q.properties.items()) + ".",
    ]
    if q.note:
        lines.append(f"  {q.note}")
    if evaluation.fidelity is not None:
        lines.append(_fidelity_line(evaluation.fidelity))
    lines += [
        f"- Exact copies of training rows: {p.exact_copies} of {p.twin_rows_checked} "
        f"({p.exact_copy_rate:.3%}); by chance alone, {p.chance_copy_rate:.3%} of unseen real rows equal a "
        f"training row, so the excess is {p.excess_copy_rate:.3%}.",
        f"- Distance to closest record (SDMetrics DCR overfitting protection, 0–1, higher is safer): "
        f"{_f(p.dcr_protection)}.",
        f"- Real identifier values found in the twin: {p.identifier_leaks}.",
    ]
    if u is not None:
        lines.append(f"- Utility: a model predicting `{u.target}` trained on the twin scores {_f(u.twin_score)} "
                     f"{u.metric} on unseen real rows, against {_f(u.real_score)} when trained on real rows "
                     f"({_f(u.relative)} of the real performance).")
    lines += ["", "Release gates:", ""]
    lines += [f"- {'✅' if g.passed else '❌'} {g.describe()}" for g in gates]
    lines += ["", "## What it is not good for", ""]
    lines += [f"- {item}" for item in _limits(info, evaluation)]
    lines += _files(info)
    return "\n".join(lines)


def _fidelity_line(fidelity: FidelityResult) -> str:
    """× floor: the twin's distance to unseen real rows over a second real sample's."""
    return (f"- Relationships between columns (× floor, 1.0× is as good as real data): 3-way "
            f"**{_times(fidelity.three_way_ratio)}**, 2-way **{_times(fidelity.two_way_ratio)}** "
            f"({fidelity.pairs_compared} pairs and {fidelity.triples_compared} triples of columns of "
            f"`{fidelity.table}`). {fidelity.sentence}")


def _times(ratio: float | None) -> str:
    return "not measurable" if ratio is None else format_ratio(ratio)


def _rules_kept(rules: list[dict[str, Any]]) -> list[str]:
    """The policy's rules and the twin's count of rows breaking each (0 in any built twin)."""
    if not rules:
        return []
    lines = ["", "## Rules kept", "",
             "The data owner declared these rules; the real data keeps them and so does every row of this twin:", ""]
    for rule in rules:
        how = {"resampling": f"; {rule['rows_resampled']:,} sampled rows that broke it were replaced",
               "dropping rows": f"; {rule['rows_dropped']:,} sampled rows that broke it were dropped"
               }.get(rule["kept_by"], f"; {rule['kept_by']}")
        lines.append(f"- {rule['rule']} (table `{rule['table']}`): {rule['violations']} violations in "
                     f"{rule['twin_rows']:,} twin rows{how}.")
    return lines


def _files(info: dict[str, Any]) -> list[str]:
    report = ("- `report.html` and `evaluation.json`: the DP guarantee and the twin's own distributions."
              if info.get("differentially_private") else
              "- `report.html`: fidelity, privacy and utility in detail, with figures.")
    return [
        "",
        "## Files",
        "",
        "- `data/<table>.parquet` and `data/<table>.csv`: the twin.",
        "- `metadata.json`: SDV metadata (load with `sdv.metadata.Metadata.load_from_json`).",
        "- `schema.json`: the policy's public column information (bounds, categories, units).",
        report,
        "- `manifest.json`: versions, seeds, timings and file hashes.",
        "",
    ]


def _limits(info: dict[str, Any], evaluation: Evaluation | None) -> list[str]:
    limits = [
        "Decisions about any individual: no row is a real person.",
        "Official statistics or final figures: check a finding on the real data through the vault's "
        "differentially private queries before relying on it.",
        "Rare subgroups and extreme values: a synthesizer smooths them away or invents them; small counts "
        "in the twin mean nothing.",
    ]
    if evaluation is None:
        if info.get("multi_table"):
            limits.append("Relationships across tables beyond parent and child counts.")
        return limits
    weak = sorted((r for r in evaluation.quality.column_shapes if r.get("Score") is not None and r["Score"] < 0.85),
                  key=lambda r: r["Score"])
    if weak:
        limits.append("Distributions of " + ", ".join(f"`{r['Column']}` ({r['Score']:.2f})" for r in weak[:5])
                      + ": the twin reproduces them poorly.")
    pair = evaluation.quality.properties.get("Column Pair Trends")
    if pair is not None and pair < 0.8:
        limits.append(f"Relationships between columns (pair trend score {pair:.2f}): correlations are weakened.")
    if info.get("multi_table"):
        limits.append("Relationships across tables beyond parent and child counts, which the model "
                      "approximates.")
    return limits


def _rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {t} rows" for t, n in rows.items())


def _range(column: Any) -> str:
    if column.is_identifier:
        return "—"
    if column.bounds is not None:
        return f"{column.bounds[0]} to {column.bounds[1]}" + (f" {column.unit}" if column.unit else "")
    if column.categories:
        shown = ", ".join(column.categories[:8])
        return shown + (f", … ({len(column.categories)} in all)" if len(column.categories) > 8 else "")
    return ""


def _notes(column: Any) -> str:
    if column.identifier == "drop":
        return "identifier, removed"
    if column.identifier == "fake":
        return f"identifier, fake values ({column.fake_as})"
    notes = [column.description] if column.description else []
    if column.nullable:
        notes.append("may be missing")
    return "; ".join(notes).replace("|", "/")


def _f(value: float | None) -> str:
    return "not measurable" if value is None else f"{value:.3f}"


def _how_made(info: dict[str, Any]) -> list[str]:
    trained = (f"- Trained on {_rows(info['training_rows'])}; {info['holdout_fraction']:.0%} of real rows were held "
               "out to test privacy and utility." if "training_rows" in info else
               f"- Measured on the real rows less a {info['holdout_fraction']:.0%} holdout (kept for the owner's "
               "privacy and utility checks).")
    size = f"- Twin size: {_rows(info['twin_rows'])}."
    public = "- Bounds and categories come from the data owner's policy, never from the real data."
    if not info.get("differentially_private"):
        return [_synthesizer_line(info), trained, size, public,
                "- Privacy: **not differentially private.** The synthesizer saw real rows; the checks below are "
                "empirical. No privacy budget was charged for this twin."]
    dp = info["dp"]
    epsilon = dp["epsilon"]
    unit = dp["privacy_unit"]["max_rows_per_person"]
    person = "a person's row" if unit == 1 else f"a person's rows (at most {unit})"
    return [
        f"- Synthesizer: `{info['synthesizer']}` (differentially private marginals measured with OpenDP), "
        f"seed {info['seed']} for sampling. The OpenDP noise itself cannot be seeded.",
        *([f"- Made from OpenDP-measured marginals, then smoothed by {_SDV_NAMES.get(dp['refined_with'], dp['refined_with'])} "
           "fitted on those synthetic rows only (post-processing: the guarantee and ε are unchanged)."]
          if dp.get("refined_with") else []),
        f"- Measured: {len(dp['marginals'])} noisy marginals (every column alone and "
        f"{sum(m['kind'] == 'pair' for m in dp['marginals'])} pairs of columns, "
        f"{_PAIRS_CHOSEN.get(dp.get('selection_steps', 0) > 0)}); {_cells_chosen(dp)}",
        trained, size, public,
        f"- Privacy: **differentially private, ε = {epsilon:.6g}{_delta(dp)}** (OpenDP's accounting, charged to the "
        f"dataset's privacy budget as ε = {dp['epsilon_reserved']}).{_zcdp(dp)} In plain words: whether or not {person} is in the "
        f"data, the chance of getting any particular twin changes by at most a factor of e^ε ≈ {_exp(epsilon)}. "
        "Anything anyone computes from this twin, now or later, keeps that guarantee; it protects each person, "
        "not the dataset's overall patterns, which the twin is meant to show.",
        "- Figures comparing the twin with the real data are not covered by the guarantee; they go to the data "
        "owner only and are not part of this bundle.",
    ]


def _cells_chosen(dp: dict[str, Any]) -> str:
    domain = dp.get("domain") or {}
    chosen = [c[0] for c in domain.get("chosen_under_dp", [])]
    cuts = domain.get("policy_cut_points", [])
    parts = []
    if chosen:
        parts.append(f"the bins of {', '.join(f'`{c}`' for c in chosen)} were chosen from noisy counts on a public "
                     "grid (paid for within ε)")
    if cuts:
        parts.append(f"{', '.join(f'`{c}`' for c in cuts)} were cut at the data owner's public cut points")
    return ("; ".join(parts) or "numbers and dates were cut into bins on the policy's bounds") + "."


def _synthesizer_line(info: dict[str, Any]) -> str:
    if info["synthesizer"] != "cart":
        return (f"- Synthesizer: SDV `{info['synthesizer']}`, seed {info['seed']} (sampling is reproducible from "
                "the seed).")
    parameters = info.get("parameters") or {}
    leaf = parameters.get("min_leaf", 25)
    controls = [f"every value is drawn from a group of at least {leaf} real rows"]
    if parameters.get("smoothing", True):
        controls.append(f"numbers that fewer than {leaf} real rows share are smoothed")
    if parameters.get("protect_uniques", True):
        controls.append("no twin row equals a real row that is unique in the data")
    return (f"- Synthesizer: `cart`, sequential classification and regression trees (synthpop's method), seed "
            f"{info['seed']} (fitting and sampling are reproducible from the seed). Each column is drawn from real "
            f"values in the leaf of a tree fitted on the columns before it. Disclosure control: "
            f"{'; '.join(controls)}.")


_PAIRS_CHOSEN = {True: "chosen from the data by OpenDP's report-noisy-max, paid for within ε",
                 False: "chosen from public information"}


def _delta(dp: dict[str, Any]) -> str:
    return f", δ = {dp['delta']:.1g}" if dp.get("rho") else ""


def _zcdp(dp: dict[str, Any]) -> str:
    if not dp.get("rho"):
        return ""
    return (f" Measured as ρ = {dp['rho']:.6g} zero-concentrated DP and converted by OpenDP to ε at δ; δ is the "
            "small chance that the bound above does not hold.")


_SDV_NAMES = {"gaussian_copula": "GaussianCopula", "ctgan": "CTGAN", "tvae": "TVAE", "copula_gan": "CopulaGAN"}


def _exp(epsilon: float) -> str:
    import math

    return f"{math.exp(epsilon):.3g}"
