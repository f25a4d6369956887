"""The values the ledger hands out: reservations, journal entries and budget statuses.

All are frozen dataclasses with amounts as exact ``Decimal`` epsilon. ``Entry`` converts
to and from a JSON-safe dict (amounts as strings), which is what the exports write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: What a reservation's outcome can be. ``kept``: no outcome was recorded (the release may
#: or may not have happened), so the charge stands.
OUTCOMES = ("released", "failed")
KEPT = "kept"

ACTIONS = ("reserve", "outcome", "top_up", "freeze", "unfreeze", "policy")


def budget_label(scope: str, holder: str) -> str:
    """How a budget is named to people.

    >>> budget_label("user", "alice")
    "the allowance of user 'alice'"
    """
    if scope == "dataset":
        return "the dataset's lifetime budget"
    return f"the allowance of {scope} '{holder}'"


@dataclass(frozen=True)
class Reservation:
    """A charge that has been made and may now be released.

    Attributes:
        id: the reservation's entry id; pass it to ``Ledger.record``.
        user: who is charged.
        dataset: which dataset's budgets paid.
        epsilon: the privacy loss reserved; release through an OpenDP context of exactly this size.
        kind: what is released (``dp_query``, ``dp_twin``, ``hackathon_score``, ...).
        at: when it was reserved (UTC).
    """

    id: int
    user: str
    dataset: str
    epsilon: Decimal
    kind: str
    at: dt.datetime


@dataclass(frozen=True)
class RunningTotal:
    """A budget's totals just after an entry touched it."""

    scope: str
    holder: str
    spent: Decimal
    limit: Decimal

    @property
    def label(self) -> str:
        return budget_label(self.scope, self.holder)


@dataclass(frozen=True)
class Entry:
    """One event in the append-only journal.

    Attributes:
        id: position in the journal (increasing).
        at: when (UTC).
        action: ``reserve``, ``outcome``, ``top_up``, ``freeze``, ``unfreeze`` or ``policy``.
        actor: the user charged (reserve, outcome), or the admin (other actions).
        dataset: the dataset whose budgets the entry concerns.
        kind: what was released (reserve and outcome entries).
        epsilon: privacy loss charged (reserve) or budget added (top_up); 0 otherwise.
        groups: the user's groups at reservation time.
        description: a short JSON description of what was released, or the admin's reason.
            Never data values.
        reservation_id: for an outcome, the reservation it settles.
        status: for a reservation, ``released``, ``failed`` or ``kept`` (no outcome
            recorded); for an outcome, its outcome; otherwise None.
        totals: the budgets the entry touched, with their totals just after it.
    """

    id: int
    at: dt.datetime
    action: str
    actor: str
    dataset: str
    kind: str | None
    epsilon: Decimal
    groups: tuple[str, ...] = ()
    description: dict[str, Any] = field(default_factory=dict)
    reservation_id: int | None = None
    status: str | None = None
    totals: tuple[RunningTotal, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict: amounts as decimal strings, the time in ISO 8601."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "action": self.action,
            "actor": self.actor,
            "dataset": self.dataset,
            "kind": self.kind,
            "epsilon": format(self.epsilon, "f"),
            "groups": list(self.groups),
            "description": self.description,
            "reservation_id": self.reservation_id,
            "status": self.status,
            "totals": [{"scope": t.scope, "holder": t.holder, "spent": format(t.spent, "f"),
                        "limit": format(t.limit, "f")} for t in self.totals],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        """The inverse of ``to_dict``."""
        return cls(
            id=int(data["id"]),
            at=dt.datetime.fromisoformat(data["at"]),
            action=data["action"],
            actor=data["actor"],
            dataset=data["dataset"],
            kind=data.get("kind"),
            epsilon=Decimal(data["epsilon"]),
            groups=tuple(data.get("groups", ())),
            description=dict(data.get("description", {})),
            reservation_id=None if data.get("reservation_id") is None else int(data["reservation_id"]),
            status=data.get("status"),
            totals=tuple(RunningTotal(t["scope"], t["holder"], Decimal(t["spent"]), Decimal(t["limit"]))
                         for t in data.get("totals", ())),
        )


@dataclass(frozen=True)
class BudgetStatus:
    """Where one budget stands now.

    Attributes:
        dataset: the dataset.
        scope: ``dataset`` (lifetime budget over all users), ``user`` or ``group``.
        holder: the user or group ('' for the dataset's budget).
        limit: the policy's limit plus top-ups.
        spent: everything charged to it, kept reservations included.
        remaining: ``limit - spent``, never below zero (a policy may lower a limit below
            what was already spent).
        frozen: an admin has frozen it; reservations it applies to are refused.
        policy_limit: the limit the policy sets.
        top_ups: the total added by admins.
    """

    dataset: str
    scope: str
    holder: str
    limit: Decimal
    spent: Decimal
    remaining: Decimal
    frozen: bool
    policy_limit: Decimal
    top_ups: Decimal

    @property
    def label(self) -> str:
        return budget_label(self.scope, self.holder)
