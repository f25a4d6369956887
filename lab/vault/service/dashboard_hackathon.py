"""The hackathon's leaderboard page, ``dash/hackathon/<event>``, behind the dashboard's login.

It shows what the API's ``api/hackathon/<event>/leaderboard`` gives (already-released DP
scores with their intervals) and, for a team member, their team's remaining budget and
today's submissions. Access is the API's: members of the event's teams and vault admins.
"""

from __future__ import annotations

import re
from typing import Any

from lab.vault.service.dashboard import DashboardPage
from lab.vault.service.hackathon_handlers import EVENT, desk_of


class HackathonPage(DashboardPage):
    """``dash/hackathon/<event>``: the public leaderboard, and the final ranking once the event has closed."""

    nav = "hackathon"

    async def get(self, event: str) -> None:
        desk = desk_of(self)
        board = await self.work(desk.leaderboard, self.caller, event)
        task = await self.work(desk.task, self.caller, event)
        self.page("hackathon.html", board=board, task=task)


def hackathon_page_routes(prefix: str) -> list[tuple[Any, ...]]:
    """The page's route (registered before the dashboard's catch-all)."""
    return [(re.escape(prefix + "dash/hackathon/") + EVENT, HackathonPage)]
