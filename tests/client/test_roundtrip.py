"""The client against the real vault service: every route, every builder method, every refusal.

The service runs as a subprocess (see conftest.py); nothing here imports the vault.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pytest

import lab
from lab.client.query import Query

#: The session fixture builds a real twin (about half a minute).
pytestmark = pytest.mark.slow

EXAMPLE = lab.query("welfare").mean("household_income", bounds=(0, 100_000)).where("age", ">=", 66).by("region")
REGIONS = ["north_east", "north_west", "yorkshire_and_the_humber", "east_midlands", "west_midlands",
           "east_of_england", "london", "south_east", "south_west", "wales", "scotland"]


def _remaining(connection, dataset: str = "welfare") -> dict[str, Decimal]:
    frame = lab.budget(dataset, connection=connection)
    return dict(zip(frame["budget"], frame["remaining"]))


def test_health_and_catalog(vault):
    alice, bob = vault.connection("alice"), vault.connection("bob")
    assert alice.health()
    catalog = lab.datasets(connection=alice).set_index("name")
    assert sorted(catalog.index) == ["census", "tax", "welfare"]
    assert catalog.loc["welfare", "twin_version"] == "v0001" and catalog.loc["welfare", "can_query"]
    assert catalog.loc["census", "twin_version"] is None
    assert catalog.loc["census", "tables"] == "households, persons"
    assert catalog.loc["welfare", "max_epsilon_per_query"] == Decimal("0.5")
    for_bob = lab.datasets(connection=bob).set_index("name")
    assert not for_bob["can_query"].any() and "welfare" in for_bob.index


def test_columns_show_the_policys_public_information(vault):
    columns = lab.columns("welfare", connection=vault.connection("alice")).set_index("column")
    assert columns.loc["household_income", "bounds"] == (0, 2_000_000)
    assert columns.loc["region", "public"] and "london" in columns.loc["region", "categories"]
    with pytest.raises(lab.UnknownDataset, match="use one of: census, tax, welfare"):
        lab.columns("welfar", connection=vault.connection("alice"))


def test_preview_is_exact_on_the_twin_and_free(vault, monkeypatch):
    alice = vault.connection("alice")
    monkeypatch.setenv("LAB_TWINS_DIR", str(vault.twins_dir))
    before = _remaining(alice)
    preview = lab.query("welfare").count().where("age", ">=", 66).by("region").using(alice).preview()
    assert not preview.private and preview.epsilon == 0 and preview.twin_version == "v0001"
    twin = lab.load_twin("welfare")
    expected = twin[twin["age"] >= 66].groupby("region").size().reindex(REGIONS, fill_value=0)
    assert preview.frame.set_index("region")["value"].tolist() == expected.tolist()
    assert _remaining(alice) == before


def test_the_example_runs_charges_exactly_and_shows_its_cost(vault):
    alice = vault.connection("alice")
    before = _remaining(alice)
    result = EXAMPLE.using(alice).run(epsilon=0.2)
    assert result.private and result.epsilon == Decimal("0.2")
    assert result.frame["region"].tolist() == REGIONS
    for row in result.frame.itertuples():
        assert 0 <= row.lower <= row.upper <= 100_000
        assert pd.isna(row.value) or row.lower <= row.value <= row.upper
    after = _remaining(alice)
    assert {name: before[name] - after[name] for name in before} == {name: Decimal("0.2") for name in before}
    assert result.remaining == after["your allowance"] == min(after.values())
    text = repr(result)
    assert "ε charged: 0.2" in text and f"ε remaining: {after['your allowance']} (your allowance)" in text
    history = lab.history("welfare", connection=alice)
    charge = history[history["id"] == result.entry_id].iloc[0]
    assert charge["epsilon"] == Decimal("0.2") and charge["action"] == "reserve"
    assert json.loads(charge["description"])["column"] == "household_income"


@pytest.mark.parametrize("build", [
    lambda q: q.count(),
    lambda q: q.count("disability_type"),
    lambda q: q.sum("monthly_award", bounds=(0, 2000)).where("benefit_type", "in", ["pip", "esa"]),
    lambda q: q.mean("couple"),
    lambda q: q.median("age"),
    lambda q: q.quantile("monthly_award", 0.9, bounds=(0, 3000)),
    lambda q: q.histogram("benefit_type").by("sex"),
    lambda q: q.histogram("age", [30, 50, 70]),
    lambda q: q.histogram("monthly_award", bin_count=4, bounds=(0, 2000)).confidence(0.9),
    lambda q: q.count().table("claims").where("claim_start_date", ">=", "2022-01-01").where("disabled", "==", True),
], ids=["count", "count-column", "sum-in", "mean-boolean", "median", "quantile", "histogram-by", "histogram-bins",
        "histogram-bin-count", "table-date-filter"])
def test_every_builder_method_is_understood_by_the_vault(vault, build):
    frank = vault.connection("frank")
    q = build(Query("welfare", connection=frank))
    preview = q.preview()
    result = q.run(epsilon="0.05")
    assert result.epsilon == Decimal("0.05")
    assert len(result.rows) == len(preview.rows) >= 1
    assert result.confidence == q.confidence_level


@pytest.mark.parametrize(("build", "kind", "words"), [
    (lambda q: q.mean("household_incme"), lab.BadColumn, "did you mean 'household_income'?"),
    (lambda q: q.count().by("age"), lab.BadColumn, "not a public group-by key"),
    (lambda q: q.mean("full_name"), lab.BadColumn, "cannot be used in queries"),
    (lambda q: q.mean("age", bounds=(0, 500)), lab.BadBounds, "outside the policy's public bounds [16, 120]"),
    (lambda q: q.count().where("region", "==", "atlantis"), lab.BadQuery, "region"),
    (lambda q: q.count().table("households"), lab.BadTable, "not a table of dataset 'welfare'"),
    (lambda q: q.mean("age").where("age", ">", 3).where("sex", "==", "x").by("age"), lab.BadQuery, "problems"),
], ids=["unknown-column", "not-groupable", "identifier", "bounds", "filter-value", "table", "several"])
def test_bad_queries_are_refused_with_the_vaults_fix_and_charge_nothing(vault, build, kind, words):
    alice = vault.connection("alice")
    before = _remaining(alice)
    for ask in (lambda q: q.preview(), lambda q: q.run(epsilon=0.1)):
        with pytest.raises(kind) as caught:
            ask(build(Query("welfare", connection=alice)))
        assert words in str(caught.value)
        assert caught.value.status == 400 and "Fix:" in str(caught.value) or caught.value.problems
    assert _remaining(alice) == before


def test_refusals_outside_the_query(vault):
    alice = vault.connection("alice")
    with pytest.raises(lab.BadQuery, match="above this dataset's cap of 0.5 per query"):
        lab.query("welfare").count().using(alice).run(epsilon=0.6)
    with pytest.raises(lab.UnknownDataset):
        lab.query("nope").count().using(alice).run(epsilon=0.1)
    with pytest.raises(lab.TwinNotFound, match="lab twin build census"):
        lab.query("census").count().using(alice).preview()
    with pytest.raises(lab.NoAccess) as no_access:
        lab.query("welfare").count().using(vault.connection("bob")).run(epsilon=0.1)
    assert no_access.value.status == 403
    with pytest.raises(lab.NotSignedIn) as not_signed_in:
        lab.budget(connection=lab.Connection(vault.url, "not-a-token"))
    assert not_signed_in.value.status == 401 and "token" in str(not_signed_in.value)


def test_spent_budget_is_final_and_a_refusal_charges_nothing(vault):
    dave = vault.connection("dave")
    q = lab.query("welfare", connection=dave).count()
    for _ in range(4):
        q.run(epsilon=0.5)
    assert _remaining(dave)["your allowance"] == 0
    before = lab.budget("welfare", connection=dave)
    with pytest.raises(lab.OverBudget) as caught:
        q.run(epsilon=0.1)
    error = caught.value
    assert error.status == 409 and error.service_type == "BudgetExceeded"
    assert "Nothing was charged" in str(error) and "\n" not in str(error)
    assert [(s["scope"], s["holder"], Decimal(s["remaining"])) for s in error.details["shortfalls"]] == \
        [("user", "dave", 0)]
    assert lab.budget("welfare", connection=dave).equals(before)
    assert q.preview().value is not None  # the twin is still free


def test_load_twin_reads_what_the_vault_released(vault, monkeypatch):
    monkeypatch.setenv("LAB_TWINS_DIR", str(vault.twins_dir))
    manifest = json.loads((vault.twins_dir / "welfare" / "latest" / "manifest.json").read_text())
    frame = lab.load_twin("welfare")
    assert len(frame) == manifest["twin_rows"]["claims"] and "household_income" in frame
    assert lab.load_twin("welfare", as_="polars").shape == frame.shape
    with pytest.raises(lab.TwinNotFound, match="use one of: welfare"):
        lab.load_twin("census")
