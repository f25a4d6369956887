"""End to end, as an admin would do it: demo data → policy → `lab twin build` → a released
bundle whose report opens in a real browser.

Runs the real CLI in subprocesses against a temporary lab root, with the shipped policies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lab.policies import load_policies
from synth.bundle import verify_bundle

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def lab(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAB_ROOT": str(root), "LAB_POLICIES_DIR": str(REPO / "policies")}
    return subprocess.run([sys.executable, "-m", "lab.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lab")
    written = lab(root, "demo-data", "--rows", "3000", "--dataset", "welfare", "--dataset", "census", "--no-progress")
    assert written.returncode == 0, written.stderr
    return root


@pytest.fixture(scope="module")
def welfare_build(lab_root: Path) -> subprocess.CompletedProcess[str]:
    return lab(lab_root, "twin", "build", "welfare", "--no-progress")


@pytest.fixture(scope="module")
def welfare_bundle(lab_root: Path, welfare_build: subprocess.CompletedProcess[str]) -> Path:
    assert welfare_build.returncode == 0, welfare_build.stdout + welfare_build.stderr
    return (lab_root / "twins" / "welfare" / "latest").resolve()


def test_build_releases_v0001_and_lists_it(lab_root, welfare_build, welfare_bundle):
    assert "released welfare v0001" in welfare_build.stdout
    assert welfare_bundle.name == "v0001"
    listed = lab(lab_root, "twin", "list")
    assert listed.returncode == 0 and "welfare" in listed.stdout and "v0001" in listed.stdout
    card = lab(lab_root, "twin", "card", "welfare")
    assert card.returncode == 0
    assert "quality" in card.stdout.lower() and "not" in card.stdout.lower()  # what it is not good for


def test_bundle_verifies_and_holds_no_real_identifier(lab_root, welfare_bundle):
    verify_bundle(welfare_bundle)
    manifest = json.loads((welfare_bundle / "manifest.json").read_text())
    assert manifest["released"] is True and manifest["seed"] == load_policies(REPO / "policies")["welfare"].synthesis.seed
    twin = pd.read_parquet(welfare_bundle / "data" / "claims.parquet")
    from_csv = pd.read_csv(welfare_bundle / "data" / "claims.csv")
    assert len(twin) == len(from_csv) > 0
    real = pd.read_parquet(lab_root / "vault" / "data" / "welfare" / "claims.parquet")
    for identifier in ("ni_number", "full_name", "postcode", "email", "phone_number"):
        if identifier in twin.columns:
            leaked = set(twin[identifier].dropna()) & set(real[identifier].dropna())
            assert not leaked, f"{len(leaked)} real {identifier} values in the twin"


def test_twin_stays_inside_the_policy(welfare_bundle):
    policy = load_policies(REPO / "policies")["welfare"]
    columns = policy.tables["claims"].columns
    twin = pd.read_parquet(welfare_bundle / "data" / "claims.parquet")
    for name, column in columns.items():
        if column.categories is not None and name in twin:
            assert set(twin[name].dropna().astype(str)) <= {str(c) for c in column.categories}, name
        if column.type in ("integer", "float") and column.bounds is not None and name in twin:
            low, high = column.bounds
            assert twin[name].dropna().between(float(low), float(high)).all(), name


def test_report_renders_in_a_browser(browser, welfare_bundle, tmp_path):
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto((welfare_bundle / "report.html").as_uri())
    headings = page.locator("h2").all_inner_texts()
    for section in ("Release gates", "Fidelity", "Privacy", "Utility", "Figures"):
        assert section in headings
    figures = page.locator("img")
    assert figures.count() >= 4
    widths = figures.evaluate_all("images => images.map(image => image.naturalWidth)")
    assert all(width > 100 for width in widths), "a plot did not load"
    body = page.locator("body").inner_text()
    assert "column shapes" in body.lower() and "pair trends" in body.lower()
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    context.close()
    assert errors == []
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_related_tables_twin_keeps_its_keys(lab_root):
    build = lab(lab_root, "twin", "build", "census", "--rows", "200", "--no-progress")
    assert build.returncode == 0, build.stdout + build.stderr
    bundle = (lab_root / "twins" / "census" / "latest").resolve()
    households = pd.read_parquet(bundle / "data" / "households.parquet")
    persons = pd.read_parquet(bundle / "data" / "persons.parquet")
    assert len(households) == 200
    assert households["household_id"].is_unique
    assert set(persons["household_id"]) <= set(households["household_id"])


def test_the_default_tree_twin_reports_fidelity_and_keeps_every_rule(lab_root, welfare_bundle):
    """The shipped welfare policy (cart, four rules) through the CLI: × floor everywhere, zero violations."""
    manifest = json.loads((welfare_bundle / "manifest.json").read_text())
    assert manifest["synthesizer"] == "cart"
    evaluation = json.loads((welfare_bundle / "evaluation.json").read_text())
    fidelity = evaluation["fidelity"]
    assert fidelity["three_way_ratio"] is not None and fidelity["three_way_ratio"] < 2.0
    rules = evaluation["rules"]
    assert {rule["kind"] for rule in rules} == {"bands", "birth_date", "order", "implies"}
    assert all(rule["violations"] == 0 for rule in rules)
    twin = pd.read_parquet(welfare_bundle / "data" / "claims.parquet")
    ended = twin.claim_end_date.notna()
    assert (twin.claim_start_date[ended] <= twin.claim_end_date[ended]).all()
    assert twin.disability_type[twin.disabled == False].isna().all()  # noqa: E712 - a nullable boolean
    born = pd.to_datetime(twin.date_of_birth)
    reference = pd.Timestamp("2025-03-31")
    age = reference.year - born.dt.year - ((born.dt.month > 3) | ((born.dt.month == 3) & (born.dt.day > 31)))
    assert (age == twin.age).all()
    report = (welfare_bundle / "report.html").read_text()
    assert "× floor" in report and "0 violations" in report
    card = lab(lab_root, "twin", "card", "welfare").stdout
    assert "× floor" in card and "Rules kept" in card
    listing = lab(lab_root, "twin", "list").stdout
    assert f"{fidelity['three_way_ratio']:.1f}×" in listing
