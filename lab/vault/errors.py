"""Errors of the privacy-loss ledger.

Refusals (``BudgetRefused`` and its subclasses) are the normal, expected answer when a
budget cannot pay for a release: nothing was charged, and the message tells the user which
budget stopped them, how much is left, and what they can do. ``LedgerError`` covers the
rest: a bad amount, an unknown reservation, a database that cannot be reached. Messages
name budgets and amounts of *budget*, never values of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lab.errors import LabError


class LedgerError(LabError):
    """Base class for the ledger's errors."""

    code = "ledger_error"


class InvalidAmount(LedgerError):
    """An amount of epsilon is not a positive, finite multiple of the ledger's unit."""

    code = "invalid_amount"


class InvalidLedgerInput(LedgerError):
    """A name, kind, description or reason given to the ledger is unusable."""

    code = "invalid_ledger_input"


class ReservationNotFound(LedgerError):
    """An outcome refers to a reservation the ledger does not hold."""

    code = "reservation_not_found"


class OutcomeAlreadyRecorded(LedgerError):
    """A reservation already has its outcome; the ledger never rewrites one."""

    code = "outcome_already_recorded"


class LedgerUnavailable(LedgerError):
    """The ledger's database could not complete the operation (busy, unreachable, damaged).

    The database's own error goes to the log, never to the user.
    """

    code = "ledger_unavailable"


class BudgetRefused(LedgerError):
    """A reservation was refused before anything was charged or released."""

    code = "budget_refused"


@dataclass(frozen=True)
class Shortfall:
    """One budget that cannot pay for a reservation.

    Attributes:
        budget: what the budget is, for people (``"your allowance"``, ``"the dataset's
            lifetime budget"``, ``"group 'team-a''s allowance"``).
        scope: ``"dataset"``, ``"user"`` or ``"group"``.
        holder: the user or group name ('' for the dataset's budget).
        limit: the budget's limit (policy plus top-ups).
        spent: what has been charged to it.
        remaining: ``limit - spent`` (never below zero).
        requested: the amount the reservation asked for.
    """

    budget: str
    scope: str
    holder: str
    limit: Decimal
    spent: Decimal
    remaining: Decimal
    requested: Decimal

    @property
    def overspend(self) -> Decimal:
        """By how much the budget would be overspent."""
        return self.requested - self.remaining


class BudgetExceeded(BudgetRefused):
    """At least one budget that applies has too little left for the request."""

    code = "budget_exceeded"

    def __init__(self, dataset: str, shortfalls: list[Shortfall], owner: str = "") -> None:
        self.dataset = dataset
        self.shortfalls = list(shortfalls)
        first = self.shortfalls[0]
        parts = [f"{s.budget} has ε={_fmt(s.remaining)} left of {_fmt(s.limit)} "
                 f"(it would be overspent by {_fmt(s.overspend)})" for s in self.shortfalls]
        who = f" ({owner})" if owner else ""
        super().__init__(
            f"Refused: this release would cost ε={_fmt(first.requested)} on dataset '{dataset}', but "
            + "; ".join(parts) + ". Nothing was charged. "
            f"Ask a smaller question (less epsilon), work on the twin, or ask the data owner{who} for a top-up."
        )


class BudgetFrozen(BudgetRefused):
    """A budget that applies has been frozen by an admin."""

    code = "budget_frozen"

    def __init__(self, dataset: str, budgets: list[str], owner: str = "") -> None:
        self.dataset = dataset
        self.budgets = list(budgets)
        who = f" ({owner})" if owner else ""
        super().__init__(
            f"Refused: {' and '.join(self.budgets)} on dataset '{dataset}' "
            f"{'is' if len(self.budgets) == 1 else 'are'} frozen by an admin. Nothing was charged. "
            f"Ask the data owner{who} why, and to unfreeze it when appropriate."
        )


class QueryCapExceeded(BudgetRefused):
    """One release asks for more than the policy's per-query cap."""

    code = "query_cap_exceeded"

    def __init__(self, dataset: str, requested: Decimal, cap: Decimal) -> None:
        self.dataset = dataset
        self.requested = requested
        self.cap = cap
        super().__init__(
            f"Refused: one release on dataset '{dataset}' may cost at most ε={_fmt(cap)}, and this one would "
            f"cost ε={_fmt(requested)}. Nothing was charged. Lower the epsilon of the query (for example "
            f"ε={_fmt(cap)}), or split the work into several smaller queries."
        )


def _fmt(value: Decimal) -> str:
    return format(value, "f")
