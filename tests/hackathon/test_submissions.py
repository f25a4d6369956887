"""Two teams submit to the real vault service: scores, limits, refusals and the ranking."""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from lab.hackathon import load_event
from lab.policies import load_policies
from lab.vault.hackathon import holdout_key, load_holdout, row_losses, true_score
from tests.hackathon.conftest import USERS
from tests.support.vault_service import VaultService, VaultSite, VaultUser


def task(service: VaultService, user: VaultUser, event: str) -> dict[str, Any]:
    status, body = service.call("GET", f"api/hackathon/{event}", user.token)
    assert status == 200, body
    return body


def predictions(grid: list[dict[str, Any]], value: Any) -> dict[str, Any]:
    return {cell["id"]: value(cell) if callable(value) else value for cell in grid}


def remaining(service: VaultService, user: VaultUser, event: str) -> Decimal:
    return Decimal(task(service, user, event)["team"]["remaining_epsilon"])


def entries(service: VaultService, user: VaultUser) -> int:
    status, body = service.call("GET", "api/history", user.token)
    assert status == 200, body
    return len(body["entries"])


def truth(site: VaultSite, event: str, part: str = "public") -> tuple[Any, Any, Any, Any]:
    """What only the vault knows: the event, the target's policy, and the holdout part's cells and targets."""
    policies = load_policies(site.policies_dir)
    loaded = load_event(site.policies_dir / "events" / f"{event}.yaml", policies)
    key = holdout_key(site.root / "vault" / "hackathon" / event)  # the service's own key (made on first use)
    holdout = load_holdout(loaded, policies["welfare"], site.data_dir, key)
    target = policies["welfare"].tables["claims"].columns["benefit_type"]
    return loaded, target, holdout, holdout.part(part)


def test_task_shows_the_grid_dates_and_my_team(service: VaultService, users: dict[str, VaultUser]) -> None:
    body = task(service, users["dan"], "open-challenge")
    assert len(body["grid"]) == 8 * 2 * 5 * 2 * 2 and body["grid"][0]["id"] == "cell-0001"
    assert body["status"] == "open" and body["task"]["metric"] == "accuracy"
    assert body["team"]["name"] == "team-red" and Decimal("0") < Decimal(body["team"]["remaining_epsilon"]) <= Decimal("3.1")


def test_two_teams_submit_and_the_better_one_ranks_first(service: VaultService, site: VaultSite,
                                                         users: dict[str, VaultUser]) -> None:
    event, _, holdout, (cells, target) = truth(site, "open-challenge")
    grid = task(service, users["dan"], "open-challenge")["grid"]
    modes = {i: Counter(target[cells == i]).most_common(1) for i in range(len(grid))}
    good = {cell["id"]: (modes[i][0][0] if modes[i] else "pip") for i, cell in enumerate(grid)}
    before = remaining(service, users["dan"], "open-challenge")
    status, red = service.call("POST", "api/hackathon/open-challenge/submit", users["dan"].token,
                               json={"predictions": good})
    assert status == 200, red
    assert red["team"] == "team-red" and red["confidence"] == 0.95
    assert red["interval"][0] <= red["score"] <= red["interval"][1]
    assert Decimal(red["remaining_epsilon"]) == before - Decimal("0.5")
    csv = "id,prediction\n" + "".join(f"{cell['id']},jsa\n" for cell in grid)
    status, blue = service.call("POST", "api/hackathon/open-challenge/submit", users["erin"].token, json={"csv": csv})
    assert status == 200, blue
    status, board = service.call("GET", "api/hackathon/open-challenge/leaderboard", users["erin"].token)
    assert status == 200, board
    assert [row["team"] for row in board["public"]] == ["team-red", "team-blue"]
    assert board["final"] is None and board["status"] == "open"


def refuse(service: VaultService, user: VaultUser, event: str, body: Any, status: int, kind: str,
           watch: VaultUser | None = None) -> dict[str, Any]:
    """Send a submission that must be refused; check the error and that nothing was charged."""
    watcher = watch or user
    budget = remaining(service, watcher, event) if USERS[watcher.name][-1].startswith("team") else None
    history = entries(service, user)
    got, answer = service.call("POST", f"api/hackathon/{event}/submit", user.token, json=body)
    assert got == status and answer["error"]["type"] == kind, answer
    assert answer["error"]["message"] and answer["error"]["fix"]
    assert entries(service, user) == history
    if budget is not None:
        assert remaining(service, watcher, event) == budget
    return answer["error"]


