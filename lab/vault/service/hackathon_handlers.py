"""The hackathon's HTTP routes (JSON), over :class:`lab.vault.hackathon.HackathonDesk`.

``GET api/hackathon/<event>``, ``POST api/hackathon/<event>/submit`` and
``GET api/hackathon/<event>/leaderboard``; the team is always taken from the caller's
hub groups, never from the request.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lab.vault.service.handlers import BodyHandler, VaultHandler
from lab.vault.service.json_input import SUBMISSION_INPUT

if TYPE_CHECKING:  # lab.vault.hackathon imports this package's errors: import it lazily
    from lab.vault.hackathon import HackathonDesk

#: An event name in a URL (the event files' names).
EVENT = r"([A-Za-z][A-Za-z0-9_\-]{0,62})"


def desk_of(handler: VaultHandler) -> HackathonDesk:
    """The service's hackathon desk, or a 404 when the vault runs no events."""
    from lab.vault.hackathon.errors import EventNotFound

    desk = handler.vault.hackathon
    if desk is None:
        raise EventNotFound("this vault runs no hackathon events.")
    return desk


class TaskHandler(VaultHandler):
    async def get(self, event: str) -> None:
        self.write_json(await self.work(desk_of(self).task, self.caller, event))


class SubmitHandler(BodyHandler):
    input_limits = SUBMISSION_INPUT

    async def post(self, event: str) -> None:
        caller, body = await self.caller_and_body()
        self.write_json(await self.work(desk_of(self).submit, caller, event, body))


class LeaderboardHandler(VaultHandler):
    async def get(self, event: str) -> None:
        self.write_json(await self.work(desk_of(self).leaderboard, self.caller, event))


def hackathon_routes(prefix: str) -> list[tuple[Any, ...]]:
    """The routes under ``prefix`` (tornado patterns with the event name as a group)."""
    base = re.escape(prefix + "api/hackathon/") + EVENT
    return [(base + re.escape("/submit"), SubmitHandler), (base + re.escape("/leaderboard"), LeaderboardHandler),
            (base, TaskHandler)]
