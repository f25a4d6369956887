"""Data is checked against the public schema, with every problem named and no values shown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth.checks import check_dataset
from synth.errors import DataValidationError
from synth.schema import ColumnSchema, DatasetSchema, Relationship, TableSchema


def _problems(frame: pd.DataFrame, schema: DatasetSchema) -> str:
    with pytest.raises(DataValidationError) as caught:
        check_dataset({"claims": frame}, schema)
    return caught.value.message


def test_clean_data_is_typed_in_schema_order(claims, schema):
    shuffled = claims[list(reversed(claims.columns))]
    clean = check_dataset({"claims": shuffled}, schema)["claims"]
    assert list(clean.columns) == list(schema.table("claims").column_names)
    assert clean["age"].dtype == "int64"
    assert clean["disabled"].dtype == "boolean"
    assert str(clean["claim_start"].dtype) == "datetime64[ns]"


def test_csv_text_is_converted(claims, schema):
    as_text = claims.astype(str).replace({"nan": ""})
    clean = check_dataset({"claims": as_text}, schema)["claims"]
    assert clean["age"].tolist() == claims["age"].tolist()
    assert clean["income"].isna().sum() == claims["income"].isna().sum()


def test_missing_and_extra_columns_are_both_reported(claims, schema):
    frame = claims.drop(columns=["age"]).assign(shoe_size=42)
    message = _problems(frame, schema)
    assert "claims.age: the column is declared in the policy but missing from the data" in message
    assert "claims.shoe_size: the column is in the data but not in the policy" in message
    assert "Fix:" in message


def test_wrong_type_names_rows_not_values(claims, schema):
    frame = claims.astype({"age": object})
    frame.loc[[4, 9], "age"] = "forty-two"
    message = _problems(frame, schema)
    assert "claims.age: values are not of type integer (2 rows, e.g. rows 5, 10)" in message
    assert "forty-two" not in message


def test_values_outside_bounds_are_counted_without_values(claims, schema):
    frame = claims.copy()
    frame.loc[0, "age"] = 130
    frame.loc[1, "income"] = -5.0
    message = _problems(frame, schema)
    assert "claims.age: values are above the policy's upper bound (1 rows, e.g. rows 1)" in message
    assert "claims.income: values are below the policy's lower bound" in message
    assert "130" not in message


def test_unknown_category_does_not_name_the_value(claims, schema):
    frame = claims.copy()
    frame.loc[3, "benefit_type"] = "secret_pilot_scheme"
    message = _problems(frame, schema)
    assert "values are not among the policy's categories" in message
    assert "secret_pilot_scheme" not in message


def test_empty_table(claims, schema):
    assert "the table has no rows" in _problems(claims.iloc[:0], schema)


def test_one_row(claims, schema):
    assert "the table has 1 rows, fewer than the 50 a twin needs" in _problems(claims.iloc[:1], schema)


def test_all_null_column(claims, schema):
    message = _problems(claims.assign(income=np.nan), schema)
    assert "claims.income: every value is missing" in message


def test_missing_values_in_a_column_that_may_not_have_them(claims, schema):
    frame = claims.astype({"age": "Int64"})
    frame.loc[2, "age"] = pd.NA
    assert "claims.age: values are missing (1 rows, e.g. rows 3)" in _problems(frame, schema)


def test_category_with_fifty_thousand_levels(schema):
    rows = 50_000
    frame = pd.DataFrame({"claim_id": np.arange(rows), "code": [f"c{i}" for i in range(rows)]})
    wide = DatasetSchema("claims", (TableSchema("claims", (
        ColumnSchema("claim_id", "id"),
        ColumnSchema("code", "categorical", categories=("c1", "c2"))), primary_key="claim_id"),))
    message = _problems(frame, wide)
    assert "the column has 50000 distinct values, more than the 1000" in message


def test_duplicate_primary_key(claims, schema):
    frame = claims.copy()
    frame.loc[5, "claim_id"] = frame.loc[4, "claim_id"]
    assert "claims.claim_id: the primary key repeats (1 rows, e.g. rows 6)" in _problems(frame, schema)


def test_broken_foreign_key_is_reported():
    parents = pd.DataFrame({"household_id": np.arange(100), "size": np.ones(100, dtype=int)})
    children = pd.DataFrame({"person_id": np.arange(200), "household_id": np.r_[np.arange(100), np.arange(100)]})
    children.loc[[7, 8], "household_id"] = 999
    schema = DatasetSchema("census", (
        TableSchema("households", (ColumnSchema("household_id", "id"),
                                   ColumnSchema("size", "integer", bounds=(1.0, 20.0))), "household_id"),
        TableSchema("persons", (ColumnSchema("person_id", "id"), ColumnSchema("household_id", "id")), "person_id"),
    ), (Relationship("households", "household_id", "persons", "household_id"),))
    with pytest.raises(DataValidationError) as caught:
        check_dataset({"households": parents, "persons": children}, schema)
    assert "persons.household_id: rows refer to a households that does not exist (2 rows, e.g. rows 8, 9)" \
        in caught.value.message


def test_every_violation_is_collected_at_once(claims, schema):
    frame = claims.drop(columns=["age"])
    frame.loc[0, "income"] = -1.0
    frame.loc[1, "benefit_type"] = "other"
    with pytest.raises(DataValidationError) as caught:
        check_dataset({"claims": frame}, schema)
    assert len(caught.value.violations) == 3
