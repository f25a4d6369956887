"""The "× floor" fidelity measure: 2-way and 3-way TVD of the twin and of real rows to the holdout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth.evaluation.marginals import MISSING, OTHER, describe_ratio, format_ratio, measure_fidelity
from synth.schema import ColumnSchema, TableSchema

from .conftest import claims_schema, make_claims


def _table(*columns: ColumnSchema) -> TableSchema:
    return TableSchema("people", (ColumnSchema("id", "id"), *columns), primary_key="id")


def _frame(**columns: object) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    return frame.assign(id=np.arange(len(frame)))


CATS = _table(ColumnSchema("a", "categorical"), ColumnSchema("b", "categorical"), ColumnSchema("c", "categorical"))


def test_identical_frames_are_at_distance_zero() -> None:
    frame = make_claims(600)
    table = claims_schema().tables[0]
    result = measure_fidelity(frame, frame, frame, table)
    assert result.two_way == 0 and result.three_way == 0
    assert result.two_way_floor == 0 and result.two_way_ratio is None  # floor 0: no ratio
    assert result.pairs_compared == 10 and result.triples_compared == 10  # 5 columns: no key, no identifiers
    assert "agree exactly" in result.sentence


def test_disjoint_frames_are_at_distance_one() -> None:
    real = _frame(a=["x", "y"] * 20, b=["u", "v"] * 20, c=["p", "q"] * 20)
    twin = _frame(a=["z"] * 40, b=["w"] * 40, c=["r"] * 40)
    result = measure_fidelity(real, real, twin, CATS)
    assert result.two_way == pytest.approx(1.0) and result.three_way == pytest.approx(1.0)


def test_floor_and_ratio_on_a_hand_made_example() -> None:
    # holdout: a/b always agree; train: agree 80% of the time; twin: independent (agree 50%).
    holdout = _frame(a=["x"] * 50 + ["y"] * 50, b=["x"] * 50 + ["y"] * 50)
    train = _frame(a=["x"] * 50 + ["y"] * 50, b=["x"] * 40 + ["y"] * 10 + ["y"] * 40 + ["x"] * 10)
    twin = _frame(a=["x"] * 50 + ["y"] * 50, b=["x", "y"] * 50)
    table = _table(ColumnSchema("a", "categorical"), ColumnSchema("b", "categorical"))
    result = measure_fidelity(train, holdout, twin, table)
    assert result.two_way_floor == pytest.approx(0.2)
    assert result.two_way == pytest.approx(0.5)
    assert result.two_way_ratio == pytest.approx(2.5)
    assert result.three_way is None and result.three_way_ratio is None and result.triples_compared == 0
    assert "pairs of columns" in result.sentence and "2.5×" in result.sentence
    worst = result.worst_pairs[0]
    assert worst["columns"] == ["a", "b"] and worst["twin_tvd"] == pytest.approx(0.5)
    # (x, y) and (y, x) have no holdout row: below min_cell, so never listed, only counted
    assert {tuple(c["cell"]) for c in worst["cells"]} == {("x", "x"), ("y", "y")}
    assert worst["suppressed_cells"] == 2


def test_missing_values_are_a_level_of_their_own() -> None:
    real = _frame(a=["x"] * 20 + [None] * 20, b=[1.0] * 20 + [2.0] * 20)
    twin = _frame(a=["x"] * 40, b=[1.0] * 20 + [2.0] * 20)
    table = _table(ColumnSchema("a", "categorical", nullable=True), ColumnSchema("b", "float"))
    result = measure_fidelity(real, real, twin, table)
    assert result.two_way == pytest.approx(0.5)
    cells = {tuple(c["cell"]) for c in result.worst_pairs[0]["cells"]}
    assert any(MISSING in cell for cell in cells)


def test_nullable_dtypes_compare_equal_to_plain_ones() -> None:
    rng = np.random.default_rng(1)
    plain = _frame(n=rng.integers(0, 50, 300), flag=rng.random(300) < 0.3, c=rng.choice(["1", "2"], 300))
    nullable = plain.assign(n=plain["n"].astype("Int64"), flag=plain["flag"].astype("boolean").astype(object),
                            c=plain["c"].astype(int))
    table = _table(ColumnSchema("n", "integer"), ColumnSchema("flag", "boolean"), ColumnSchema("c", "categorical"))
    result = measure_fidelity(plain, plain, nullable, table)
    assert result.two_way == 0 and result.three_way == 0


def test_more_than_thirty_levels_merge_into_other() -> None:
    levels = [f"v{i:02d}" for i in range(40)]
    real = _frame(a=levels * 5 + ["v00"] * 20, b=["x"] * 220)
    twin = _frame(a=["v39"] * 220, b=["x"] * 220)  # a rare training level: among the merged ones
    table = _table(ColumnSchema("a", "categorical"), ColumnSchema("b", "categorical"))
    result = measure_fidelity(real, real, twin, table, min_cell=1)
    cells = [c["cell"][0] for c in result.worst_pairs[0]["cells"]]
    assert OTHER in cells
    assert "v39" not in cells
    # v00 (most frequent) is kept; the 10 merged levels hold 50 of 220 real rows
    other = next(c for c in result.worst_pairs[0]["cells"] if c["cell"][0] == OTHER)
    assert other["real_share"] == pytest.approx(50 / 220, abs=1e-4) and other["twin_share"] == 1.0


def test_small_cells_are_never_listed() -> None:
    # the cell (y, y) has 3 holdout rows: however far the twin is from it, it is not shown
    holdout = _frame(a=["x"] * 50 + ["y"] * 3, b=["x"] * 50 + ["y"] * 3)
    twin = _frame(a=["x"] * 20 + ["y"] * 33, b=["x"] * 20 + ["y"] * 33)
    table = _table(ColumnSchema("a", "categorical"), ColumnSchema("b", "categorical"))
    result = measure_fidelity(holdout, holdout, twin, table)
    listed = [tuple(c["cell"]) for pair in result.worst_pairs for c in pair["cells"]]
    assert ("y", "y") not in listed and ("x", "x") in listed
    assert result.worst_pairs[0]["suppressed_cells"] == 1


def test_numbers_are_cut_at_training_quantiles_with_a_point_mass_of_its_own() -> None:
    rng = np.random.default_rng(2)
    income = np.where(rng.random(2000) < 0.5, 0.0, rng.lognormal(9, 1, 2000))
    real = _frame(income=income, b=rng.choice(["x", "y"], 2000))
    twin = real.assign(income=np.where(real["income"] == 0, 1.0, real["income"]))  # zeros moved just above
    table = _table(ColumnSchema("income", "float"), ColumnSchema("b", "categorical"))
    result = measure_fidelity(real, real, twin, table)
    assert result.two_way == pytest.approx((real["income"] == 0).mean(), abs=1e-9)
    labels = {c["cell"][0] for c in result.worst_pairs[0]["cells"]}
    assert "0" in labels


def test_seeded_results_are_deterministic() -> None:
    table = claims_schema().tables[0]
    train, holdout, twin = make_claims(3000, 0), make_claims(800, 1), make_claims(3000, 2)
    first = measure_fidelity(train, holdout, twin, table, seed=3, max_triples=5, max_rows=1000)
    again = measure_fidelity(train, holdout, twin, table, seed=3, max_triples=5, max_rows=1000)
    other = measure_fidelity(train, holdout, twin, table, seed=4, max_triples=5, max_rows=1000)
    assert first == again
    assert first.triples_compared == 5 and first.rows_compared == 800
    assert other != first


def test_ratio_in_words() -> None:
    assert format_ratio(1.44) == "1.4×" and format_ratio(None) == "-"
    assert describe_ratio(None) == "not measurable"
    assert describe_ratio(1.0) != describe_ratio(3.0)


def test_pipeline_reports_the_floor_in_evaluation_report_and_card(claims, schema, spec, gates, roots) -> None:
    import json

    from synth.pipeline import DatasetInfo, build_twin

    build = build_twin({"claims": claims}, schema, spec, gates, info=DatasetInfo(title="Claims"), progress=False,
                       **roots)
    fidelity = json.loads((build.path / "evaluation.json").read_text())["fidelity"]
    assert fidelity["table"] == "claims" and fidelity["pairs_compared"] == 10
    assert fidelity["three_way_ratio"] is not None and fidelity["three_way_ratio"] > 0
    assert "fidelity" in build.evaluation.timings
    report = (build.path / "report.html").read_text()
    assert "Fidelity: relationships between columns" in report and "fewer than 10 real rows" in report
    assert "× floor" in (build.path / "card.md").read_text()


def test_booleans_compare_as_values_whatever_their_spelling() -> None:
    flags = [True, False, False] * 20
    plain = _frame(flag=flags, b=["x", "y", "z"] * 20)
    spelled = plain.assign(flag=[int(f) for f in flags])
    table = _table(ColumnSchema("flag", "boolean"), ColumnSchema("b", "categorical"))
    assert measure_fidelity(plain, plain, spelled, table).two_way == 0
