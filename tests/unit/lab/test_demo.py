"""The demo datasets: seeded, realistic where a twin can fail, and within their policies."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.demo import DEMO_DATASETS, generate_census, generate_tax, generate_welfare, write_demo_datasets
from lab.errors import DatasetNotFound
from lab.policies import dataset_schema, load_policy
from synth.checks import check_dataset

POLICIES = Path(__file__).resolve().parents[3] / "policies"
DTYPES = {"id": {"int64", "object"}, "integer": {"int64", "Int64"}, "float": {"float64"}, "categorical": {"object"},
          "boolean": {"bool"}, "date": {"datetime64[ns]"}, "text": {"object"}}


@pytest.fixture(scope="module")
def census() -> dict[str, pd.DataFrame]:
    return generate_census(20_000, seed=7)


@pytest.fixture(scope="module")
def welfare() -> pd.DataFrame:
    return generate_welfare(30_000, seed=7)


@pytest.fixture(scope="module")
def tax() -> pd.DataFrame:
    return generate_tax(30_000, seed=7)


@pytest.fixture(scope="module")
def datasets(census, welfare, tax) -> dict[str, dict[str, pd.DataFrame]]:
    return {"census": census, "welfare": {"claims": welfare}, "tax": {"returns": tax}}


@pytest.mark.parametrize("generate", [
    lambda seed: generate_census(300, seed),
    lambda seed: {"claims": generate_welfare(500, seed)},
    lambda seed: {"returns": generate_tax(500, seed)},
], ids=["census", "welfare", "tax"])
def test_same_seed_gives_the_same_data_and_another_seed_other_data(generate):
    first, again, other = generate(1), generate(1), generate(2)
    for table in first:
        pd.testing.assert_frame_equal(first[table], again[table])
        assert not first[table].equals(other[table])


@pytest.mark.parametrize("name", DEMO_DATASETS)
def test_every_value_fits_its_policy(name, datasets):
    policy = load_policy(POLICIES / f"{name}.yaml")
    tables = datasets[name]
    assert list(tables) == list(policy.tables)
    for table_name, table in policy.tables.items():
        frame = tables[table_name]
        assert list(frame.columns) == list(table.columns)
        for column_name, column in table.columns.items():
            values, where = frame[column_name], f"{name}.{table_name}.{column_name}"
            present = values.dropna()
            assert str(values.dtype) in DTYPES[column.type], where
            assert str(values.dtype) != "Int64" or column.nullable, f"{where}: Int64 only where values can be missing"
            assert values.notna().all() or column.nullable, f"{where}: missing values, but not declared nullable"
            assert values.isna().any() or not column.nullable, f"{where}: declared nullable, but never missing"
            if column.bounds is not None:
                low, high = (pd.Timestamp(b) for b in column.bounds) if column.type == "date" else column.bounds
                assert present.between(low, high).all(), f"{where}: values outside the public bounds"
            if column.type == "date":
                assert (present == present.dt.normalize()).all(), f"{where}: dates with a time of day"
            if column.categories is not None:
                assert set(present) <= set(column.categories), f"{where}: values outside the public categories"
    check_dataset(tables, dataset_schema(policy))  # the twin pipeline's own check agrees


def test_census_keys_link_persons_to_households(census):
    households, persons = census["households"], census["persons"]
    assert households["household_id"].is_unique and persons["person_id"].is_unique
    assert persons["household_id"].isin(households["household_id"]).all()
    members = persons.groupby("household_id").size().reindex(households["household_id"])
    assert (members.to_numpy() == households["household_size"].to_numpy()).all()
    reference = persons[persons["relationship"] == "reference_person"]
    assert reference["household_id"].is_unique and len(reference) == len(households)
    assert (reference["person_number"] == 1).all()


def test_census_ages_fit_relationships_and_children_live_with_adults(census):
    persons = census["persons"]
    reference_age = persons["household_id"].map(
        persons[persons["relationship"] == "reference_person"].set_index("household_id")["age"])
    older_by = reference_age - persons["age"]
    assert (older_by[persons["relationship"].isin(["child", "stepchild"])] >= 15).all()
    assert (older_by[persons["relationship"] == "grandchild"] >= 30).all()
    assert (older_by[persons["relationship"] == "parent"] <= -15).all()
    oldest = persons.groupby("household_id")["age"].max()
    assert (persons.loc[persons["age"] < 16, "household_id"].map(oldest) >= 16).all()
    # Missing exactly where a question does not apply.
    working = persons["economic_activity"].isin(["employee", "self_employed"])
    assert (persons["hours_worked"].notna() == working).all()
    assert (persons["occupation_group"].notna() == working).all()
    child = persons["age"] < 16
    assert (persons["marital_status"].isna() == child).all()
    assert (persons["highest_qualification"].isna() == child).all()
    assert ((persons["economic_activity"] == "does_not_apply") == child).all()


def test_census_income_is_skewed_and_follows_work_and_education(census):
    households, persons = census["households"], census["persons"]
    joined = households.merge(persons[persons["relationship"] == "reference_person"], on="household_id")
    by_activity = joined.groupby("economic_activity")["household_income"].median()
    assert by_activity["employee"] > 2 * by_activity["unemployed"]
    by_qualification = joined.groupby("highest_qualification")["household_income"].median()
    assert by_qualification["level_4_plus"] > 1.5 * by_qualification["no_qualifications"]
    income = households["household_income"].dropna()
    assert income.mean() > 1.2 * income.median()
    assert 0.03 < households["household_income"].isna().mean() < 0.07
    by_tenure = joined.groupby("tenure")["household_income"].median()
    assert by_tenure["owned_with_mortgage"] > 2 * by_tenure["social_rent"]


def test_census_rare_groups_exist_at_about_their_rates(census):
    households, persons = census["households"], census["persons"]
    assert 0.001 < (households["household_size"] >= 8).mean() < 0.01
    assert 0.0001 < (persons["age"] >= 100).mean() < 0.001
    assert 0.0002 < (persons["ethnic_group"] == "white_gypsy_or_irish_traveller").mean() < 0.003
    couples = persons[persons["relationship"] == "spouse_or_partner"][["household_id", "sex"]].merge(
        persons[persons["relationship"] == "reference_person"][["household_id", "sex"]], on="household_id")
    assert 0.005 < (couples["sex_x"] == couples["sex_y"]).mean() < 0.03
    assert 0.001 < (households["accommodation_type"] == "caravan_or_mobile").mean() < 0.015


def test_welfare_identifiers_look_real_and_are_unique(welfare):
    assert welfare["claimant_id"].is_unique and welfare["ni_number"].is_unique
    assert welfare["ni_number"].str.fullmatch(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]").all()
    assert welfare["postcode"].str.fullmatch(r"[A-Z]{1,2}\d{1,2} \d[A-Z]{2}").all()
    assert welfare["email"].dropna().str.fullmatch(r"[a-z.\-]+\d*@[a-z.]*example\.(com|org|net)").all()
    assert welfare["phone_number"].dropna().str.fullmatch(r"07\d{3} \d{6}").all()
    born = pd.DatetimeIndex(welfare["date_of_birth"])
    before_birthday = (born.month > 3) | ((born.month == 3) & (born.day > 31))
    assert ((2025 - born.year - before_birthday) == welfare["age"]).all()


def test_welfare_follows_the_rules_of_each_benefit(welfare):
    benefit = welfare["benefit_type"]
    assert welfare.loc[benefit.isin(["pip", "esa"]), "disabled"].all()
    assert (welfare["disability_type"].notna() == welfare["disabled"]).all()
    assert (welfare.loc[benefit == "pension_credit", "age"] >= 66).all()
    assert (welfare.loc[benefit == "pip", "age"] <= 77).all()
    assert welfare.loc[benefit == "housing_benefit", "tenure"].isin(
        ["social_rent", "private_rent", "temporary_accommodation"]).all()
    ended = welfare["claim_end_date"].notna()
    assert (welfare.loc[ended, "claim_end_date"] >= welfare.loc[ended, "claim_start_date"]).all()
    assert (welfare.loc[benefit == "universal_credit", "claim_start_date"] >= pd.Timestamp("2013-04-29")).all()
    # Awards at published rates: PIP takes a handful of exact values, Carer's Allowance one (or nil).
    assert welfare.loc[benefit == "pip", "monthly_award"].nunique() <= 8
    assert set(welfare.loc[benefit == "carers_allowance", "monthly_award"]) <= {0.0, 354.9}
    universal_credit = welfare[benefit == "universal_credit"]
    with_children = universal_credit.groupby(universal_credit["dependants"] > 0)["monthly_award"].median()
    assert with_children[True] > with_children[False] + 200
    # Income is missing mostly where the benefit is not means-tested.
    missing = welfare["household_income"].isna().groupby(benefit).mean()
    assert missing["pip"] > 5 * missing["universal_credit"]


def test_welfare_sanctions_are_zero_inflated_and_only_for_conditional_benefits(welfare):
    benefit = welfare["benefit_type"]
    unconditional = benefit.isin(["pip", "pension_credit", "housing_benefit", "carers_allowance"])
    assert (welfare.loc[unconditional, "sanctions_count"] == 0).all()
    sanctioned = (welfare["sanctions_count"] > 0).groupby(benefit).mean()
    assert 0.1 < sanctioned["jsa"] < 0.3 and 0.02 < sanctioned["universal_credit"] < 0.1


def test_welfare_rare_groups_exist_at_about_their_rates(welfare):
    assert 0.02 < (welfare["benefit_type"] == "jsa").mean() < 0.04
    assert 0.0001 < (welfare["age"] >= 100).mean() < 0.002
    assert 0.0005 < (welfare["dependants"] >= 8).mean() < 0.005
    assert 0.002 < (welfare["age"] < 18).mean() < 0.015


def test_tax_incomes_are_heavy_tailed_and_add_up(tax):
    employment = tax.loc[tax["employment_income"] > 0, "employment_income"]
    assert employment.mean() > 1.1 * employment.median()
    assert employment.quantile(0.999) > 8 * employment.median()
    assert 0.8 < (tax["self_employment_income"] == 0).mean() < 0.92
    assert (tax["self_employment_income"] < 0).any()
    sources = ["employment_income", "self_employment_income", "pension_income", "property_income", "dividend_income"]
    assert np.allclose(tax[sources].sum(axis=1), tax["total_income"])


def test_tax_follows_2023_24_rates(tax):
    plain = tax[(tax["region"] != "scotland") & (tax[["self_employment_income", "pension_income", "property_income",
                                                      "dividend_income"]] == 0).all(axis=1)]
    pay = plain["employment_income"]
    allowance = np.maximum(12_570 - np.floor(np.maximum(pay - 100_000, 0) / 2), 0)
    taxable = np.maximum(pay - allowance, 0)
    expected = (0.2 * np.minimum(taxable, 37_700) + 0.4 * np.clip(taxable - 37_700, 0, 87_440)
                + 0.45 * np.maximum(taxable - 125_140, 0))
    assert len(plain) > 1000 and np.allclose(plain["tax_paid"], expected.round(2), atol=0.01)
    scottish_bands = tax["tax_band"].isin(["starter", "intermediate", "top"])
    assert scottish_bands.any() and (tax.loc[scottish_bands, "region"] == "scotland").all()
    assert (tax.loc[tax["student_loan_plan"] == "plan_4", "region"] == "scotland").all()
    assert (tax.loc[tax["student_loan_plan"] == "plan_2", "age"] <= 30).all()
    assert 0.005 < tax["tax_band"].isin(["additional", "top"]).mean() < 0.03


def test_tax_filing_dates_crowd_at_the_deadline(tax):
    assert (tax["filing_date"].notna() == tax["files_self_assessment"]).all()
    filed = tax["filing_date"].dropna()
    assert (filed == pd.Timestamp("2025-01-31")).mean() > 0.05
    assert 0.03 < (filed > pd.Timestamp("2025-01-31")).mean() < 0.12


def test_write_demo_datasets_writes_the_files_the_policies_name(tmp_path):
    data_dir = tmp_path / "vault" / "data"
    written = write_demo_datasets(data_dir, rows=300, seed=3, progress=False)
    assert list(written) == list(DEMO_DATASETS)
    for name in DEMO_DATASETS:
        policy = load_policy(POLICIES / f"{name}.yaml")
        assert written[name] == [data_dir / table.path for table in policy.tables.values()]
        for path in written[name]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o700
        tables = {table: pd.read_parquet(path) for table, path in zip(policy.tables, written[name])}
        check_dataset(tables, dataset_schema(policy))
    assert stat.S_IMODE(data_dir.stat().st_mode) == stat.S_IMODE((tmp_path / "vault").stat().st_mode) == 0o700
    pd.testing.assert_frame_equal(pd.read_parquet(written["welfare"][0]), generate_welfare(300, seed=3))
    assert len(pd.read_parquet(data_dir / "census" / "households.parquet")) == 125  # 300 persons / 2.4
    assert not [p for p in data_dir.rglob("*") if p.name.startswith(".")]  # no temporary files left


def test_write_demo_datasets_replaces_only_the_chosen_datasets(tmp_path):
    first = write_demo_datasets(tmp_path, rows=200, seed=1, datasets=["tax"], progress=False)
    assert list(first) == ["tax"] and sorted(p.name for p in tmp_path.iterdir()) == ["tax"]
    write_demo_datasets(tmp_path, rows=250, seed=1, datasets=["tax"], progress=False)
    assert len(pd.read_parquet(first["tax"][0])) == 250
    with pytest.raises(DatasetNotFound, match="police"):
        write_demo_datasets(tmp_path, rows=200, datasets=["tax", "police"], progress=False)
