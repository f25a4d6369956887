"""Policies: every problem named with its file, key and fix; all-or-nothing loading."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from lab.errors import PolicyError
from lab.policies import dataset_schema, load_policies, load_policy, release_gates, synthesis_spec

REPO = Path(__file__).resolve().parents[3]

VALID = textwrap.dedent("""
    policy_version: 1
    dataset: claims
    title: Benefit claims
    owner: Benefits data owner
    tables:
      claims:
        path: claims/claims.csv
        primary_key: claim_id
        columns:
          claim_id: {type: id}
          full_name: {type: text, identifier: fake, fake_as: name}
          age: {type: integer, bounds: [16, 100]}
          region: {type: categorical, categories: [north, south], public: true}
          start: {type: date, bounds: [2015-01-01, 2025-12-31]}
    access:
      twin_groups: [staff]
      query_groups: [analysts]
    budgets:
      dataset_epsilon: 10
      user_epsilon: 1
      query_epsilon_max: 0.5
    synthesis:
      synthesizer: gaussian_copula
      seed: 3
      utility_target: region
""")


def _write(tmp_path: Path, text: str, name: str = "claims.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(_write(tmp_path, text))
    return [p.describe() for p in caught.value.problems]


def test_valid_policy_translates_for_the_pipeline(tmp_path):
    policy = load_policy(_write(tmp_path, VALID))
    schema = dataset_schema(policy)
    assert schema.table("claims").column("age").bounds == (16.0, 100.0)
    assert schema.table("claims").column("region").categories == ("north", "south")
    assert synthesis_spec(policy).utility_target == "region"
    assert release_gates(policy).min_quality == 0.75
    assert policy.budgets.user_epsilon == Decimal("1")


def test_budgets_are_exact_decimals(tmp_path):
    policy = load_policy(_write(tmp_path, VALID.replace("query_epsilon_max: 0.5", "query_epsilon_max: 0.1")))
    assert policy.budgets.query_epsilon_max == Decimal("0.1")


def test_typo_in_a_key_suggests_the_right_one(tmp_path):
    text = VALID.replace("age: {type: integer, bounds: [16, 100]}", "age: {type: integer, bounds: [16, 100], nullabel: true}")
    [problem] = _problems(tmp_path, text)
    assert "claims.yaml: tables.claims.columns.age.nullabel: unknown key 'nullabel'. Fix: did you mean 'nullable'?" \
        in problem


def test_bad_value_lists_the_allowed_ones(tmp_path):
    [problem] = _problems(tmp_path, VALID.replace("synthesizer: gaussian_copula", "synthesizer: gausian"))
    assert "synthesis.synthesizer: 'gausian' is not allowed. Fix: use one of 'cart', 'gaussian_copula'" in problem


def test_every_problem_in_a_file_is_reported(tmp_path):
    text = (VALID.replace("bounds: [16, 100]", "bounds: [100, 16]")
            .replace("categories: [north, south], public: true", "public: true")
            .replace("user_epsilon: 1", "user_epsilon: 20"))
    problems = "\n".join(_problems(tmp_path, text))
    assert "tables.claims.columns.age.bounds: the lower bound is not below the upper bound" in problems
    assert "tables.claims.columns.region.categories: a categorical column needs its public category set" in problems
    assert "budgets.user_epsilon: a user's allowance exceeds the dataset's lifetime budget" in problems


def test_numeric_column_without_bounds_is_refused(tmp_path):
    [problem] = _problems(tmp_path, VALID.replace("age: {type: integer, bounds: [16, 100]}", "age: {type: integer}"))
    assert "needs public bounds" in problem and "never from the data" in problem


@pytest.mark.parametrize("bad, expected", [
    ("dataset_epsilon: -1", "budgets.dataset_epsilon"),
    ("dataset_epsilon: .nan", "budgets.dataset_epsilon"),
    ("dataset_epsilon: lots", "budgets.dataset_epsilon"),
])
def test_bad_budget_values(tmp_path, bad, expected):
    problems = _problems(tmp_path, VALID.replace("dataset_epsilon: 10", bad))
    assert any(expected in p for p in problems)


def test_yaml_syntax_error_names_the_line(tmp_path):
    [problem] = _problems(tmp_path, VALID.replace("title: Benefit claims", "title: [Benefit claims"))
    assert "YAML syntax error at line" in problem


def test_path_may_not_leave_the_vault(tmp_path):
    [problem] = _problems(tmp_path, VALID.replace("path: claims/claims.csv", "path: ../../etc/shadow.csv"))
    assert "leaves the vault's data directory" in problem


def test_file_name_must_match_dataset(tmp_path):
    with pytest.raises(PolicyError, match="rename the file to 'claims.yaml'"):
        load_policy(_write(tmp_path, VALID, name="other.yaml"))


def test_one_bad_file_means_no_policy_is_applied(tmp_path):
    _write(tmp_path, VALID)
    _write(tmp_path, VALID.replace("dataset: claims", "dataset: broken").replace("title: Benefit claims", "titel: x"),
           name="broken.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert {Path(p.file).name for p in caught.value.problems} == {"broken.yaml"}
    assert "nothing was applied" in caught.value.message


def test_unknown_identifier_provider(tmp_path):
    [problem] = _problems(tmp_path, VALID.replace("fake_as: name", "fake_as: nickname"))
    assert "'nickname' is not a known provider" in problem


def test_multi_table_needs_hma_and_relationships(tmp_path):
    data = yaml.safe_load(VALID)
    data["tables"]["extra"] = {"path": "claims/extra.csv", "primary_key": "extra_id",
                               "columns": {"extra_id": {"type": "id"}}}
    text = yaml.safe_dump(data)
    problems = "\n".join(_problems(tmp_path, text))
    assert "several tables but no relationship between them" in problems
    assert "use synthesizer: cart (or hma)" in problems


def test_the_shipped_policies_are_valid():
    policies = load_policies(REPO / "policies")
    assert {"census", "welfare"} <= set(policies)


@pytest.mark.parametrize("parameters, expected", [
    ("{rho: 0.1}", "synthesis.parameters: rho needs a delta"),
    ("{epsilon: 1, delta: 0.1}", "synthesis.parameters: delta=0.1 is above 1e-05"),
    ("{epsilon: 12}", "synthesis.parameters.epsilon: the DP twin would be charged ε = 12"),
    ("{rho: 5, delta: 1.0e-7}", "synthesis.parameters.rho: the DP twin would be charged ε = 2"),
    ("{epsilon: 1}", "more than budgets.query_epsilon_max (0.5), which caps every single release, twins included"),
])
def test_dp_twin_privacy_loss_is_checked_against_the_budget(tmp_path, parameters, expected):
    text = VALID.replace("synthesizer: gaussian_copula", f"synthesizer: dp_marginals\n  parameters: {parameters}")
    problems = "\n".join(_problems(tmp_path, text))
    assert expected in problems


def test_dp_twin_with_rho_and_delta_is_valid(tmp_path):
    text = VALID.replace("synthesizer: gaussian_copula", "synthesizer: dp_marginals\n  parameters: "
                         "{rho: 0.002, delta: 1.0e-7, selection: mst}")  # ε ≈ 0.36 at that δ
    assert synthesis_spec(load_policy(_write(tmp_path, text))).parameters["rho"] == 0.002


@pytest.mark.parametrize("parameters, key, words", [
    ("{visit_order: [age, region]}", "synthesis.parameters.visit_order", "misses"),
    ("{visit_order: [age, age, region]}", "synthesis.parameters.visit_order", "repeats age"),
    ("{visit_order: [age, regin]}", "synthesis.parameters.visit_order", "not modelled: regin"),
    ("{min_leaf: 0}", "synthesis.parameters.min_leaf", "not a whole number of at least 1"),
    ("{min_leaves: 5}", "synthesis.parameters.min_leaves", "no such parameter"),
])
def test_tree_parameters_are_checked(tmp_path, parameters: str, key: str, words: str) -> None:
    text = VALID.replace("synthesizer: gaussian_copula", f"synthesizer: cart\n  parameters: {parameters}")
    problems = "\n".join(_problems(tmp_path, text))
    assert f"{key}: " in problems and words in problems
