"""The sequential-tree synthesizer (synth.cart): leaf draws, disclosure control, types, related tables."""

from __future__ import annotations

import datetime as dt
import stat

import numpy as np
import pandas as pd
import pytest

from synth.cart import CARTDatasetSynthesizer, CARTSynthesizer, default_visit_order
from synth.cart.leaves import LeafSampler
from synth.errors import SynthesisError
from synth.schema import ColumnSchema, DatasetSchema, Relationship, TableSchema


def _people(rows: int = 2000, seed: int = 0) -> tuple[TableSchema, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    age = rng.integers(16, 90, rows)
    pension = np.where(age >= 66, "pension", np.where(rng.random(rows) < 0.5, "jobseeker", "carer"))
    income = np.where(rng.random(rows) < 0.4, 0.0, np.round(rng.lognormal(9, 1, rows), 2))
    start = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, rows), unit="D")
    table = TableSchema("people", (
        ColumnSchema("person_id", "id"),
        ColumnSchema("age", "integer", bounds=(16.0, 120.0)),
        ColumnSchema("benefit", "categorical", categories=("pension", "jobseeker", "carer")),
        ColumnSchema("income", "float", bounds=(0.0, 1e6), nullable=True),
        ColumnSchema("start", "date", bounds=(dt.date(2019, 1, 1), dt.date(2025, 12, 31))),
        ColumnSchema("stamp", "datetime", bounds=(dt.datetime(2019, 1, 1), dt.datetime(2026, 1, 1))),
        ColumnSchema("couple", "boolean", nullable=True),
        ColumnSchema("country", "categorical", categories=("uk",)),
    ), primary_key="person_id")
    frame = pd.DataFrame({
        "person_id": np.arange(rows), "age": age, "benefit": pension,
        "income": np.where(rng.random(rows) < 0.1, np.nan, income), "start": start,
        "stamp": start + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s"),
        "couple": pd.array(np.where(rng.random(rows) < 0.05, None, rng.random(rows) < 0.5), dtype="boolean"),
        "country": "uk",
    })
    return table, frame


def test_a_deterministic_rule_survives_because_values_come_from_the_leaf() -> None:
    table, real = _people()
    twin = CARTSynthesizer(table, min_leaf=5, seed=1).fit(real).sample(3000, seed=2)
    # benefit is "pension" exactly when age >= 66 in the real data; the tree learns the split
    assert ((twin.age >= 66) == (twin.benefit == "pension")).mean() > 0.99
    assert set(twin.benefit) <= set(table.column("benefit").categories)


def test_types_missing_values_and_one_valued_columns() -> None:
    table, real = _people()
    twin = CARTSynthesizer(table, seed=1).fit(real).sample(4000, seed=3)
    assert list(twin.columns) == ["age", "benefit", "income", "start", "stamp", "couple", "country"]
    assert twin.age.dtype == np.int64 and twin.age.between(16, 120).all()
    assert pd.api.types.is_datetime64_any_dtype(twin.start) and (twin.start == twin.start.dt.normalize()).all()
    assert pd.api.types.is_datetime64_any_dtype(twin.stamp)
    assert twin.couple.dtype == "boolean"
    assert (twin.country == "uk").all()
    # missing is a state of its own, drawn at about the real rate
    assert abs(twin.income.isna().mean() - real.income.isna().mean()) < 0.03
    assert abs(twin.couple.isna().mean() - real.couple.isna().mean()) < 0.03
    # the point mass at 0 stays exact and at its share (smoothing leaves common values alone)
    assert abs((twin.income == 0).mean() - (real.income == 0).mean()) < 0.04


def test_every_leaf_holds_at_least_min_leaf_real_rows() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 3))
    y = x[:, 0] * 3 + rng.normal(size=5000)
    sampler = LeafSampler(categorical=False, min_leaf=25, smoothing=False, seed=0).fit(x, y)
    assert sampler.counts[sampler.counts > 0].min() >= 25
    drawn = sampler.sample(x[:100], np.random.default_rng(1))
    assert np.isin(drawn, y).all()  # without smoothing, every value is an observed one


def test_smoothing_hides_rare_values_and_keeps_common_ones() -> None:
    rng = np.random.default_rng(0)
    y = np.where(rng.random(4000) < 0.5, 0.0, rng.lognormal(8, 1, 4000))
    sampler = LeafSampler(categorical=False, min_leaf=5, smoothing=True, seed=0).fit(rng.normal(size=(4000, 1)), y)
    drawn = sampler.sample(rng.normal(size=(4000, 1)), np.random.default_rng(2))
    rare = drawn[drawn != 0]
    assert np.isin(rare, y).mean() < 0.01  # a rare real value is never handed out exactly
    assert abs((drawn == 0).mean() - 0.5) < 0.05  # the point mass is exact


def test_no_twin_row_reproduces_a_real_unique_row() -> None:
    rng = np.random.default_rng(0)
    table = TableSchema("t", (ColumnSchema("a", "categorical", categories=tuple("abcd")),
                              ColumnSchema("b", "integer", bounds=(0.0, 20.0))))
    real = pd.DataFrame({"a": rng.choice(list("abcd"), 400), "b": rng.integers(0, 20, 400)})
    counts = real.value_counts()
    uniques = {tuple(map(str, key)) for key in counts[counts == 1].index}
    assert uniques, "the example needs unique rows"
    model = CARTSynthesizer(table, min_leaf=1, smoothing=False, seed=0).fit(real)
    twin = model.sample(4000, seed=1)
    assert not {tuple(map(str, row)) for row in twin.itertuples(index=False)} & uniques
    assert model.last_sampling["redrawn"] > 0 and len(twin) == 4000
    unprotected = CARTSynthesizer(table, min_leaf=1, smoothing=False, protect_uniques=False, seed=0).fit(real)
    assert {tuple(map(str, row)) for row in unprotected.sample(4000, seed=1).itertuples(index=False)} & uniques