def test_wrong_shape_ids_and_values_are_refused_with_nothing_charged(service: VaultService,
                                                                     users: dict[str, VaultUser]) -> None:
    dan = users["dan"]
    grid = task(service, dan, "open-challenge")["grid"]
    full = predictions(grid, "pip")
    refuse(service, dan, "open-challenge", {"answers": full}, 400, "BadSubmission")
    refuse(service, dan, "open-challenge", {"predictions": ["pip"] * len(grid)}, 400, "BadSubmission")
    missing = dict(list(full.items())[:-1])
    error = refuse(service, dan, "open-challenge", {"predictions": missing}, 400, "BadSubmission")
    assert "cell-0320" in error["message"]
    error = refuse(service, dan, "open-challenge", {"predictions": {**full, "row-17": "pip"}}, 400, "BadSubmission")
    assert "row-17" in error["message"]
    refuse(service, dan, "open-challenge", {"predictions": {**full, "cell-0001": "lottery"}}, 400, "BadSubmission")
    refuse(service, dan, "open-challenge", {"csv": "claimant,benefit\n"}, 400, "BadSubmission")


def test_people_outside_the_teams_and_other_times_are_refused(service: VaultService,
                                                              users: dict[str, VaultUser]) -> None:
    grid = task(service, users["dan"], "open-challenge")["grid"]
    body = {"predictions": predictions(grid, "pip")}
    refuse(service, users["nobody"], "open-challenge", body, 404, "EventNotFound", watch=users["dan"])
    refuse(service, users["gus"], "open-challenge", body, 404, "EventNotFound", watch=users["dan"])
    refuse(service, users["pat"], "past-challenge", body, 409, "EventNotOpen")
    refuse(service, users["fay"], "future-challenge", body, 409, "EventNotOpen")


def test_the_daily_limit_and_the_team_budget_refuse_with_nothing_charged(service: VaultService,
                                                                         users: dict[str, VaultUser]) -> None:
    grid = task(service, users["gus"], "tiny-budget")["grid"]
    body = {"predictions": predictions(grid, "pip")}
    for _ in range(2):  # 0.1 for public scores, 0.05 each
        status, answer = service.call("POST", "api/hackathon/tiny-budget/submit", users["gus"].token, json=body)
        assert status == 200, answer
    refuse(service, users["gus"], "tiny-budget", body, 409, "ScoringBudgetExhausted")
    erin = users["erin"]
    used = task(service, erin, "open-challenge")["team"]["submissions_today"]
    for _ in range(3 - used):
        status, answer = service.call("POST", "api/hackathon/open-challenge/submit", erin.token, json=body)
        assert status == 200, answer
    refuse(service, erin, "open-challenge", body, 429, "DailyLimitReached")


def test_dp_scores_fall_in_their_interval_at_the_stated_rate(service: VaultService, site: VaultSite,
                                                             users: dict[str, VaultUser]) -> None:
    event, target_policy, _, (cells, target) = truth(site, "coverage")
    grid = task(service, users["gina"], "coverage")["grid"]
    categories = target_policy.categories
    rng = np.random.default_rng(7)
    inside = 0
    for _ in range(100):
        chosen = [categories[i] for i in rng.integers(0, len(categories), len(grid))]
        status, answer = service.call("POST", "api/hackathon/coverage/submit", users["gina"].token,
                                      json={"predictions": {c["id"]: v for c, v in zip(grid, chosen)}})
        assert status == 200, answer
        losses, unit = row_losses(event, target_policy, chosen, cells, target)
        exact = true_score(event, losses, unit)
        inside += answer["interval"][0] <= exact <= answer["interval"][1]
    assert inside >= 85, f"{inside} of 100 scores within their 95% interval"


def test_the_final_private_ranking_is_computed_once_after_the_close(service: VaultService, site: VaultSite,
                                                                    users: dict[str, VaultUser]) -> None:
    grid = task(service, users["xan"], "closing")["grid"]
    for name, value in (("xan", "pip"), ("yan", "jsa")):
        status, answer = service.call("POST", "api/hackathon/closing/submit", users[name].token,
                                      json={"predictions": predictions(grid, value)})
        assert status == 200, answer
    before = remaining(service, users["xan"], "closing")
    wait = (site.closes - __import__("datetime").datetime.now(__import__("datetime").timezone.utc)).total_seconds()
    time.sleep(max(wait, 0) + 0.5)
    status, board = service.call("GET", "api/hackathon/closing/leaderboard", users["yan"].token)
    assert status == 200 and board["status"] == "closed", board
    final = board["final"]
    assert sorted(row["team"] for row in final["ranking"]) == ["team-x", "team-y"]
    assert all(row["interval"][0] <= row["score"] <= row["interval"][1] for row in final["ranking"])
    assert remaining(service, users["xan"], "closing") == before - Decimal("0.1")
    status, again = service.call("GET", "api/hackathon/closing/leaderboard", users["xan"].token)
    assert again["final"] == final  # computed once, then kept
    refuse(service, users["xan"], "closing", {"predictions": predictions(grid, "pip")}, 409, "EventNotOpen")
