"""The whole pipeline on a small table: a released, reproducible bundle that gives away
no real extremes and no identifiers; failed gates and failed runs release nothing."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from synth import bundle as bundles
from synth.errors import DataValidationError, ReleaseRefused
from synth.pipeline import DatasetInfo, build_twin
from synth.spec import ReleaseGates

INFO = DatasetInfo(title="Claims", owner="Benefits data owner")


def _build(claims, schema, spec, gates, roots, **changes):
    return build_twin({"claims": claims}, schema, dataclasses.replace(spec, **changes), gates,
                      info=INFO, progress=False, **roots)


def test_released_bundle_has_every_part(claims, schema, spec, gates, roots):
    build = _build(claims, schema, spec, gates, roots)
    bundle = build.path
    assert build.released and build.version == "v0001" and bundle.name == "v0001"
    for name in ("data/claims.parquet", "data/claims.csv", "metadata.json", "schema.json", "report.html",
                 "card.md", "evaluation.json", "manifest.json"):
        assert (bundle / name).is_file(), name
    assert (roots["release_root"] / "latest").resolve() == bundle.resolve()
    assert bundles.verify_bundle(bundle) == []
    manifest = bundles.read_manifest(bundle)
    assert manifest["seed"] == spec.seed and manifest["versions"]["sdv"] == "2.0.0"
    assert set(manifest["timings"]) >= {"fit", "sample", "evaluate"}
    report = (bundle / "report.html").read_text()
    assert "Column Shapes" in report and "data:image/png;base64," in report and "balanced accuracy" in report
    card = (bundle / "card.md").read_text()
    assert "## What it is not good for" in card and "not differentially private" in card


def test_twin_respects_public_schema_and_hides_identifiers(claims, schema, spec, gates, roots):
    twin = pd.read_parquet(_build(claims, schema, spec, gates, roots).path / "data" / "claims.parquet")
    assert "ni_number" not in twin.columns  # identifier: drop
    assert not twin["full_name"].isin(set(claims["full_name"])).any()  # identifier: fake
    assert not twin["claim_id"].isin([0]).any() and twin["claim_id"].is_unique
    assert twin["age"].between(16, 100).all() and twin["income"].dropna().between(0, 250_000).all()
    assert set(twin["benefit_type"]) <= set(schema.table("claims").column("benefit_type").categories)
    assert twin["income"].isna().any()  # missingness is learned


def test_metadata_carries_no_real_extremes(claims, schema, spec, gates, roots):
    bundle = _build(claims, schema, spec, gates, roots).path
    text = (bundle / "metadata.json").read_text() + (bundle / "schema.json").read_text()
    real_max_income = claims["income"].max()
    assert f"{real_max_income}" not in text and f"{real_max_income:.2f}" not in text
    public = json.loads((bundle / "schema.json").read_text())
    assert public["tables"]["claims"]["columns"]["age"]["bounds"] == [16.0, 100.0]
    assert "ni_number" not in public["tables"]["claims"]["columns"]
    from sdv.metadata import Metadata

    Metadata.load_from_json(str(bundle / "metadata.json")).validate()


def test_sampling_is_reproducible_from_the_seed(claims, schema, spec, gates, roots, tmp_path):
    first = _build(claims, schema, spec, gates, roots)
    second = _build(claims, schema, spec, gates, roots)
    other = _build(claims, schema, spec, gates, roots, seed=spec.seed + 1)
    read = lambda build: pd.read_parquet(build.path / "data" / "claims.parquet")  # noqa: E731
    pd.testing.assert_frame_equal(read(first), read(second))
    assert not read(first).equals(read(other))
    assert [first.version, second.version, other.version] == ["v0001", "v0002", "v0003"]


def test_failed_gate_releases_nothing_and_says_by_how_much(claims, schema, spec, roots):
    strict = ReleaseGates(min_quality=0.999, max_exact_copy_rate=None, min_dcr_protection=None)
    with pytest.raises(ReleaseRefused) as caught:
        _build(claims, schema, spec, strict, roots)
    message = caught.value.message
    assert "min_quality:" in message and "fails threshold 0.999, short by" in message
    assert bundles.released_versions(roots["release_root"]) == []
    assert not (roots["release_root"] / "latest").exists()
    kept = roots["staging_root"] / "rejected-v0001"
    assert kept.is_dir() and (kept / "report.html").is_file()
    assert caught.value.kept_at == str(kept)


def test_bad_data_writes_nothing(claims, schema, spec, gates, roots):
    with pytest.raises(DataValidationError):
        _build(claims.drop(columns=["age"]), schema, spec, gates, roots)
    assert not roots["release_root"].exists() or bundles.released_versions(roots["release_root"]) == []
    assert not roots["staging_root"].exists() or list(roots["staging_root"].iterdir()) == []


def test_related_tables_with_hma(tmp_path):
    import numpy as np

    from synth.schema import ColumnSchema, DatasetSchema, Relationship, TableSchema
    from synth.spec import SynthesisSpec

    rng = np.random.default_rng(3)
    households = pd.DataFrame({"household_id": np.arange(1, 301), "region": rng.choice(["north", "south"], 300)})
    sizes = rng.integers(1, 5, 300)
    persons = pd.DataFrame({"person_id": np.arange(1, sizes.sum() + 1),
                            "household_id": np.repeat(households["household_id"], sizes).to_numpy(),
                            "age": rng.integers(0, 95, sizes.sum())})
    schema = DatasetSchema("census", (
        TableSchema("households", (ColumnSchema("household_id", "id"),
                                   ColumnSchema("region", "categorical", categories=("north", "south"))),
                    "household_id"),
        TableSchema("persons", (ColumnSchema("person_id", "id"), ColumnSchema("household_id", "id"),
                                ColumnSchema("age", "integer", bounds=(0.0, 110.0))), "person_id"),
    ), (Relationship("households", "household_id", "persons", "household_id"),))
    build = build_twin({"households": households, "persons": persons}, schema,
                       SynthesisSpec(synthesizer="hma", seed=1, utility_target="age", utility_table="persons"),
                       ReleaseGates(min_quality=0.5, min_dcr_protection=None),
                       release_root=tmp_path / "twins", staging_root=tmp_path / "staging",
                       info=DatasetInfo("Census", people_table="persons"), progress=False)
    twin_households = pd.read_parquet(build.path / "data" / "households.parquet")
    twin_persons = pd.read_parquet(build.path / "data" / "persons.parquet")
    assert twin_persons["household_id"].isin(twin_households["household_id"]).all()
    assert "Cardinality" in build.evaluation.quality.properties
