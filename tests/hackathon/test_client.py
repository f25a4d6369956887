"""The notebook calls, over HTTP to the real service: lab.hackathon_task, lab.submit, lab.leaderboard."""

from __future__ import annotations

from decimal import Decimal

import pytest

import lab
from tests.support.vault_service import VaultService, VaultUser


def test_a_member_finds_the_grid_submits_a_table_and_sees_the_leaderboard(service: VaultService,
                                                                          users: dict[str, VaultUser]) -> None:
    connection = lab.Connection(service.url, users["dan"].token)
    grid = lab.hackathon_task("open-challenge", connection=connection)
    assert list(grid.columns[:2]) == ["id", "age_band"] and len(grid) == 320
    before = Decimal(grid.attrs["task"]["team"]["remaining_epsilon"])
    grid["prediction"] = grid["disabled"].map({True: "pip", False: "universal_credit"})
    answer = lab.submit("open-challenge", grid[["id", "prediction"]], connection=connection)
    assert answer["interval"][0] <= answer["score"] <= answer["interval"][1]
    assert Decimal(answer["remaining_epsilon"]) == before - Decimal("0.5")
    board = lab.leaderboard("open-challenge", connection=connection)
    assert "team-red" in set(board["team"]) and board.attrs["metric"] == "accuracy"


def test_a_refusal_reaches_the_notebook_as_a_clear_error(service: VaultService, users: dict[str, VaultUser]) -> None:
    connection = lab.Connection(service.url, users["erin"].token)
    with pytest.raises(lab.ClientError) as refused:
        lab.submit("open-challenge", {"cell-0001": "pip"}, connection=connection)
    assert "cell id(s) have no prediction" in str(refused.value)
