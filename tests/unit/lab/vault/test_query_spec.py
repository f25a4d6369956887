"""Validation of the JSON query spec against the real demo policies: no data is read here.

What a user notices: a bad query is refused before anything is priced or charged, with
an error of a specific type whose message names the field, says how to fix it, and
repeats nothing but what the user sent and what the policy declares public. A serialized
Polars plan (the thing OpenDP's remote pattern would ship) is refused without being
deserialized, because deserializing one can run the sender's Python code in the vault.
"""

from __future__ import annotations

import base64
import json
import math
import pickle
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from lab.policies import load_policies
from lab.policies.model import Policy
from lab.vault import query_errors as qe
from lab.vault.query_spec import MAX_GROUP_CELLS, parse_spec, reject_serialized_plan, validate_query

POLICIES = load_policies(Path(__file__).resolve().parents[4] / "policies")
MEAN = {"dataset": "welfare", "statistic": "mean", "column": "monthly_award", "epsilon": "0.1"}


def refused(payload: Any, kind: type[qe.QueryError], field: str,
            policies: dict[str, Policy] = POLICIES) -> qe.QueryError:
    """Validate ``payload``; assert it is refused as ``kind`` with a message about ``field`` and a fix."""
    with pytest.raises(qe.QueryError) as caught:
        validate_query(payload, policies)
    error = caught.value
    assert type(error) is kind, f"{type(error).__name__}: {error}"
    message = str(error)
    assert message.startswith(f"{field}:") or f"- {field}:" in message, message
    assert "Fix:" in message, message
    if error.problems:  # the service turns these into the JSON error's "problems" list
        assert any(p.field == field and p.fix for p in error.problems)
    return error


# --- where: dataset, table, column ---------------------------------------------------------------


def test_an_unknown_dataset_is_refused_and_the_fix_lists_the_datasets():
    error = refused({**MEAN, "dataset": "welfar"}, qe.UnknownDataset, "dataset")
    assert "welfare" in str(error)


def test_an_unknown_table_and_a_table_outside_the_privacy_unit_are_refused():
    refused({**MEAN, "table": "claim"}, qe.UnknownTable, "table")
    # census.households has no bound on what one person contributes: DP cannot price it.
    error = refused({"dataset": "census", "table": "households", "statistic": "count", "epsilon": "0.1"},
                    qe.UnknownTable, "table")
    assert "'persons'" in str(error)


def test_an_unknown_column_is_refused_with_a_did_you_mean():
    error = refused({**MEAN, "column": "monthly_awrd"}, qe.UnknownColumn, "column")
    assert "did you mean 'monthly_award'?" in str(error)


@pytest.mark.parametrize("column", ["ni_number", "full_name", "date_of_birth", "claimant_id"])
def test_identifiers_and_keys_cannot_be_queried(column):
    error = refused({"dataset": "welfare", "statistic": "count", "column": column, "epsilon": "0.1"},
                    qe.ColumnNotQueryable, "column")
    assert "monthly_award" in str(error)  # the fix lists the columns that can be used


@pytest.mark.parametrize(("statistic", "column"), [("mean", "region"), ("sum", "benefit_type"),
                                                   ("median", "couple"), ("mean", "claim_start_date")])
def test_a_statistic_on_a_column_of_the_wrong_type_is_refused(statistic, column):
    error = refused({**MEAN, "statistic": statistic, "column": column}, qe.WrongColumnType, "column")
    assert f"'{statistic}'" in str(error) and f"'{column}'" in str(error)


def test_every_statistic_but_count_needs_a_column():
    refused({"dataset": "welfare", "statistic": "sum", "epsilon": "0.1"}, qe.BadSpec, "column")


# --- bounds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bounds", "says"), [
    ([100, 10], "lower bound is not below"),
    ([10, 10], "lower bound is not below"),
    ([math.nan, 10], "not finite"),
    (["NaN", 10], "not finite"),
    ([0, math.inf], "not finite"),
    ([-math.inf, 100], "not finite"),
    ([0, 6000], "outside the policy's public bounds [0, 5000]"),
    ([-1, 100], "outside the policy's public bounds"),
])
def test_bad_bounds_are_refused(bounds, says):
    error = refused({**MEAN, "bounds": bounds}, qe.BadBounds, "bounds")
    assert says in str(error)


def test_integer_columns_need_whole_number_bounds_and_booleans_take_none():
    refused({**MEAN, "column": "age", "bounds": [16.5, 60]}, qe.BadBounds, "bounds")
    refused({**MEAN, "column": "couple", "bounds": [0, 1]}, qe.BadBounds, "bounds")


def test_bounds_inside_the_policys_are_accepted_and_default_to_the_policys():
    assert validate_query({**MEAN, "bounds": [0, 2000]}, POLICIES).bounds == (0.0, 2000.0)
    assert validate_query(MEAN, POLICIES).bounds == (0.0, 5000.0)


