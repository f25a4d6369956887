"""The twin pipeline: real tables and a public schema in, a versioned twin bundle out.

    check → hold out → strip identifiers → fit → sample → finish → evaluate → write → gate

The release gates decide: a twin that passes is released atomically; one that fails is
kept in staging for the data owner and the call raises ReleaseRefused naming each gate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
import shutil
import time
from dataclasses import dataclass, field
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from synth import bundle as bundles
from synth import synthesizers
from synth.card import render_card
from synth.checks import check_dataset
from synth.dp.synthesizer import DPMarginals
from synth.errors import ReleaseRefused
from synth.evaluation.marginals import measure_fidelity
from synth.evaluation.privacy import measure_privacy
from synth.evaluation.quality import measure_quality
from synth.evaluation.results import Evaluation
from synth.evaluation.utility import measure_utility
from synth.identifiers import strip_identifiers
from synth.metadata import metadata_dict, sdv_metadata
from synth.plots import report_figures
from synth.postprocess import finish_twin
from synth.rejection import keep_rules
from synth.report import render_public_report, render_report
from synth.schema import DatasetSchema
from synth.spec import GateOutcome, ReleaseGates, SynthesisSpec, check_gates

STEPS = ("check data", "hold out", "fit", "sample", "finish twin", "evaluate", "write bundle")
_VERSIONS_OF = ("sdv", "opendp", "sdmetrics", "rdt", "copulas", "ctgan", "pandas", "numpy", "torch", "scikit-learn", "lab")


@dataclass
class TwinBuild:
    """The outcome of one build."""

    dataset: str
    version: str
    path: Path
    released: bool
    gates: list[GateOutcome]
    evaluation: Evaluation
    timings: dict[str, float] = field(default_factory=dict)
    owner_report: Path | None = None  # DP twins: the full comparison with the real data, for the owner only


@dataclass(frozen=True)
class DatasetInfo:
    """Descriptive facts for the report and card (from the policy)."""

    title: str
    owner: str = ""
    description: str = ""
    people_table: str | None = None


def build_twin(tables: dict[str, pd.DataFrame], schema: DatasetSchema, spec: SynthesisSpec, gates: ReleaseGates,
               *, release_root: Path, staging_root: Path, info: DatasetInfo, progress: bool = True,
               dp_model: DPMarginals | None = None) -> TwinBuild:
    """Build, evaluate and (if it passes its gates) release one twin.

    Args:
        tables: the real tables, as loaded (checked and typed here).
        release_root: where released versions go (``release_root/vNNNN``).
        staging_root: a private directory for bundles being built and rejected ones.
        dp_model: for a DP synthesizer, the planned (unfitted) model whose ε the caller has
            already charged (see lab.twins); planned here from the spec if not given.

    Returns:
        The released build.

    Raises:
        DataValidationError: the data breaks the schema (nothing written).
        SynthesisError: the synthesizer failed (nothing kept).
        ReleaseRefused: a release gate failed (the bundle is kept in staging for review).
    """
    if spec.is_dp and dp_model is None:
        dp_model = DPMarginals.for_schema(schema, spec.parameters, spec.max_rows_per_person)
    timings: dict[str, float] = {}
    bar = tqdm(total=len(STEPS), desc=f"twin of {schema.name}", unit="step", disable=not progress, leave=True)

    def step(name: str) -> _Timer:
        bar.set_postfix_str(name)
        return _Timer(name, timings, bar)

    with step("check data"):
        real = check_dataset(tables, schema)
    root = schema.root_table
    people = info.people_table or root
    with step("hold out"):
        train, holdout = _split(real, schema, root, spec.holdout_fraction, spec.seed)
    version, staging = bundles.reserve_version(release_root, staging_root)
    try:
        metadata = sdv_metadata(schema)
        if dp_model is not None:
            with step("fit"):
                dp_model.fit(train[root])
            with step("sample"):
                sampled = {root: _with_keys(dp_model.sample(spec.rows, spec.seed), schema.table(root))}
            if dp_model.plan.refine_with is not None:
                with step("refine"):
                    sampled = _refine(dp_model.plan.refine_with, metadata, sampled, root, spec)
        else:
            with step("fit"):
                model = synthesizers.make_synthesizer(spec.synthesizer, metadata, spec.parameters, schema=schema,
                                                      seed=spec.seed, progress=progress)
                synthesizers.fit(model, {n: strip_identifiers(t, schema.table(n)) for n, t in train.items()},
                                 spec.seed)
            with step("sample"):
                sampled = synthesizers.sample(model, spec.rows, root, spec.seed,
                                              {n: len(t) for n, t in train.items()})
        with step("finish twin"):
            twin = finish_twin(sampled, schema, real, spec.seed)

            def draw(rows: int, seed: int) -> dict[str, pd.DataFrame]:  # more rows from the same model
                more = ({root: _with_keys(dp_model.sample(rows, seed), schema.table(root))} if dp_model is not None
                        else synthesizers.sample(model, rows, root, seed, {n: len(t) for n, t in train.items()}))
                return finish_twin(more, schema, real, seed)

            twin, rules_kept = keep_rules(twin, schema, draw, spec.seed)
        with step("write data"):
            bundles.write_tables(staging, twin)
        with step("evaluate"):
            evaluation = _evaluate(real, train, holdout, twin, metadata, schema, spec, root, people)
            evaluation = dataclasses.replace(evaluation, rules=rules_kept)
            outcomes = check_gates(gates, evaluation.gate_figures())
        with step("write bundle"):
            released = all(o.passed for o in outcomes)
            facts = _facts(schema, spec, info, version, released, root, train, twin, timings, dp_model)
            facts["rules"] = rules_kept  # twin-side counts only: fine in a DP twin's public documents too
            owner_report = None
            if dp_model is not None:
                owner_report = _write_owner_documents(staging_root, version, schema, facts, evaluation, outcomes,
                                                      real, twin)
                # the exact real row count is outside the guarantee too: owner only
                facts = {k: v for k, v in facts.items() if k not in ("training_rows", "sampled")}
                _write_public_dp_documents(staging, schema, facts, outcomes, twin)
            else:
                _write_documents(staging, schema, facts, evaluation, outcomes, real, twin)
            bundles.write_manifest(staging, {**facts, "gates": [o.__dict__ for o in outcomes],
                                             "versions": _versions()})
    except BaseException:
        bundles.discard(staging, release_root, version)
        shutil.rmtree(bundles.owner_folder(staging_root, version), ignore_errors=True)
        bar.close()
        raise
    bar.close()
    if not released:
        kept = bundles.reject(staging, staging_root, release_root, version)
        raise ReleaseRefused(schema.name, [o.describe() for o in outcomes if not o.passed], kept_at=str(kept))
    path = bundles.release(staging, release_root, version)
    return TwinBuild(schema.name, version, path, True, outcomes, evaluation, timings, owner_report)


def _refine(name: str, metadata: Any, sampled: dict[str, pd.DataFrame], root: str,
            spec: SynthesisSpec) -> dict[str, pd.DataFrame]:
    """Fit an SDV single-table synthesizer on the DP sample (never the real data) and sample the twin from it.

    Post-processing of the DP output: the guarantee and the charged ε are unchanged.
    """
    model = synthesizers.make_synthesizer(name, metadata)
    synthesizers.fit(model, {root: sampled[root]}, spec.seed)
    refined = synthesizers.sample(model, len(sampled[root]), root, spec.seed, {root: len(sampled[root])})
    return refined if isinstance(refined, dict) else {root: refined}


def _with_keys(frame: pd.DataFrame, table: Any) -> pd.DataFrame:
    """A DP sample in the schema's column order, with a placeholder key (finish_twin renumbers it)."""
    if table.primary_key is not None:
        frame = frame.assign(**{table.primary_key: np.arange(1, len(frame) + 1, dtype="int64")})
    return frame[[c for c in table.column_names if c in frame]]


