"""Twin builds for the dashboard: released and rejected ones, and which of their files may be served."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lab.errors import TwinNotFound
from lab.vault.service.builds import BuildStore, document_path
from lab.vault.service.errors import FileNotServed
from synth import bundle as bundles

GATES = [{"gate": "min_quality", "threshold": 0.7, "value": 0.74, "passed": True},
         {"gate": "max_exact_copy_rate", "threshold": 0.01, "value": 0.0, "passed": True}]


def make_bundle(root: Path, dataset: str, *, released: bool, secret: Path | None = None) -> Path:
    """A bundle through synth.bundle, as the pipeline writes one (a planted link if ``secret``)."""
    release_root, staging_root = root / "twins" / dataset, root / "vault" / "staging" / dataset
    version, staging = bundles.reserve_version(release_root, staging_root)
    (staging / "data").mkdir()
    (staging / "data" / "people.csv").write_text("a,b\n1,2\n")
    (staging / "card.md").write_text("# Card\n")
    (staging / "report.html").write_text("<h1>Report</h1>")
    (staging / "evaluation.json").write_text(json.dumps({"quality": {"score": 0.74}}))
    if secret is not None:
        os.symlink(secret, staging / "figure.png")
    gates = GATES if released else [{**GATES[0], "threshold": 0.99, "passed": False}]
    bundles.write_manifest(staging, {"dataset": dataset, "version": version, "released": released,
                                     "built_at": "2026-11-25 00:00 UTC", "synthesizer": "gaussian_copula",
                                     "twin_rows": {"people": 10}, "gates": gates})
    if released:
        return bundles.release(staging, release_root, version)
    return bundles.reject(staging, staging_root, release_root, version)


@pytest.fixture
def store(tmp_path: Path) -> BuildStore:
    make_bundle(tmp_path, "demo", released=True)
    make_bundle(tmp_path, "demo", released=False)
    make_bundle(tmp_path, "demo", released=True)
    return BuildStore(tmp_path / "twins", tmp_path / "vault" / "staging")


def test_builds_list_released_and_rejected_versions_with_their_gates(store: BuildStore):
    history = store.history("demo")
    assert [(b.version, b.released) for b in history] == [("v0001", True), ("v0002", False), ("v0003", True)]
    assert store.latest("demo").version == "v0003"
    rejected = store.find("demo", "v0002", released=False)
    assert [g.gate for g in rejected.failed_gates] == ["min_quality"]
    assert rejected.quality == pytest.approx(0.74) and rejected.has_card and rejected.has_report
    assert store.history("other") == [] and store.latest("other") is None
    assert BuildStore(store.twins_dir).rejected("demo") == []  # without the staging area: none listed


@pytest.mark.parametrize("version, released", [("v0002", True), ("v0001", False), ("v9999", True),
                                               ("../demo/v0001", True), ("latest", True)])
def test_a_version_that_is_not_a_build_of_that_kind_is_not_found(store: BuildStore, version: str, released: bool):
    with pytest.raises(TwinNotFound):
        store.find("demo", version, released=released)


def test_only_documents_listed_in_the_manifest_are_served(store: BuildStore):
    build = store.find("demo", "v0001")
    path, content_type = document_path(build, "report.html")
    assert path == (build.path / "report.html").resolve() and content_type.startswith("text/html")
    assert document_path(build, "card.md")[1].startswith("text/plain")
    (build.path / "extra.html").write_text("written after the manifest")
    for name in ["manifest.json", "extra.html", "data/people.csv", "../v0003/report.html", "/etc/passwd",
                 "./report.html", "report.html/", "nonexistent.html"]:
        with pytest.raises(FileNotServed):
            document_path(build, name)


def test_a_link_planted_in_a_bundle_does_not_lead_out_of_it(tmp_path: Path):
    secret = tmp_path / "ledger.png"
    secret.write_bytes(b"not for users")
    make_bundle(tmp_path, "demo", released=True, secret=secret)
    build = BuildStore(tmp_path / "twins").find("demo", "v0001")
    assert "figure.png" in build.files  # the manifest lists it...
    with pytest.raises(FileNotServed):
        document_path(build, "figure.png")  # ...but it resolves outside the bundle


def test_a_build_carries_its_three_way_times_floor_when_the_evaluation_has_one(tmp_path: Path):
    from lab.vault.service.builds import read_build

    bundle = make_bundle(tmp_path, "demo", released=True)
    assert read_build(bundle, released=True).fidelity is None  # an older bundle: no fidelity key
    (bundle / "evaluation.json").write_text(json.dumps({"quality": {"score": 0.74},
                                                        "fidelity": {"three_way_ratio": 1.37}}))
    assert read_build(bundle, released=True).fidelity == pytest.approx(1.37)
