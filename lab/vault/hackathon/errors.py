"""Refusals of the hackathon routes. Each is a ServiceError: a stable type, a user-safe
message, a fix, and an HTTP status. Every one of them is raised before the ledger is
asked for anything, so a refused submission charges nothing."""

from __future__ import annotations

from lab.vault.service.errors import ServiceError


class EventNotFound(ServiceError):
    """No event file of that name (or the caller is in none of its teams and not an admin)."""

    code = "event_not_found"
    status = 404
    fix = "Check the event's name in the invitation (policies/events/ lists the events)."


class NotInTeam(ServiceError):
    """The caller is in none (or more than one) of the event's teams."""

    code = "not_in_team"
    status = 403
    fix = "Ask the organisers to add you to exactly one of the event's teams (a hub group), then restart your server."


class EventNotOpen(ServiceError):
    """The event has not opened yet, or has closed: no submission is scored."""

    code = "event_not_open"
    status = 409
    fix = "Submit between the event's opens and closes times (UTC); after the close, see the final leaderboard."


class DailyLimitReached(ServiceError):
    """The team has used today's submissions (UTC day)."""

    code = "daily_limit_reached"
    status = 429
    fix = "Try again after midnight UTC; meanwhile, evaluate on the twin (free)."


class ScoringBudgetExhausted(ServiceError):
    """The team's scoring budget cannot pay for another public score."""

    code = "scoring_budget_exhausted"
    status = 409
    fix = "Evaluate on the twin (free); the final private score is already paid for."


class BadSubmission(ServiceError):
    """The predictions are not one valid prediction for each cell id of the grid."""

    code = "bad_submission"
    status = 400
    fix = "Send {\"predictions\": {cell_id: prediction, ...}} with every id of the task's grid exactly once."
