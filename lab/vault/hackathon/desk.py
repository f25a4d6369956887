"""The hackathon's routes as plain methods: task, submit, leaderboard.

A submission goes, in this order (everything before ``reserve`` charges nothing)::

    event → team (from the caller's hub groups) → open? → parse the predictions
          → daily limit → team budget → load the holdout → ledger.reserve(team)
          → DP release → ledger.record → store

One lock per desk serialises submissions, so two kernels of one team cannot both pass
the daily limit; the ledger's own transaction guards the budgets.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.hackathon.grid import grid_cells
from lab.hackathon.model import Event
from lab.policies.model import Policy
from lab.vault.errors import LedgerError
from lab.vault.hackathon.errors import (
    DailyLimitReached,
    EventNotFound,
    EventNotOpen,
    NotInTeam,
    ScoringBudgetExhausted,
)
from lab.vault.hackathon.holdout import Holdout, holdout_key, load_holdout
from lab.vault.hackathon.scoring import price, release_score, row_losses
from lab.vault.hackathon.store import EventStore
from lab.vault.hackathon.submission import parse_submission
from lab.vault.ledger import Ledger, utcnow
from lab.vault.service.auth import Caller

log = logging.getLogger(__name__)

KIND = "hackathon_score"


class HackathonDesk:
    """Every event's submissions and leaderboards.

    Args:
        events: the validated events, by name.
        policies: the dataset policies (the events' tasks refer to them).
        ledger: where scores are charged (team budgets are group budgets on the task's dataset).
        data_dir: the real data (vault only).
        store_dir: where scored submissions are kept (vault only).
        clock: the current UTC time (tests move it).
    """

    def __init__(self, events: Mapping[str, Event], policies: Mapping[str, Policy], ledger: Ledger, data_dir: Path,
                 store_dir: Path, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.events = dict(events)
        self.policies = policies
        self.ledger = ledger
        self.data_dir = data_dir
        self.store_dir = store_dir
        self.clock = clock
        self._lock = threading.Lock()
        self._holdouts: dict[str, Holdout] = {}

    # -- routes --------------------------------------------------------------------------

    def task(self, caller: Caller, name: str) -> dict[str, Any]:
        """``GET api/hackathon/<event>``: the task, the grid, the dates, my team's budget and day."""
        event = self._event(caller, name)
        team = self._team_or_none(caller, event)
        policy = self.policies[event.task.dataset]
        columns = policy.tables[event.task.table].columns
        target = columns[event.task.target]
        now = self.clock()
        doc: dict[str, Any] = {
            "event": event.event, "title": event.title, "description": event.description.strip(),
            "organisers": event.organisers, "opens": event.opens.isoformat(), "closes": event.closes.isoformat(),
            "status": _status(event, now), "teams": event.teams, "datasets": event.datasets,
            "leaderboard_page": f"dash/hackathon/{event.event}",  # under the vault's URL, behind its login
            "task": {"dataset": event.task.dataset, "table": event.task.table, "target": event.task.target,
                     "target_type": target.type, "categories": target.categories, "bounds": target.bounds,
                     "features": event.task.features, "metric": event.task.metric,
                     "higher_is_better": event.higher_is_better, "submission_format": event.task.submission_format,
                     "description": event.task.description},
            "grid": [{"id": cid, **values} for cid, values in grid_cells(columns, event.task.features)],
            "scoring": {"epsilon_per_score": _eps(event.scoring.epsilon_per_score),
                        "final_epsilon": _eps(event.scoring.final_epsilon),
                        "team_epsilon": _eps(event.scoring.team_epsilon),
                        "submissions_per_day": event.scoring.submissions_per_day,
                        "confidence": event.scoring.confidence},
            "team": None,
        }
        if team is not None:
            store = self._store(event)
            doc["team"] = {"name": team, "remaining_epsilon": _eps(self._remaining(event, team)),
                           "submissions_today": store.submissions_on(team, now.date()),
                           "submissions": [_public(r) for r in store.submissions(team)]}
        return doc

    def submit(self, caller: Caller, name: str, body: Any) -> dict[str, Any]:
        """``POST api/hackathon/<event>/submit``: a public score under DP, charged to the caller's team.

        Raises:
            EventNotFound, NotInTeam, EventNotOpen, BadSubmission, DailyLimitReached,
            ScoringBudgetExhausted, BudgetRefused: refused, nothing charged.
        """
        event = self._event(caller, name)
        team = self._team(caller, event)
        policy = self.policies[event.task.dataset]
        target = policy.tables[event.task.table].columns[event.task.target]
        with self._lock:
            now = self.clock()
            if not event.is_open(now):
                raise EventNotOpen(f"event '{event.event}' is {_status(event, now)} (it takes submissions from "
                                   f"{event.opens.isoformat()} to {event.closes.isoformat()}); nothing was charged.")
            holdout = self._holdout(event, policy)
            predictions = parse_submission(event, target, holdout.cell_ids, body)
            store = self._store(event)
            used = store.submissions_on(team, now.date())
            if used >= event.scoring.submissions_per_day:
                raise DailyLimitReached(f"team {team} has used its {event.scoring.submissions_per_day} submissions "
                                        f"for {now.date().isoformat()} (UTC); nothing was charged.")
            epsilon = price(event.scoring.epsilon_per_score)
            remaining = self._remaining(event, team)
            if remaining - epsilon < event.scoring.final_epsilon:
                raise ScoringBudgetExhausted(
                    f"team {team} has ε={_eps(remaining - event.scoring.final_epsilon)} left for public scores and "
                    f"one costs ε={_eps(epsilon)}; nothing was charged.")
            cells, truth = holdout.part("public")
            losses, unit = row_losses(event, target, predictions, cells, truth)
            reservation = self.ledger.reserve(user=caller.name, groups=[team], dataset=event.task.dataset,
                                              epsilon=epsilon, kind=KIND,
                                              description={"event": event.event, "team": team, "part": "public",
                                                           "metric": event.task.metric, "via": "vault-service"})
            try:
                score = release_score(event, losses, unit, policy.privacy_unit.max_rows_per_person, epsilon)
            except BaseException as exc:
                self._record(reservation.id, "failed", {"error": type(exc).__name__})
                raise
            self._record(reservation.id, "released", {"event": event.event})
            record = {"id": reservation.id, "at": now.isoformat(), "team": team, "user": caller.name,
                      "part": "public", **score.to_dict(), "predictions": dict(zip(holdout.cell_ids, predictions))}
            store.append(record)
        log.info("hackathon %r: team %r scored (reservation %d)", event.event, team, reservation.id)
        return {"event": event.event, "team": team, "metric": event.task.metric, **_public(record),
                "remaining_epsilon": _eps(self._remaining(event, team)),
                "submissions_today": used + 1, "submissions_per_day": event.scoring.submissions_per_day}

    def leaderboard(self, caller: Caller, name: str) -> dict[str, Any]:
        """``GET api/hackathon/<event>/leaderboard``: public during the event, private once it has closed."""
        event = self._event(caller, name)
        now = self.clock()
        store = self._store(event)
        rows = []
        for team in event.teams:
            best = _best(event, store.submissions(team))
            rows.append({"team": team, "submissions": len(store.submissions(team)),
                         **({"score": best["score"], "interval": best["interval"], "at": best["at"]} if best
                            else {"score": None, "interval": None, "at": None})})
        doc: dict[str, Any] = {"event": event.event, "title": event.title, "metric": event.task.metric,
                               "higher_is_better": event.higher_is_better, "status": _status(event, now),
                               "confidence": event.scoring.confidence, "closes": event.closes.isoformat(),
                               "public": _ranked(event, rows), "final": None}
        if now >= event.closes:
            doc["final"] = self._final(event)
        return doc

    # -- internals ----------------------------------------------------------------------

    def _final(self, event: Event) -> dict[str, Any]:
        """The private ranking: computed once, at the first request after the close, then kept."""
        with self._lock:
            store = self._store(event)
            done = store.final()
            if done is not None:
                return done
            policy = self.policies[event.task.dataset]
            target = policy.tables[event.task.table].columns[event.task.target]
            holdout = self._holdout(event, policy)
            cells, truth = holdout.part("private")
            epsilon = price(event.scoring.final_epsilon)
            rows = []
            for team in event.teams:
                best = _best(event, store.submissions(team))
                if best is None:
                    rows.append({"team": team, "score": None, "interval": None, "note": "no submission"})
                    continue
                predictions = [best["predictions"][cid] for cid in holdout.cell_ids]
                losses, unit = row_losses(event, target, predictions, cells, truth)
                # The final score is the team's own release: the team is the ledger's actor for it.
                try:
                    reservation = self.ledger.reserve(user=team, groups=[team], dataset=event.task.dataset,
                                                      epsilon=epsilon, kind=KIND,
                                                      description={"event": event.event, "team": team,
                                                                   "part": "private", "submission": best["id"],
                                                                   "via": "vault-service"})
                except LabError as refused:  # the ranking is still computed once: this team is unscored
                    log.error("hackathon %r: final score of %r refused: %s", event.event, team, refused.message)
                    rows.append({"team": team, "score": None, "interval": None,
                                 "note": f"not scored ({type(refused).__name__}); ask the organisers"})
                    continue
                try:
                    score = release_score(event, losses, unit, policy.privacy_unit.max_rows_per_person, epsilon)
                except Exception as exc:  # noqa: BLE001 - charged, not released: recorded, and the others go on
                    log.exception("hackathon %r: final score of %r failed", event.event, team)
                    self._record(reservation.id, "failed", {"error": type(exc).__name__})
                    rows.append({"team": team, "score": None, "interval": None, "note": "not scored (a failure)"})
                    continue
                self._record(reservation.id, "released", {"event": event.event})
                rows.append({"team": team, "submission": best["id"], **score.to_dict()})
            document = {"computed_at": self.clock().isoformat(), "ranking": _ranked(event, rows)}
            store.write_final(document)
            return document

    def _event(self, caller: Caller, name: str) -> Event:
        event = self.events.get(name)
        if event is None or not (caller.admin or set(event.teams) & set(caller.groups)):
            mine = [n for n, e in sorted(self.events.items()) if caller.admin or set(e.teams) & set(caller.groups)]
            raise EventNotFound(f"'{name}' is not an event you take part in (yours: {', '.join(mine) or 'none'}).")
        return event

    def _team_or_none(self, caller: Caller, event: Event) -> str | None:
        teams = [t for t in event.teams if t in caller.groups]
        return teams[0] if len(teams) == 1 else None

    def _team(self, caller: Caller, event: Event) -> str:
        teams = [t for t in event.teams if t in caller.groups]
        if len(teams) != 1:
            which = "none" if not teams else ", ".join(teams)
            raise NotInTeam(f"you ({caller.name}) must be in exactly one team of event '{event.event}' to submit; "
                            f"you are in: {which}. Nothing was charged.")
        return teams[0]

    def _remaining(self, event: Event, team: str) -> Decimal:
        for status in self.ledger.budgets(dataset=event.task.dataset, groups=[team]):
            if status.scope == "group" and status.holder == team:
                return status.remaining
        return Decimal(0)

    def _holdout(self, event: Event, policy: Policy) -> Holdout:
        holdout = self._holdouts.get(event.event)
        if holdout is None:
            key = holdout_key(self.store_dir / event.event)
            holdout = self._holdouts[event.event] = load_holdout(event, policy, self.data_dir, key)
        return holdout

    def _store(self, event: Event) -> EventStore:
        return EventStore(self.store_dir / event.event)

    def _record(self, reservation_id: int, outcome: str, detail: dict[str, Any]) -> None:
        try:
            self.ledger.record(reservation_id, outcome, detail)  # type: ignore[arg-type]
        except LedgerError:
            log.exception("could not record outcome %r of reservation %d", outcome, reservation_id)


def _status(event: Event, now: dt.datetime) -> str:
    return "not open yet" if now < event.opens else ("open" if now < event.closes else "closed")


def _best(event: Event, submissions: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not submissions:
        return None
    sign = 1 if event.higher_is_better else -1
    return max(submissions, key=lambda r: (sign * r["score"], -r["id"]))


def _ranked(event: Event, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sign = -1 if event.higher_is_better else 1
    scored = sorted((r for r in rows if r.get("score") is not None), key=lambda r: sign * r["score"])
    unscored = [r for r in rows if r.get("score") is None]
    return [{"rank": i + 1, **r} for i, r in enumerate(scored)] + [{"rank": None, **r} for r in unscored]


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("id", "at", "score", "interval", "confidence", "epsilon", "part") if k in record}


def _eps(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"