def test_seeded_and_repeatable_and_saved(tmp_path) -> None:
    table, real = _people(800)
    first = CARTSynthesizer(table, seed=4).fit(real)
    second = CARTSynthesizer(table, seed=4).fit(real)
    pd.testing.assert_frame_equal(first.sample(500, seed=9), second.sample(500, seed=9))
    assert not first.sample(500, seed=9).equals(first.sample(500, seed=10))
    path = tmp_path / "model.pkl"
    first.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds real values
    pd.testing.assert_frame_equal(CARTSynthesizer.load(path).sample(500, seed=9), first.sample(500, seed=9))


def test_very_many_categories() -> None:
    rng = np.random.default_rng(0)
    levels = tuple(f"area_{i:03d}" for i in range(300))
    table = TableSchema("t", (ColumnSchema("area", "categorical", categories=levels),
                              ColumnSchema("size", "integer", bounds=(0.0, 1000.0))))
    area = rng.choice(levels, 6000)
    real = pd.DataFrame({"area": area, "size": np.array([int(a[-3:]) for a in area]) + rng.integers(0, 3, 6000)})
    twin = CARTSynthesizer(table, visit_order=["size", "area"], seed=0).fit(real).sample(3000, seed=1)
    assert twin.area.nunique() > 250 and set(twin.area) <= set(levels)
    assert (np.abs(np.array([int(a[-3:]) for a in twin.area]) - twin["size"]) <= 60).mean() > 0.9


def test_default_visit_order_puts_coarse_categories_first() -> None:
    table, _ = _people()
    assert default_visit_order(table.modelled_columns[1:]) == [
        "country", "couple", "benefit", "age", "income", "start", "stamp"]


@pytest.mark.parametrize("order, words", [
    (["age", "benefit"], "misses"),
    (["age", "age", "benefit", "income", "start", "stamp", "couple", "country"], "repeats age"),
    (["age", "benefit", "income", "start", "stamp", "couple", "country", "height"], "height"),
])
def test_a_wrong_visit_order_is_refused_by_name(order: list[str], words: str) -> None:
    table, _ = _people()
    with pytest.raises(SynthesisError, match=words):
        CARTSynthesizer(table, visit_order=order)


def test_bad_input_gets_a_clear_error_without_values() -> None:
    table, real = _people(200)
    with pytest.raises(SynthesisError, match="fewer training rows than twice the minimum leaf"):
        CARTSynthesizer(table, min_leaf=150).fit(real)
    with pytest.raises(SynthesisError, match="no value in any training row"):
        CARTSynthesizer(table).fit(real.assign(income=np.nan))
    strange = real.assign(benefit=real.benefit.where(real.index != 3, "secret-value"))
    with pytest.raises(SynthesisError, match="outside the policy's category list") as error:
        CARTSynthesizer(table).fit(strange)
    assert "secret-value" not in str(error.value)
    with pytest.raises(SynthesisError, match="min_leaf"):
        CARTSynthesizer(table, min_leaf=0)


def test_related_tables_keep_family_sizes_and_positions() -> None:
    rng = np.random.default_rng(0)
    households = pd.DataFrame({"hid": np.arange(1, 1501), "size": rng.integers(1, 6, 1500),
                               "tenure": rng.choice(["own", "rent"], 1500)})
    persons = households.loc[households.index.repeat(households["size"])].reset_index(drop=True)
    position = persons.groupby("hid").cumcount() + 1
    persons = pd.DataFrame({"pid": np.arange(len(persons)), "hid": persons.hid,
                            "role": np.where(position == 1, "head", "member"),
                            "age": np.where(position == 1, rng.integers(30, 80, len(persons)),
                                            rng.integers(0, 30, len(persons)))})
    schema = DatasetSchema("census", (
        TableSchema("households", (ColumnSchema("hid", "id"), ColumnSchema("size", "integer", bounds=(1.0, 30.0)),
                                   ColumnSchema("tenure", "categorical", categories=("own", "rent"))), "hid"),
        TableSchema("persons", (ColumnSchema("pid", "id"), ColumnSchema("hid", "id"),
                                ColumnSchema("role", "categorical", categories=("head", "member")),
                                ColumnSchema("age", "integer", bounds=(0.0, 115.0))), "pid"),
    ), (Relationship("households", "hid", "persons", "hid"),))
    model = CARTDatasetSynthesizer(schema, seed=0).fit({"households": households, "persons": persons})
    twin = model.sample(3000, seed=1)
    homes, people = twin["households"], twin["persons"]
    assert len(homes) == 3000 and list(homes.columns) == ["hid", "size", "tenure"]
    assert list(people.columns) == ["pid", "hid", "role", "age"]
    assert people.hid.isin(homes.hid).all()
    members = people.groupby("hid").size().reindex(homes.hid).fillna(0).to_numpy()
    assert (members == homes["size"].to_numpy()).mean() > 0.98
    first = people.groupby("hid").head(1)
    assert (first.role == "head").mean() > 0.98 and (people[people.role == "head"].age >= 30).mean() > 0.98