class _Timer:
    def __init__(self, name: str, timings: dict[str, float], bar: Any) -> None:
        self.name, self.timings, self.bar = name, timings, bar

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, kind: Any, *_: Any) -> None:
        self.timings[self.name] = round(time.perf_counter() - self.start, 3)
        if kind is None and self.name in STEPS:
            self.bar.update(1)


def _split(real: dict[str, pd.DataFrame], schema: DatasetSchema, root: str, fraction: float,
           seed: int) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Hold out a random share of root rows, with their children (so families stay whole)."""
    rng = np.random.default_rng(seed)
    held = rng.random(len(real[root])) < fraction
    train, holdout = {root: real[root][~held]}, {root: real[root][held]}
    pending = list(schema.relationships)
    while pending:
        rel = next(r for r in pending if r.parent in train)
        pending.remove(rel)
        child = real[rel.child]
        keep = child[rel.child_key].isin(train[rel.parent][rel.parent_key])
        train[rel.child], holdout[rel.child] = child[keep], child[~keep]
    return ({n: t.reset_index(drop=True) for n, t in train.items()},
            {n: t.reset_index(drop=True) for n, t in holdout.items()})


def _evaluate(real: dict[str, pd.DataFrame], train: dict[str, pd.DataFrame], holdout: dict[str, pd.DataFrame],
              twin: dict[str, pd.DataFrame], metadata: Any, schema: DatasetSchema, spec: SynthesisSpec,
              root: str, people: str) -> Evaluation:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    quality = measure_quality(train, twin, metadata, schema, root, spec.evaluation_rows, spec.seed)
    timings["quality"] = time.perf_counter() - start
    start = time.perf_counter()
    privacy = measure_privacy(train[people], holdout[people], twin[people], real[people], schema, people, spec.seed)
    timings["privacy"] = time.perf_counter() - start
    utility = None
    if spec.utility_target is not None:
        start = time.perf_counter()
        table = spec.utility_table or people
        utility = measure_utility(train[table], holdout[table], twin[table], schema.table(table),
                                  spec.utility_target, spec.evaluation_rows, spec.seed)
        timings["utility"] = time.perf_counter() - start
    start = time.perf_counter()
    fidelity = measure_fidelity(train[people], holdout[people], twin[people], schema.table(people), seed=spec.seed)
    timings["fidelity"] = time.perf_counter() - start
    return Evaluation(quality, privacy, utility, {k: round(v, 3) for k, v in timings.items()}, fidelity)


def _facts(schema: DatasetSchema, spec: SynthesisSpec, info: DatasetInfo, version: str, released: bool, root: str,
           train: dict[str, pd.DataFrame], twin: dict[str, pd.DataFrame], timings: dict[str, float],
           dp_model: DPMarginals | None = None) -> dict[str, Any]:
    facts = {
        "dataset": schema.name,
        "version": version,
        "title": info.title,
        "owner": info.owner,
        "description": info.description,
        "released": released,
        "built_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "synthesizer": spec.synthesizer,
        "differentially_private": False,
        "parameters": spec.parameters,
        "seed": spec.seed,
        "holdout_fraction": spec.holdout_fraction,
        "main_table": root,
        "multi_table": schema.is_multi_table,
        "sampled": len(train[root]) > spec.evaluation_rows,
        "training_rows": {n: len(t) for n, t in train.items()},
        "twin_rows": {n: len(t) for n, t in twin.items()},
        "timings": dict(timings),
    }
    if dp_model is not None:
        facts["differentially_private"] = True
        facts["dp"] = dp_model.describe()
        facts["sampled_from"] = "noisy marginals (OpenDP)" + (
            f", then smoothed by SDV {dp_model.plan.refine_with} fitted on those synthetic rows only"
            if dp_model.plan.refine_with else "")
        facts["real_data_figures"] = "withheld (computed on the real data, outside the DP guarantee); " \
                                     "given to the data owner only"
    return facts


def _write_documents(staging: Path, schema: DatasetSchema, facts: dict[str, Any], evaluation: Evaluation,
                     outcomes: list[GateOutcome], real: dict[str, pd.DataFrame], twin: dict[str, pd.DataFrame]) -> None:
    bundles.write_json(staging / "metadata.json", metadata_dict(schema))
    bundles.write_json(staging / "schema.json", public_schema(schema))
    bundles.write_json(staging / "evaluation.json", evaluation.to_dict())
    figures = report_figures(real, twin, list(schema.tables), evaluation)
    (staging / "report.html").write_text(render_report(facts, evaluation, outcomes, figures), encoding="utf-8")
    (staging / "card.md").write_text(render_card(facts, schema, evaluation, outcomes), encoding="utf-8")


def _write_owner_documents(staging_root: Path, version: str, schema: DatasetSchema, facts: dict[str, Any],
                           evaluation: Evaluation, outcomes: list[GateOutcome], real: dict[str, pd.DataFrame],
                           twin: dict[str, pd.DataFrame]) -> Path:
    """A DP twin's full comparison with the real data, for the data owner only (outside the bundle)."""
    folder = bundles.owner_folder(staging_root, version)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    bundles.write_json(folder / "owner-evaluation.json", evaluation.to_dict())
    figures = report_figures(real, twin, list(schema.tables), evaluation)
    report = folder / bundles.OWNER_REPORT
    report.write_text(render_report(facts, evaluation, outcomes, figures), encoding="utf-8")
    return report