# --- epsilon --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("epsilon", "says"), [
    ("0", "not above zero"),
    ("-0.1", "not above zero"),
    ("NaN", "not a finite number"),
    (math.nan, "not a finite number"),
    ("Infinity", "not a finite number"),
    ("lots", "not a finite number"),
    ("0.0000000000001", "more than 12 decimal places"),
    ("0.500000000001", "above this dataset's cap of 0.5"),
    ("3", "above this dataset's cap of 0.5"),
])
def test_bad_epsilons_are_refused_before_anything_is_priced(epsilon, says):
    error = refused({**MEAN, "epsilon": epsilon}, qe.BadPrivacyLoss, "epsilon")
    assert says in str(error)


def test_the_per_query_cap_is_each_policys_own():
    # tax caps one query at 0.25, welfare at 0.5: the same epsilon is fine on one, refused on the other.
    tax = {"dataset": "tax", "statistic": "count", "epsilon": "0.3"}
    refused(tax, qe.BadPrivacyLoss, "epsilon")
    assert validate_query({**tax, "dataset": "welfare"}, POLICIES).epsilon == Decimal("0.3")


def test_epsilon_is_kept_exact():
    for text in ("0.1", "0.5", "0.000000000001", "0.123456789012"):
        assert validate_query({**MEAN, "epsilon": text}, POLICIES).epsilon == Decimal(text)
    refused({k: v for k, v in MEAN.items() if k != "epsilon"}, qe.BadPrivacyLoss, "epsilon")


# --- grouping -------------------------------------------------------------------------------------


def test_a_group_by_over_the_cell_limit_is_refused():
    by = ["region", "age_band", "benefit_type", "tenure"]  # 11 * 8 * 7 * 5 = 3080 cells
    assert 11 * 8 * 7 * 5 > MAX_GROUP_CELLS
    error = refused({**MEAN, "group_by": by}, qe.TooManyGroups, "group_by")
    assert "3080 cells" in str(error)
    refused({**MEAN, "statistic": "histogram", "bin_count": MAX_GROUP_CELLS + 1}, qe.BadBins, "bin_count")


def test_grouping_by_a_column_that_is_not_a_public_key_is_refused():
    refused({**MEAN, "group_by": ["age"]}, qe.NotGroupable, "group_by[0]")
    refused({**MEAN, "group_by": ["ni_number"]}, qe.ColumnNotQueryable, "group_by[0]")
    # A categorical column whose category set the policy does not declare public.
    data = POLICIES["welfare"].model_dump()
    data["tables"]["claims"]["columns"]["tenure"]["public"] = False
    private = {**POLICIES, "welfare": Policy.model_validate(data)}
    refused({**MEAN, "group_by": ["tenure"]}, qe.NotGroupable, "group_by[0]", private)
    refused({**MEAN, "statistic": "histogram", "column": "tenure"}, qe.NotGroupable, "column", private)


def test_group_keys_come_from_the_policy_not_the_data():
    query = validate_query({**MEAN, "group_by": ["sex", "couple"]}, POLICIES)
    assert [(g.column, g.keys) for g in query.by] == [("sex", ("female", "male")), ("couple", (False, True))]
    nullable = validate_query({**MEAN, "group_by": ["disability_type"]}, POLICIES)
    assert nullable.by[0].keys[-1] is None and nullable.cells == 9  # 8 categories and "missing"


# --- malformed payloads ---------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [[MEAN], "count everything", None, 42])
def test_a_payload_that_is_not_an_object_is_refused(payload):
    refused(payload, qe.BadSpec, "(top level)")


@pytest.mark.parametrize(("payload", "kind", "field", "says"), [
    ({**MEAN, "user": "bob"}, qe.BadSpec, "user", "unknown key 'user'"),
    ({**MEAN, "groupby": ["region"]}, qe.BadSpec, "groupby", "did you mean 'group_by'?"),
    ({**MEAN, "statistic": "variance"}, qe.BadSpec, "statistic", "'variance' is not allowed"),
    ({k: v for k, v in MEAN.items() if k != "statistic"}, qe.BadSpec, "statistic", "required"),
    ({**MEAN, "column": 7}, qe.BadSpec, "column", "string"),
    ({**MEAN, "bounds": ["low", 5]}, qe.BadBounds, "bounds[0]", "number"),
    ({**MEAN, "bounds": [1, 2, 3]}, qe.BadBounds, "bounds", "2 items"),
    ({**MEAN, "filters": [{"column": "region", "op": "~", "value": "x"}]}, qe.BadFilter, "filters[0].op",
     "'~' is not allowed"),
    ({**MEAN, "filters": [{"column": "region", "op": "==", "value": "atlantis"}]}, qe.BadFilter,
     "filters[0].value", "not one of the policy's categories"),
    ({**MEAN, "filters": [{"column": "age", "op": ">=", "value": "old"}]}, qe.BadFilter, "filters[0].value",
     "not a finite number"),
    ({**MEAN, "filters": [{"column": "claim_start_date", "op": ">=", "value": "yesterday"}]}, qe.BadFilter,
     "filters[0].value", "ISO format"),
    ({**MEAN, "filters": [{"column": "region", "op": "<", "value": "london"}]}, qe.BadFilter, "filters[0].op",
     "does not apply"),
    ({**MEAN, "statistic": "quantile", "q": 1.5}, qe.BadSpec, "q", "strictly between 0 and 1"),
    ({**MEAN, "statistic": "quantile"}, qe.BadSpec, "q", "needs q"),
    ({**MEAN, "confidence": 1.5}, qe.BadSpec, "confidence", "strictly between 0 and 1"),
    ({**MEAN, "statistic": "histogram", "bins": [300, 100]}, qe.BadBins, "bins", "strictly increasing"),
])
def test_malformed_fields_are_refused_with_their_field_named(payload, kind, field, says):
    error = refused(payload, kind, field)
    assert says in str(error)


