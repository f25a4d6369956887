"""The leaderboard page in Debian's Chromium, behind the dashboard's login."""

from __future__ import annotations

from pathlib import Path
from typing import Any


from tests.dashboard.browsing import Visitor
from tests.support.vault_service import VaultService, VaultUser


def visitor(browser: Any, service: VaultService, tmp_path: Path) -> Visitor:
    return Visitor(browser.new_context(viewport={"width": 1280, "height": 900}), service.url, tmp_path)


def test_a_team_member_sees_the_leaderboard_and_their_budget(browser: Any, service: VaultService,
                                                             users: dict[str, VaultUser], tmp_path: Path) -> None:
    grid = service.call("GET", "api/hackathon/open-challenge", users["erin"].token)[1]["grid"]
    status, _ = service.call("POST", "api/hackathon/open-challenge/submit", users["erin"].token,
                             json={"predictions": {cell["id"]: "pip" for cell in grid}})
    assert status in (200, 429)  # 429: another test used team-blue's submissions today
    erin = visitor(browser, service, tmp_path)
    erin.open("dash/hackathon/open-challenge", status=401)  # not logged in: the login form
    erin.login(users["erin"].token)
    erin.open("dash/", shot=None)
    assert "Hackathon: open-challenge" in erin.text("nav.main-nav")  # the menu leads to the event
    erin.open("dash/hackathon/open-challenge", shot="hackathon-leaderboard")
    board = erin.text("#public-leaderboard")
    assert "team-blue" in board and "team-red" in board
    assert "My team: team-blue" in erin.text("#my-team")
    assert "open" in erin.text("#event-status")
    erin.open("dash/hackathon/tiny-budget", status=404)  # not erin's event
    assert erin.problems == []
    erin.close()


def test_after_the_close_the_page_shows_the_final_ranking(browser: Any, service: VaultService,
                                                          users: dict[str, VaultUser], tmp_path: Path) -> None:
    status, board = service.call("GET", "api/hackathon/past-challenge/leaderboard", users["pat"].token)
    assert status == 200 and board["status"] == "closed"
    pat = visitor(browser, service, tmp_path)
    pat.login(users["pat"].token)
    pat.open("dash/hackathon/past-challenge", shot="hackathon-final")
    assert "team-past" in pat.text("#final-ranking") and "no submission" in pat.text("#final-ranking")
    assert pat.problems == []
    pat.close()
