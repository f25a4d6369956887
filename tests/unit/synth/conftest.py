"""A small, seeded claims-like table and its public schema, for the pipeline's unit tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synth.schema import ColumnSchema, DatasetSchema, TableSchema
from synth.spec import ReleaseGates, SynthesisSpec

BENEFITS = ("universal_credit", "pip", "jsa", "esa")


def make_claims(rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(16, 90, rows)
    disabled = rng.random(rows) < 0.1 + 0.004 * (age - 16)
    benefit = np.where(disabled, rng.choice(["pip", "esa"], rows), rng.choice(["universal_credit", "jsa"], rows))
    income = rng.lognormal(9.5, 0.8, rows) * np.where(disabled, 0.7, 1.0)
    income[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({
        "claim_id": np.arange(1, rows + 1),
        "full_name": [f"Claimant {i}" for i in range(rows)],
        "ni_number": [f"QQ{i:06d}A" for i in range(rows)],
        "age": age,
        "income": income,
        "benefit_type": benefit,
        "disabled": disabled,
        "claim_start": pd.to_datetime("2018-01-01") + pd.to_timedelta(rng.integers(0, 2500, rows), unit="D"),
    })


def claims_schema() -> DatasetSchema:
    columns = (
        ColumnSchema("claim_id", "id"),
        ColumnSchema("full_name", "text", identifier="fake", fake_as="name"),
        ColumnSchema("ni_number", "text", identifier="drop"),
        ColumnSchema("age", "integer", bounds=(16.0, 100.0)),
        ColumnSchema("income", "float", bounds=(0.0, 1_000_000.0), nullable=True, unit="GBP"),
        ColumnSchema("benefit_type", "categorical", categories=BENEFITS),
        ColumnSchema("disabled", "boolean", categories=("False", "True")),
        ColumnSchema("claim_start", "date", bounds=(dt.date(2015, 1, 1), dt.date(2025, 12, 31))),
    )
    return DatasetSchema("claims", (TableSchema("claims", columns, primary_key="claim_id"),))


@pytest.fixture
def claims() -> pd.DataFrame:
    return make_claims()


@pytest.fixture
def schema() -> DatasetSchema:
    return claims_schema()


@pytest.fixture
def spec() -> SynthesisSpec:
    return SynthesisSpec(seed=7, utility_target="benefit_type", evaluation_rows=2000)


@pytest.fixture
def gates() -> ReleaseGates:
    return ReleaseGates(min_quality=0.6, max_exact_copy_rate=0.01, min_dcr_protection=0.3, max_identifier_leaks=0)


@pytest.fixture
def roots(tmp_path: Path) -> dict[str, Path]:
    return {"release_root": tmp_path / "twins" / "claims", "staging_root": tmp_path / "staging" / "claims"}