def test_every_problem_is_reported_at_once():
    error = refused({**MEAN, "column": "monthly_awrd", "epsilon": "0", "group_by": ["age"]},
                    qe.BadPrivacyLoss, "epsilon")
    assert [p.field for p in error.problems] == ["epsilon", "column", "group_by[0]"]
    assert str(error).startswith("3 problems in the query:")


def test_the_body_cannot_name_the_user_to_charge():
    # The user charged is the authenticated caller; a spec with any such key is malformed.
    for key in ("user", "username", "owner", "charge_to"):
        refused({**MEAN, key: "someone_else"}, qe.BadSpec, key)


# --- serialized plans -----------------------------------------------------------------------------


@pytest.fixture
def no_deserializing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail loudly if anything tries to deserialize a plan or unpickle while validating."""
    calls: list[str] = []

    def forbidden(name: str):
        def call(*args: object, **kwargs: object) -> None:
            calls.append(name)
            raise AssertionError(f"{name} was called on a user's payload")
        return call

    monkeypatch.setattr(pl.LazyFrame, "deserialize", forbidden("LazyFrame.deserialize"))
    monkeypatch.setattr(pl.Expr, "deserialize", forbidden("Expr.deserialize"))
    monkeypatch.setattr(pickle, "loads", forbidden("pickle.loads"))
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - polars pulls it in for UDFs
        pass
    else:
        monkeypatch.setattr(cloudpickle, "loads", forbidden("cloudpickle.loads"))
    return calls


def _plans() -> dict[str, bytes]:
    """Real serialized Polars plans: a plain one and one carrying a Python UDF (cloudpickled code)."""
    frame = pl.LazyFrame({"monthly_award": [100.0, 200.0], "region": ["london", "wales"]})
    plain = frame.filter(pl.col("region") == "london").select(pl.col("monthly_award").mean())
    udf = frame.select(pl.col("monthly_award").map_batches(lambda s: s * 2, return_dtype=pl.Float64))
    return {"plain": plain.serialize(), "udf": udf.serialize()}


def _json_plan() -> dict[str, Any]:
    frame = pl.LazyFrame({"monthly_award": [100.0, 200.0]})
    udf = frame.select(pl.col("monthly_award").map_batches(lambda s: s * 2, return_dtype=pl.Float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Polars deprecates the JSON format, but a client may still send it
        return json.loads(udf.serialize(format="json"))


@pytest.mark.parametrize("kind", ["plain", "udf"])
def test_a_serialized_polars_plan_is_refused_without_being_deserialized(kind, no_deserializing):
    plan = _plans()[kind]
    assert plan.startswith(b"DSL_VERSION")
    encoded = base64.b64encode(plan).decode()
    payloads = [
        plan,                                                  # the raw bytes as the whole payload
        {"dataset": "welfare", "plan": encoded},               # OpenDP's remote pattern, base64 in JSON
        {**MEAN, "polars_plan": encoded},
        {**MEAN, "query": encoded},                           # under a key that does not say "plan"
        {**MEAN, "filters": [{"column": "region", "op": "==", "value": encoded}]},
        {**MEAN, "lazyframe": plan.decode("latin-1")},
        {**MEAN, "extra": {"nested": [plan.decode("latin-1")]}},
    ]
    for payload in payloads:
        with pytest.raises(qe.SerializedPlanRefused) as caught:
            validate_query(payload, POLICIES)
        assert "does not accept serialized plans or code" in str(caught.value)
        assert "Fix:" in str(caught.value)
    assert no_deserializing == []


def test_a_pickled_function_is_refused_without_being_unpickled(no_deserializing):
    import cloudpickle

    code = base64.b64encode(cloudpickle.dumps(lambda frame: frame)).decode()  # protocol 5: "gAWV..."
    with pytest.raises(qe.SerializedPlanRefused):
        validate_query({**MEAN, "udf": code}, POLICIES)
    with pytest.raises(qe.SerializedPlanRefused):
        reject_serialized_plan({"statistic": "count", "code": "print('hello')"})
    assert no_deserializing == []


def test_a_plan_in_polars_json_format_is_refused(no_deserializing):
    with pytest.raises(qe.SerializedPlanRefused):
        parse_spec(_json_plan())
    with pytest.raises(qe.SerializedPlanRefused):
        parse_spec({**MEAN, "filters": [_json_plan()]})
    assert no_deserializing == []
