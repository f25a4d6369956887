"""DP twins' cells chosen under DP (synth.dp.private_domain): grids, point masses, cut points, levels."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from synth.dp import DPMarginals, make_plan
from synth.dp.domain import Domain
from synth.dp.private_domain import binned_domain, fine_grid, grouped_domain, policy_cut_domain
from synth.errors import SynthesisError
from synth.schema import ColumnSchema, DatasetSchema, TableSchema

INCOME = ColumnSchema("income", "float", bounds=(0.0, 100_000.0), nullable=True)
COUNT = ColumnSchema("sanctions", "integer", bounds=(0.0, 40.0))
START = ColumnSchema("start", "date", bounds=(dt.date(2000, 1, 1), dt.date(2024, 12, 31)))
AREA = ColumnSchema("area", "categorical", categories=tuple(f"a{i:02d}" for i in range(60)))


def _table() -> tuple[TableSchema, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rows = 6000
    frame = pd.DataFrame({
        "income": np.where(rng.random(rows) < 0.6, 0.0, rng.lognormal(8, 1, rows).clip(1, 100_000)),
        "sanctions": np.where(rng.random(rows) < 0.8, 0, rng.integers(1, 6, rows)),
        "start": pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 9000, rows), unit="D"),
        "area": rng.choice([f"a{i:02d}" for i in range(60)], rows, p=np.r_[np.full(5, 0.15), np.full(55, 0.25 / 55)]),
    })
    frame.loc[::50, "income"] = np.nan
    return TableSchema("t", (INCOME, COUNT, START, AREA)), frame


def test_the_domain_step_is_charged_within_the_declared_epsilon() -> None:
    table, _ = _table()
    plan = make_plan(table, {"epsilon": 1.0, "bins": 8})
    domain_steps = [s for s in plan.steps if s.kind == "domain"]
    assert [s.columns for s in domain_steps] == [("income",), ("sanctions",), ("start",), ("area",)]
    assert plan.epsilon == math.fsum(s.measurement.map(1) for s in plan.steps)  # every step is priced by OpenDP
    assert 1.0 * (1 - 1e-8) < plan.epsilon <= 1.0
    assert math.isclose(math.fsum(s.loss for s in domain_steps), 0.1, rel_tol=1e-6)  # the declared share
    no_private = make_plan(TableSchema("t", (ColumnSchema("sex", "categorical", categories=("f", "m")),)),
                           {"epsilon": 1.0})
    assert not [s for s in no_private.steps if s.kind == "domain"]


def test_a_mostly_zero_column_keeps_its_point_mass_exactly() -> None:
    grid = fine_grid(INCOME)
    assert grid.point_mass == 0.0 and grid.size > 64  # linear and logarithmic cells, plus 0 and missing
    values = pd.Series(np.r_[np.zeros(600), np.geomspace(10, 90_000, 400), [np.nan] * 20])  # skewed
    noisy = np.bincount(grid.encode(values), minlength=grid.size).astype(float)
    domain = binned_domain(grid, noisy, bins=6)
    assert domain.keeps_point_mass
    decoded = domain.decode(domain.encode(values), np.random.default_rng(0))
    assert (decoded[:600] == 0).all() and decoded[600:1000].between(0, 100_000).all() and decoded[1000:].isna().all()
    # bins follow the mass: the lower tenth of the bound holds several bins, not one
    assert sum(edge < 10_000 for edge in domain.edges) >= 3


def test_decoding_follows_the_noisy_shape_within_bounds_and_whole_numbers() -> None:
    grid = fine_grid(COUNT)
    values = pd.Series(np.r_[np.zeros(800), np.full(150, 1), np.full(50, 7)])
    domain = binned_domain(grid, np.bincount(grid.encode(values), minlength=grid.size).astype(float), bins=3)
    decoded = domain.decode(domain.encode(values), np.random.default_rng(1))
    assert (decoded == np.round(decoded)).all() and decoded.between(0, 40).all()
    assert set(decoded.unique()) <= {0.0, 1.0, 7.0}  # drawn where the counts are, not spread over the bin


def test_dates_decode_to_days_within_bounds() -> None:
    grid = fine_grid(START)
    values = pd.Series(pd.date_range("2000-01-01", "2024-12-31", periods=500))
    domain = binned_domain(grid, np.bincount(grid.encode(values), minlength=grid.size).astype(float), bins=10)
    decoded = domain.decode(domain.encode(values), np.random.default_rng(2))
    assert (decoded == decoded.dt.normalize()).all()
    assert decoded.between(pd.Timestamp("2000-01-01"), pd.Timestamp("2024-12-31")).all()


def test_policy_cut_points_are_used_exactly() -> None:
    domain = policy_cut_domain(INCOME, [12_570, 50_270])
    assert domain.edges == (0.0, 12_570.0, 50_270.0, 100_000.0)
    whole = policy_cut_domain(COUNT, [1, 3])
    assert whole.edges == (-0.5, 0.5, 2.5, 40.5)
    plan = make_plan(TableSchema("t", (INCOME, COUNT)), {"epsilon": 1.0, "cuts": {"income": [12_570, 50_270]}})
    assert plan.domains["income"].edges == domain.edges
    assert [s.columns for s in plan.steps if s.kind == "domain"] == [("sanctions",)]
    with pytest.raises(SynthesisError, match="rise strictly"):
        make_plan(TableSchema("t", (INCOME,)), {"epsilon": 1.0, "cuts": {"income": [50_270, 12_570]}})
    with pytest.raises(SynthesisError, match="not a modelled numeric"):
        make_plan(TableSchema("t", (INCOME,)), {"epsilon": 1.0, "cuts": {"region": [1]}})


def test_many_levels_keep_the_frequent_ones_apart() -> None:
    levels = Domain(AREA, None, AREA.categories, False)
    noisy = np.r_[np.full(5, 900.0), np.full(55, 8.0)]
    domain = grouped_domain(levels, noisy, max_levels=10)
    assert domain.size == 10 and all(len(g) == 1 for g in domain.groups[:-1]) and len(domain.groups[-1]) > 5
    assert {AREA.categories[g[0]] for g in domain.groups[:5]} == {f"a{i:02d}" for i in range(5)}
    decoded = domain.decode(np.full(2000, 9), np.random.default_rng(3))
    assert set(decoded) <= set(AREA.categories[5:])  # "other" decodes to a rare level from the policy's list


def test_an_end_to_end_dp_twin_with_chosen_domains() -> None:
    table, frame = _table()
    model = DPMarginals.for_schema(DatasetSchema("d", (table,)), {"epsilon": 2.0, "bins": 8})
    model.fit(frame)
    twin = model.sample(4000, seed=4)
    assert abs((twin.income == 0).mean() - (frame.income == 0).mean()) < 0.08
    assert abs((twin.sanctions == 0).mean() - 0.8) < 0.08
    assert twin.income.dropna().between(0, 100_000).all() and twin.sanctions.between(0, 40).all()
    assert set(twin.area) <= set(AREA.categories)
    described = model.describe()
    assert described["domain"]["chosen_under_dp"] == [["income"], ["sanctions"], ["start"], ["area"]]