def _write_public_dp_documents(staging: Path, schema: DatasetSchema, facts: dict[str, Any],
                               outcomes: list[GateOutcome], twin: dict[str, pd.DataFrame]) -> None:
    """What users get of a DP twin: the guarantee and the twin's own description, no real-data figure."""
    bundles.write_json(staging / "metadata.json", metadata_dict(schema))
    bundles.write_json(staging / "schema.json", public_schema(schema))
    description = twin_description(twin)
    bundles.write_json(staging / "evaluation.json", {
        "differentially_private": True, "dp": facts["dp"],
        "real_data_figures": facts["real_data_figures"],
        "release_gates": [{"gate": o.gate, "passed": o.passed} for o in outcomes],
        "rules": facts.get("rules", []), "twin": description})
    (staging / "report.html").write_text(render_public_report(facts, outcomes, description), encoding="utf-8")
    (staging / "card.md").write_text(render_card(facts, schema, None, outcomes), encoding="utf-8")


def twin_description(twin: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The twin's own columns and distributions (computed on synthetic rows only)."""
    tables: dict[str, Any] = {}
    for name, frame in twin.items():
        columns: dict[str, Any] = {}
        for column in frame.columns:
            values = frame[column]
            entry: dict[str, Any] = {"dtype": str(values.dtype), "missing_share": float(values.isna().mean())}
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                present = values.dropna()
                if len(present):
                    quantiles = present.quantile([0, 0.25, 0.5, 0.75, 1]).tolist()
                    entry.update(mean=float(present.mean()), quantiles=[float(q) for q in quantiles])
            elif pd.api.types.is_datetime64_any_dtype(values):
                present = values.dropna()
                if len(present):
                    entry.update(first=str(present.min()), last=str(present.max()))
            elif values.nunique(dropna=True) <= 50:
                entry["shares"] = {str(k): float(v) for k, v in values.value_counts(normalize=True).items()}
            columns[column] = entry
        tables[name] = {"rows": len(frame), "columns": columns}
    return tables


def public_schema(schema: DatasetSchema) -> dict[str, Any]:
    """The policy's public column information, as shipped beside the SDV metadata."""
    return json.loads(json.dumps({
        "dataset": schema.name,
        "tables": {
            t.name: {
                "primary_key": t.primary_key,
                "columns": {
                    c.name: {k: v for k, v in {
                        "type": c.kind, "bounds": list(c.bounds) if c.bounds else None,
                        "categories": list(c.categories) if c.categories else None, "nullable": c.nullable,
                        "identifier": c.identifier, "unit": c.unit, "description": c.description or None,
                    }.items() if v is not None}
                    for c in t.columns if c.identifier != "drop"
                },
            }
            for t in schema.tables
        },
        "relationships": [rel.__dict__ for rel in schema.relationships],
    }, default=str))


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONS_OF:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return versions
