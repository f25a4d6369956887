"""The differentially private twin (synth.dp): pricing, public discretisation, generation."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from synth.dp import DPMarginals, make_plan
from synth.errors import SynthesisError
from synth.pipeline import DatasetInfo, build_twin
from synth.schema import ColumnSchema, DatasetSchema, Relationship, TableSchema
from synth.spec import ReleaseGates, SynthesisSpec

NO_GATES = ReleaseGates(min_quality=None, max_exact_copy_rate=None, min_dcr_protection=None,
                        max_identifier_leaks=None)


def test_epsilon_is_the_sum_of_opendps_maps(schema: DatasetSchema) -> None:
    modelled = [c.name for c in schema.tables[0].modelled_columns if c.kind != "id"]
    for unit in (1, 3):
        for selection in ("public", "mst"):
            plan = make_plan(schema.tables[0], {"epsilon": 0.7, "bins": 8, "selection": selection},
                             max_rows_per_person=unit)
            reported = [s.measurement.map(unit) for s in plan.steps]
            assert [s.loss for s in plan.steps] == reported
            assert plan.epsilon == plan.loss == math.fsum(reported)
            assert 0.7 * (1 - 1e-8) < plan.epsilon <= 0.7  # never above the target, float rounding included
            assert plan.epsilon_to_reserve >= type(plan.epsilon_to_reserve)(repr(plan.epsilon))
            # 1-way marginal of every modelled column, plus the pairs of a spanning tree
            assert [s.columns for s in plan.steps if s.kind == "one-way"] == [(n,) for n in modelled]
            assert sum(s.kind == "pair" for s in plan.steps) == len(modelled) - 1
            # MST spends part of the budget choosing each pair (report-noisy-max)
            assert sum(s.kind == "select" for s in plan.steps) == (len(modelled) - 1 if selection == "mst" else 0)


def test_zcdp_twin_is_charged_opendps_conversion_at_delta(schema: DatasetSchema, claims: pd.DataFrame) -> None:
    import opendp.prelude as dp

    plan = make_plan(schema.tables[0], {"rho": 0.05, "delta": 1e-7})
    assert plan.loss == math.fsum(s.measurement.map(1) for s in plan.steps) <= 0.05
    assert all(s.measurement.output_measure == dp.zero_concentrated_divergence() for s in plan.steps)
    # the ε charged is OpenDP's zCDP -> (ε, δ) conversion of the total ρ, checked on a real Gaussian mechanism
    gaussian = dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float),
                                  1 / math.sqrt(2 * plan.loss))
    converted = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(gaussian), 1e-7).map(1.0)[0]
    assert plan.epsilon == pytest.approx(converted, rel=1e-9)
    described = plan.describe()
    assert described["rho"] == plan.loss and described["delta"] == 1e-7 and described["epsilon"] == plan.epsilon
    # (ε, δ) is met through zCDP: the largest ρ whose ε at δ is within the target
    approx = make_plan(schema.tables[0], {"epsilon": 1.0, "delta": 1e-6})
    assert 0.999 < approx.epsilon <= 1.0 and approx.loss_target.kind == "zcdp"
    model = DPMarginals(approx)
    model.fit(claims)
    assert len(model.sample(300, seed=1)) == 300


def test_mst_selection_finds_the_dependent_pairs(schema: DatasetSchema) -> None:
    rng = np.random.default_rng(1)
    rows = 4000
    age = rng.integers(16, 100, rows)
    frame = pd.DataFrame({"age": age, "income": np.where(age > 60, rng.uniform(0, 20_000, rows),
                                                        rng.uniform(50_000, 900_000, rows)),
                          "benefit_type": rng.choice(["pip", "esa", "jsa", "uc"], rows),
                          "claim_start": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), "D")})
    frame["benefit_type"] = np.where(frame["claim_start"] < "2021-01-01", "jsa", frame["benefit_type"])
    frame["disabled"] = rng.random(rows) < 0.3
    model = DPMarginals.for_schema(schema, {"epsilon": 4.0, "bins": 8})
    model.fit(frame)
    pairs = {frozenset(edge) for edge in model.edges}
    assert len(pairs) == 4 and len(set().union(*pairs)) == 5  # a spanning tree of the five columns
    assert frozenset(("age", "income")) in pairs and frozenset(("benefit_type", "claim_start")) in pairs
    described = model.describe()
    assert {frozenset(m["columns"]) for m in described["marginals"] if m["kind"] == "pair"} == pairs


def test_numeric_column_without_bounds_is_refused(schema: DatasetSchema) -> None:
    table = schema.tables[0]
    columns = tuple(replace(c, bounds=None) if c.name == "income" else c for c in table.columns)
    with pytest.raises(SynthesisError, match="'income'.*no public bounds"):
        make_plan(replace(table, columns=columns), {"epsilon": 1.0})


def test_categorical_column_without_categories_is_refused(schema: DatasetSchema) -> None:
    table = schema.tables[0]
    columns = tuple(replace(c, categories=None) if c.name == "benefit_type" else c for c in table.columns)
    with pytest.raises(SynthesisError, match="'benefit_type'.*no public categories"):
        make_plan(replace(table, columns=columns), {"epsilon": 1.0})


def test_bad_parameters_are_refused(schema: DatasetSchema) -> None:
    with pytest.raises(SynthesisError, match="epsilon"):
        make_plan(schema.tables[0], {"epsilon": 0})
    with pytest.raises(SynthesisError, match="does not take"):
        make_plan(schema.tables[0], {"epsilon": 1, "sigma": 1e-6})
    with pytest.raises(SynthesisError, match="rho needs a delta"):
        make_plan(schema.tables[0], {"rho": 0.1})
    with pytest.raises(SynthesisError, match="either epsilon or rho"):
        make_plan(schema.tables[0], {"rho": 0.1, "epsilon": 1, "delta": 1e-7})
    with pytest.raises(SynthesisError, match="delta=0.01 is above"):
        make_plan(schema.tables[0], {"epsilon": 1, "delta": 0.01})
    with pytest.raises(SynthesisError, match="selection='aim' is unknown"):
        make_plan(schema.tables[0], {"selection": "aim"})
    with pytest.raises(SynthesisError, match="tree"):
        make_plan(schema.tables[0], {"pairs": [["age", "income"], ["income", "age"]]})
    with pytest.raises(SynthesisError, match="pairs are for selection: public"):
        make_plan(schema.tables[0], {"pairs": [["age", "income"]], "selection": "mst"})


def test_multi_table_is_refused(schema: DatasetSchema) -> None:
    child = TableSchema("payments", (ColumnSchema("claim_id", "id"), ColumnSchema("amount", "float", bounds=(0, 1))))
    multi = DatasetSchema("claims", schema.tables + (child,),
                          (Relationship("claims", "claim_id", "payments", "claim_id"),))
    with pytest.raises(SynthesisError, match="related tables"):
        DPMarginals.for_schema(multi, {"epsilon": 1.0})


def test_sampling_is_repeatable_from_a_seed(schema: DatasetSchema, claims: pd.DataFrame) -> None:
    # OpenDP's noise is not seedable (fits differ); sampling a fitted model is.
    model = DPMarginals.for_schema(schema, {"epsilon": 1.0})
    model.fit(claims)
    pd.testing.assert_frame_equal(model.sample(500, seed=3), model.sample(500, seed=3))
    assert not model.sample(500, seed=3).equals(model.sample(500, seed=4))


def test_twin_respects_the_public_schema_and_records_epsilon(schema: DatasetSchema, claims: pd.DataFrame,
                                                             roots: dict) -> None:
    spec = SynthesisSpec(synthesizer="dp_marginals", parameters={"epsilon": 2.0, "bins": 12}, seed=5,
                         evaluation_rows=1000, max_rows_per_person=2)
    model = DPMarginals.for_schema(schema, spec.parameters, spec.max_rows_per_person)
    build = build_twin({"claims": claims}, schema, spec, NO_GATES, info=DatasetInfo(title="Claims"),
                       progress=False, dp_model=model, **roots)
    twin = pd.read_parquet(build.path / "data" / "claims.parquet")
    manifest = json.loads((build.path / "manifest.json").read_text())
    assert manifest["differentially_private"] is True
    assert manifest["dp"]["epsilon"] == model.plan.epsilon == math.fsum(s.measurement.map(2)
                                                                          for s in model.plan.steps)
    assert [tuple(m["columns"]) for m in manifest["dp"]["marginals"] if m["kind"] == "pair"] == list(model.edges)
    assert manifest["dp"]["privacy_unit"]["max_rows_per_person"] == 2
    assert "ni_number" not in twin and "full_name" in twin
    assert not set(twin["full_name"]) & set(claims["full_name"])
    assert twin["age"].between(16, 100).all() and (twin["age"] == twin["age"].round()).all()
    assert twin["income"].dropna().between(0, 1_000_000).all()
    assert set(twin["benefit_type"]) <= set(schema.tables[0].column("benefit_type").categories)
    dates = pd.to_datetime(twin["claim_start"])
    assert dates.between("2015-01-01", "2025-12-31").all()
    assert list(twin["claim_id"]) == list(range(1, len(twin) + 1))
    card = (build.path / "card.md").read_text()
    assert "differentially private, ε = 2" in card and "not differentially private" not in card


def test_refinement_by_sdv_is_post_processing(schema: DatasetSchema, claims: pd.DataFrame, roots: dict) -> None:
    plain = make_plan(schema.tables[0], {"epsilon": 1.0, "bins": 8})
    with pytest.raises(SynthesisError, match="refine_with"):
        make_plan(schema.tables[0], {"epsilon": 1.0, "refine_with": "hma"})
    spec = SynthesisSpec(synthesizer="dp_marginals", seed=5, evaluation_rows=1000,
                         parameters={"epsilon": 1.0, "bins": 8, "refine_with": "gaussian_copula"})
    model = DPMarginals.for_schema(schema, spec.parameters)
    fitted_on: list[pd.DataFrame] = []
    from synth import synthesizers
    original_fit = synthesizers.fit

    def spy(synthesizer: object, tables: dict, seed: int) -> None:
        fitted_on.extend(tables.values())
        original_fit(synthesizer, tables, seed)

    synthesizers.fit = spy
    try:
        build = build_twin({"claims": claims}, schema, spec, NO_GATES, info=DatasetInfo(title="Claims"),
                           progress=False, dp_model=model, **roots)
    finally:
        synthesizers.fit = original_fit
    twin = pd.read_parquet(build.path / "data" / "claims.parquet")
    manifest = json.loads((build.path / "manifest.json").read_text())
    # fitted once, on DP rows only (no real identifier column, no real row)
    assert len(fitted_on) == 1 and "full_name" not in fitted_on[0]
    assert not fitted_on[0]["income"].dropna().isin(claims["income"].dropna()).any()
    assert list(twin.columns) == [c.name for c in schema.tables[0].columns if c.identifier != "drop"]
    assert manifest["dp"]["refined_with"] == "gaussian_copula"
    assert manifest["dp"]["epsilon"] == plain.epsilon == model.plan.epsilon
    assert manifest["dp"]["epsilon_reserved"] == str(plain.epsilon_to_reserve)
    assert "smoothed by GaussianCopula fitted on those synthetic rows only" in (build.path / "card.md").read_text()
    assert plain.describe()["refined_with"] is None


def test_users_see_no_real_data_figure_of_a_dp_twin(schema: DatasetSchema, claims: pd.DataFrame,
                                                    roots: dict) -> None:
    spec = SynthesisSpec(synthesizer="dp_marginals", parameters={"epsilon": 1.0}, seed=5, evaluation_rows=1000)
    build = build_twin({"claims": claims}, schema, spec, NO_GATES, info=DatasetInfo(title="Claims"),
                       progress=False, **roots)
    score = build.evaluation.quality.score
    public = {name: (build.path / name).read_text() for name in ("report.html", "evaluation.json", "card.md")}
    evaluation = json.loads(public["evaluation.json"])
    assert not {"quality", "privacy", "utility", "fidelity"} & set(evaluation)
    assert "× floor" not in public["card.md"] and "floor" not in public["report.html"]
    assert evaluation["dp"]["epsilon"] == pytest.approx(1.0)
    for name, text in public.items():
        dcr = build.evaluation.privacy.dcr_protection
        figures = [f"{score:.3f}", repr(score)] + ([f"{dcr:.3f}", repr(dcr)] if dcr is not None and 0 < dcr < 1
                                                  else [])
        for figure in figures:
            assert figure not in text, (name, figure)
        assert "DCR" not in text and "Fidelity (SDMetrics" not in text
    assert "ε = 1" in public["report.html"] and "benefit_type" in public["report.html"]
    assert "training_rows" not in json.loads((build.path / "manifest.json").read_text())
    owner = build.owner_report
    assert owner is not None and owner.name == "owner-report.html"
    assert owner.parent == roots["staging_root"] / f"{build.version}-owner"
    assert owner.parent.stat().st_mode & 0o777 == 0o700
    assert not str(owner.parent).startswith(str(build.path))
    owner_evaluation = json.loads((owner.parent / "owner-evaluation.json").read_text())
    assert owner_evaluation["quality"]["score"] == score
    assert owner_evaluation["fidelity"]["table"] == "claims"  # × floor: the owner's report only
    assert "Fidelity: relationships between columns" in owner.read_text()
    assert f"{score:.3f}" in owner.read_text()


def test_every_column_is_drawn_after_its_tree_parent(schema: DatasetSchema) -> None:
    from synth.dp.synthesizer import sampling_order

    # BFS from 'age' makes benefit_type the parent of income, against the policy's column order
    plan = make_plan(schema.tables[0], {"pairs": [["income", "benefit_type"], ["benefit_type", "age"]]})
    assert plan.edges == (("age", "benefit_type"), ("benefit_type", "income"))
    order = sampling_order(list(plan.domains), plan.edges)
    assert sorted(order) == sorted(plan.domains)
    assert all(order.index(parent) < order.index(child) for parent, child in plan.edges)


def test_a_measurement_dearer_than_planned_is_never_run(schema: DatasetSchema, claims: pd.DataFrame,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import synth.dp.measure as measure_module

    model = DPMarginals.for_schema(schema, {"epsilon": 1.0})
    ran = []
    planned = measure_module.count_measurement

    def dearer(cells, loss, scale):  # fault injection: half the planned noise, twice the ε
        real = planned(cells, loss, scale / 2)

        class Watched:
            def map(self, d_in):
                return real.map(d_in)

            def __call__(self, data):
                ran.append(True)
                return real(data)
        return Watched()

    monkeypatch.setattr(measure_module, "count_measurement", dearer)
    with pytest.raises(SynthesisError, match="more than the .* planned and charged"):
        model.fit(claims)
    assert not ran


@pytest.mark.parametrize("bounds", [(0, 20), (16, 120), (0, 5), (-3, 1000)])
def test_integer_bins_hold_whole_numbers_so_rounding_keeps_each_value_in_its_bin(bounds: tuple) -> None:
    from synth.dp.domain import column_domain

    domain = column_domain(ColumnSchema("n", "integer", bounds=bounds), 10)
    assert domain.size <= 10 and domain.edges[0] == bounds[0] - 0.5 and domain.edges[-1] == bounds[1] + 0.5
    cells = np.repeat(np.arange(domain.size), 200)
    values = domain.decode(cells, np.random.default_rng(0)).round()
    assert values.between(*bounds).all()
    assert (domain.encode(values) == cells).all()
