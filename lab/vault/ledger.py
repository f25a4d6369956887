"""The privacy-loss ledger: reserve before releasing, record after, never rewrite.

Every release of information derived from real data (a DP query answer, a DP twin, a
hackathon score) is paid for here, in that order:

1. ``reserve`` checks, in one transaction, every budget that applies (the dataset's
   lifetime budget, the user's allowance, the allowance of each of the user's groups that
   has one, the per-query cap, frozen flags) and appends the charge. A refusal charges
   nothing.
2. The caller releases, through a one-shot OpenDP context sized to the reservation.
3. ``record`` appends the outcome (``released`` or ``failed``). The charge stands either
   way; a reservation with no outcome (the process died) shows as ``kept``.

Amounts are exact (integer units of 1e-12 epsilon; see lab.vault.amounts). Budgets come
from the policies through ``sync_policies``; admins top up, freeze and unfreeze, and
each of those is a journal entry too. SQLite by default; PostgreSQL through the same code
(lab.vault.ledger_db holds the only differences).

>>> import tempfile, pathlib
>>> from decimal import Decimal
>>> ledger = Ledger(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'ledger.sqlite'}")
>>> ledger.ensure_schema()
>>> ledger.set_limits("claims", dataset_epsilon="1", user_epsilon="1", query_epsilon_max="0.5")
['claims: dataset_epsilon (none) -> 1', 'claims: query_epsilon_max (none) -> 0.5', 'claims: user_epsilon (none) -> 1']
>>> charges = [ledger.reserve(user="ana", groups=[], dataset="claims", epsilon=Decimal("0.1"),
...                           kind="dp_query", description={"query": "count"}) for _ in range(10)]
>>> [b.remaining for b in ledger.budgets(dataset="claims", user="ana")]
[Decimal('0'), Decimal('0')]
>>> ledger.reserve(user="ana", groups=[], dataset="claims", epsilon=Decimal("0.1"),
...                kind="dp_query", description={"query": "count"})
Traceback (most recent call last):
...
lab.vault.errors.BudgetExceeded: Refused: this release would cost ε=0.1 on dataset 'claims', ...
>>> ledger.close()
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import IO, Any, Literal, TypeVar

from sqlalchemy import Connection, and_, func, insert, or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from lab.errors import DatasetNotFound
from lab.policies.model import Policy
from lab.vault import ledger_db, ledger_export, ledger_limits
from lab.vault.amounts import Amount, from_units, to_units
from lab.vault.errors import (
    BudgetExceeded,
    BudgetFrozen,
    InvalidLedgerInput,
    LedgerError,
    LedgerUnavailable,
    OutcomeAlreadyRecorded,
    QueryCapExceeded,
    ReservationNotFound,
    Shortfall,
)
from lab.vault.ledger_records import OUTCOMES, BudgetStatus, Entry, Reservation, budget_label
from lab.vault.ledger_schema import budgets as budgets_t
from lab.vault.ledger_schema import datasets as datasets_t
from lab.vault.ledger_schema import entries as entries_t
from lab.vault.ledger_schema import metadata
from lab.vault.ledger_writes import Pool, charge_pools, lock_pool, lock_pools, new_entry
from lab.vault.ledger_views import consistency_problems, load_budgets, load_entries

log = logging.getLogger(__name__)

T = TypeVar("T")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MAX_DESCRIPTION = 4000
_RETRIES = 5


def utcnow() -> dt.datetime:
    """The current time in UTC (a standalone function so that tests can replace it)."""
    return dt.datetime.now(dt.timezone.utc)


class Ledger:
    """A durable, append-only privacy-loss ledger that enforces the policies' budgets.

    Safe to share between threads; each process (kernel service worker, CLI, benchmark
    client) opens its own.

    Args:
        url: SQLAlchemy URL (``sqlite:////srv/lab/vault/ledger.sqlite`` or
            ``postgresql+psycopg://...``); see lab.settings ``ledger_url``.
        busy_timeout: seconds to wait for the write lock before failing with LedgerUnavailable.
        clock: returns the current UTC time (injected by tests).
    """

    def __init__(self, url: str, *, busy_timeout: float = 30.0, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.url = url
        self._clock = clock
        self._engine = ledger_db.make_engine(url, busy_timeout=busy_timeout)
        self._queue = ledger_db.writer_queue(url)

    def close(self) -> None:
        """Close the ledger's database connections."""
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- setup ---------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create the ledger's tables (and, for SQLite, its directory, mode 0700) if missing.

        Raises:
            LedgerError: the database holds a ledger of a newer schema version.
        """
        path = ledger_db.sqlite_path(self.url)
        if path is not None and not path.exists():
            # The vault's account alone may read the ledger (SQLite gives its -wal and -shm files the same mode).
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        with self._database("prepare the ledger's tables"):
            ledger_db.prepare_database(self._engine)
            metadata.create_all(self._engine)
            with ledger_db.write_transaction(self._engine) as conn:
                ledger_limits.ensure_schema_version(conn)

    def sync_policies(self, policies: Mapping[str, Policy], *, actor: str = "policy") -> list[str]:
        """Take budget limits from the policies; record every change as a ``policy`` entry.

        ``policies`` is the complete set (as ``lab.policies.load_policies`` returns it): a
        dataset the ledger knows but the mapping lacks is retired, and reservations on it are
        refused until its policy returns. Changing a limit never touches history or spending.

        Returns:
            One line per change, for people (empty when nothing changed).
        """
        limits = {name: ledger_limits.limits_of(policy) for name, policy in policies.items()}
        actor = _name(actor, "actor")
        return self._write("apply the policies' budgets",
                           lambda conn: ledger_limits.apply_limits(conn, limits, actor, self._now(), retire=True))

    def sync_policy(self, policy: Policy, *, actor: str = "policy") -> list[str]:
        """Take one dataset's budget limits from its policy (other datasets untouched, none retired)."""
        limits = {policy.dataset: ledger_limits.limits_of(policy)}
        actor = _name(actor, "actor")
        return self._write("apply the policy's budgets",
                           lambda conn: ledger_limits.apply_limits(conn, limits, actor, self._now(), retire=False))

    def set_limits(self, dataset: str, *, dataset_epsilon: Amount, user_epsilon: Amount, query_epsilon_max: Amount,
                   group_epsilon: Mapping[str, Amount] | None = None, owner: str = "",
                   actor: str = "policy") -> list[str]:
        """Set one dataset's limits directly (what ``sync_policies`` does for each policy).

        Useful for tests, benchmarks and tools that have no policy file; other datasets are untouched.
        """
        limits = ledger_limits.DatasetLimits.build(dataset, dataset_epsilon=dataset_epsilon, user_epsilon=user_epsilon,
                                                 query_epsilon_max=query_epsilon_max,
                                                 group_epsilon=group_epsilon or {}, owner=owner)
        actor = _name(actor, "actor")
        return self._write("set the dataset's budgets",
                           lambda conn: ledger_limits.apply_limits(conn, {dataset: limits}, actor, self._now(),
                                                                 retire=False))

    # -- reserve, release, record ----------------------------------------------------------

    def reserve(self, *, user: str, groups: Sequence[str], dataset: str, epsilon: Amount, kind: str,
                description: Mapping[str, Any]) -> Reservation:
        """Charge ``epsilon`` to every budget that applies, or refuse without charging anything.

        Args:
            user: the authenticated user (from the hub, never from the request body).
            groups: the user's groups; each that has an allowance in the policy is charged too.
            dataset: the dataset the release derives from.
            epsilon: the release's privacy loss, priced with OpenDP's maps before running it.
            kind: what is released: ``dp_query``, ``dp_twin``, ``hackathon_score``, ...
            description: a short JSON description of the query (never data values).

        Returns:
            The reservation: release through an OpenDP context of exactly ``epsilon``, then
            call ``record``.

        Raises:
            InvalidAmount: epsilon is not a positive multiple of 1e-12.
            DatasetNotFound: no policy gives the dataset budgets.
            QueryCapExceeded, BudgetFrozen, BudgetExceeded: refused; nothing was charged.
            LedgerUnavailable: the database could not be reached or stayed locked.
        """
        units = to_units(epsilon)
        user = _name(user, "user")
        member_of = sorted({_name(g, "group") for g in groups})
        kind = _kind(kind)
        text = _description(description)

        def charge(conn: Connection) -> Reservation:
            settings = _dataset_row(conn, dataset)
            if units > settings.query_cap_units:
                raise QueryCapExceeded(dataset, from_units(units), from_units(settings.query_cap_units))
            ledger_db.insert_ignoring_duplicates(conn, budgets_t, dict(
                dataset=dataset, scope="user", holder=user, policy_units=settings.user_units,
                topup_units=0, spent_units=0, frozen=False))
            pools = lock_pools(conn, select(budgets_t).where(
                budgets_t.c.dataset == dataset,
                or_(budgets_t.c.scope == "dataset",
                    and_(budgets_t.c.scope == "user", budgets_t.c.holder == user),
                    and_(budgets_t.c.scope == "group", budgets_t.c.holder.in_(member_of),
                         budgets_t.c.policy_units.is_not(None)))))
            frozen = [budget_label(p.scope, p.holder) for p in pools if p.frozen]
            if frozen:
                raise BudgetFrozen(dataset, frozen, settings.owner)
            short = [_shortfall(p, units) for p in pools if p.spent + units > p.limit]
            if short:
                raise BudgetExceeded(dataset, short, settings.owner)
            now = self._now()
            entry_id = new_entry(conn, at=now, action="reserve", actor=user, dataset=dataset, kind=kind, units=units,
                                 groups=json.dumps(member_of), description=text)
            charge_pools(conn, entry_id, pools, spent=units)
            return Reservation(entry_id, user, dataset, from_units(units), kind, now)

        reservation = self._write("reserve privacy budget", charge)
        log.info("Reserved %s epsilon on %r for %r (reservation %d)", reservation.epsilon, dataset, user,
                 reservation.id)
        return reservation

    def record(self, reservation_id: int, outcome: Literal["released", "failed"],
               detail: Mapping[str, Any] | None = None) -> Entry:
        """Append the outcome of a reservation. The charge stands whatever the outcome.

        Args:
            reservation_id: ``Reservation.id``.
            outcome: ``released`` (the answer left the vault) or ``failed`` (it did not;
                the privacy loss may still have happened, so nothing is refunded. An admin
                can top up if a failure is known to have touched no data).
            detail: optional short JSON detail (an error code, a release id); no data values.

        Raises:
            ReservationNotFound: no reservation has that id.
            OutcomeAlreadyRecorded: the reservation already has an outcome.
        """
        if outcome not in OUTCOMES:
            raise InvalidLedgerInput(f"outcome={outcome!r} is not one of {', '.join(OUTCOMES)}. "
                                     "Fix: record 'released' after a release and 'failed' otherwise.")
        text = _description({"outcome": outcome, "detail": dict(detail or {})})

        def append(conn: Connection) -> Entry:
            reservation = conn.execute(select(entries_t).where(entries_t.c.id == reservation_id,
                                                               entries_t.c.action == "reserve")).one_or_none()
            if reservation is None:
                raise ReservationNotFound(f"no reservation has id {reservation_id}. "
                                          "Fix: pass the id of the Reservation that reserve() returned.")
            if conn.execute(select(entries_t.c.id).where(entries_t.c.reservation_id == reservation_id)).first():
                raise OutcomeAlreadyRecorded(f"reservation {reservation_id} already has an outcome; "
                                             "outcomes are never rewritten.")
            try:
                entry_id = new_entry(conn, at=self._now(), action="outcome", actor=reservation.actor,
                                     dataset=reservation.dataset, kind=reservation.kind, units=0,
                                     groups=reservation.groups, description=text, reservation_id=reservation_id)
            except IntegrityError:  # a concurrent outcome for the same reservation won the race
                raise OutcomeAlreadyRecorded(f"reservation {reservation_id} already has an outcome; "
                                             "outcomes are never rewritten.") from None
            # Read back in the same transaction: one round trip fewer per query.
            [entry] = load_entries(conn, entry_id=entry_id)
            return entry

        # Not fsynced: if a power cut loses the outcome, the reservation reads "kept" (safe).
        return self._write("record the outcome", append, durable=False)

    # -- admin actions -----------------------------------------------------------------------

    def top_up(self, *, dataset: str, epsilon: Amount, reason: str, actor: str, user: str | None = None,
               group: str | None = None) -> Entry:
        """Add ``epsilon`` to one budget: a user's, a group's, or (neither given) the dataset's.

        Raises:
            InvalidAmount, InvalidLedgerInput: bad amount, reason or names.
            DatasetNotFound: the dataset has no policy; LedgerError: the group has no allowance.
        """
        units = to_units(epsilon)
        return self._admin("top_up", dataset, reason, actor, user, group, units)

    def freeze(self, *, dataset: str, reason: str, actor: str, user: str | None = None,
               group: str | None = None) -> Entry:
        """Freeze one budget (neither user nor group: the whole dataset); its reservations are refused."""
        return self._admin("freeze", dataset, reason, actor, user, group, 0)

    def unfreeze(self, *, dataset: str, reason: str, actor: str, user: str | None = None,
                 group: str | None = None) -> Entry:
        """Lift a freeze set by ``freeze``."""
        return self._admin("unfreeze", dataset, reason, actor, user, group, 0)

    # -- reading -----------------------------------------------------------------------------

    def budgets(self, dataset: str | None = None, user: str | None = None,
                groups: Sequence[str] = ()) -> list[BudgetStatus]:
        """Where budgets stand: every budget, or those that apply to ``user`` and ``groups``.

        A user who has not spent anything yet still gets their full allowance listed.
        """
        with self._database("read the budgets"), ledger_db.read_transaction(self._engine) as conn:
            return load_budgets(conn, dataset=dataset, user=user, groups=tuple(groups))

    def history(self, user: str | None = None, dataset: str | None = None) -> list[Entry]:
        """Journal entries, oldest first: all, or those by or about ``user`` and/or on ``dataset``."""
        with self._database("read the ledger"), ledger_db.read_transaction(self._engine) as conn:
            return load_entries(conn, user=user, dataset=dataset)

    def count_reservations(self, *, user: str, dataset: str, kind: str, since: dt.datetime) -> int:
        """How many reservations of ``kind`` ``user`` made on ``dataset`` since ``since`` (for daily quotas)."""
        since_utc = since.astimezone(dt.timezone.utc).replace(tzinfo=None)
        query = (select(func.count()).select_from(entries_t)
                 .where(entries_t.c.actor == user, entries_t.c.dataset == dataset, entries_t.c.action == "reserve",
                        entries_t.c.kind == kind, entries_t.c.at >= since_utc))
        with self._database("count reservations"), ledger_db.read_transaction(self._engine) as conn:
            return int(conn.execute(query).scalar_one())

    def export_csv(self, fp: IO[str], *, user: str | None = None, dataset: str | None = None) -> int:
        """Write the journal (or part of it) as CSV; returns the number of entries."""
        return ledger_export.write_csv(self.history(user=user, dataset=dataset), fp)

    def export_json(self, fp: IO[str], *, user: str | None = None, dataset: str | None = None) -> int:
        """Write the journal (or part of it) as versioned JSON; returns the number of entries."""
        return ledger_export.write_json(self.history(user=user, dataset=dataset), fp, exported_at=self._now())

    def check_consistency(self) -> list[str]:
        """Audit the ledger; returns one line per problem (an empty list means consistent).

        Checks that every budget's totals equal the sum of its journal lines, that every
        line's running total follows from the ones before it, that no charge took a budget
        over its limit at the time, and that every outcome settles an existing reservation.
        """
        with self._database("audit the ledger"), ledger_db.read_transaction(self._engine) as conn:
            return consistency_problems(conn)

    # -- internals ---------------------------------------------------------------------------

    def _admin(self, action: str, dataset: str, reason: str, actor: str, user: str | None, group: str | None,
               units: int) -> Entry:
        actor = _name(actor, "actor")
        if user is not None and group is not None:
            raise InvalidLedgerInput("name a user or a group, not both (neither means the whole dataset).")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidLedgerInput("a reason is required for every admin action. Fix: say why, "
                                     "for example 'approved extra analysis, ticket 123'.")
        scope, holder = ("user", _name(user, "user")) if user is not None else (
            ("group", _name(group, "group")) if group is not None else ("dataset", ""))
        text = _description({"reason": reason.strip()[:500]})

        def apply(conn: Connection) -> int:
            settings = _dataset_row(conn, dataset)
            pool = lock_pool(conn, dataset, scope, holder, settings.user_units)
            if pool is None:
                raise LedgerError(f"group '{holder}' has no allowance on dataset '{dataset}', so there is nothing "
                                  f"to {action.replace('_', ' ')}. Fix: give it one in the policy "
                                  "(budgets.group_epsilon), or act on the user or the dataset.")
            entry_id = new_entry(conn, at=self._now(), action=action, actor=actor, dataset=dataset, kind=None,
                                 units=units, groups="[]", description=text)
            charge_pools(conn, entry_id, [pool], topup=units,
                         frozen={"freeze": True, "unfreeze": False}.get(action))
            return entry_id

        entry_id = self._write(action.replace("_", " "), apply)
        log.info("%s by %r on %r (%s %r): entry %d", action, actor, dataset, scope, holder, entry_id)
        return self._entry(entry_id)

    def _entry(self, entry_id: int) -> Entry:
        with self._database("read the ledger"), ledger_db.read_transaction(self._engine) as conn:
            [entry] = load_entries(conn, entry_id=entry_id)
            return entry

    def _now(self) -> dt.datetime:
        return self._clock().astimezone(dt.timezone.utc)

    def _write(self, what: str, body: Callable[[Connection], T], *, durable: bool = True) -> T:
        """Run ``body`` in a write transaction, retrying when PostgreSQL asks for it."""
        for attempt in range(1, _RETRIES + 1):
            try:
                with self._database(what, retrying=attempt < _RETRIES), \
                        ledger_db.write_transaction(self._engine, durable=durable, queue=self._queue) as conn:
                    return body(conn)
            except _Retry:
                log.info("Retrying %s after a deadlock or serialization failure (attempt %d)", what, attempt)
        raise AssertionError("unreachable")

    @contextmanager
    def _database(self, what: str, retrying: bool = False) -> Iterator[None]:
        """Turn database failures into LedgerUnavailable; the database's message goes to the log only."""
        try:
            yield
        except DBAPIError as exc:
            if retrying and ledger_db.is_retryable(exc):
                raise _Retry() from exc
            log.error("The ledger could not %s: %s", what, exc)
            raise LedgerUnavailable(
                f"The privacy ledger could not {what} (database error; details are in the vault's log). "
                "Nothing was released; if this was a reservation, it was not granted. Try again shortly, and "
                "tell the lab's admins if it persists.") from exc


class _Retry(Exception):
    """Internal signal: run the transaction again."""


def _dataset_row(conn: Connection, dataset: str) -> Any:
    row = conn.execute(select(datasets_t).where(datasets_t.c.dataset == dataset)).one_or_none()
    if row is None or row.retired:
        raise DatasetNotFound(f"no policy gives dataset '{dataset}' a privacy budget, so it cannot be queried. "
                              "Fix: check the dataset's name (`lab budget show`), or ask an admin to add its policy.")
    return row


def _shortfall(pool: Pool, units: int) -> Shortfall:
    return Shortfall(budget=budget_label(pool.scope, pool.holder), scope=pool.scope, holder=pool.holder,
                     limit=from_units(pool.limit), spent=from_units(pool.spent),
                     remaining=from_units(max(pool.limit - pool.spent, 0)), requested=from_units(units))


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 255 or not value.isprintable():
        raise InvalidLedgerInput(f"{what}={value!r} is not a usable name. Fix: pass the non-empty "
                                 f"{what} name (printable text, at most 255 characters).")
    return value.strip()


def _kind(value: object) -> str:
    if not isinstance(value, str) or not _KIND.match(value):
        raise InvalidLedgerInput(f"kind={value!r} is not a release kind. Fix: use lower-case letters, digits "
                                 "and '_', such as 'dp_query', 'dp_twin' or 'hackathon_score'.")
    return value


def _description(value: object) -> str:
    if not isinstance(value, Mapping):
        raise InvalidLedgerInput("description must be a dict describing the release (JSON types only).")
    try:
        text = json.dumps(dict(value), sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidLedgerInput(f"description cannot be stored as JSON ({exc}). Fix: use only strings, "
                                 "numbers, booleans, lists and dicts.") from None
    if len(text) > _MAX_DESCRIPTION:
        raise InvalidLedgerInput(f"description is {len(text)} characters of JSON; the limit is {_MAX_DESCRIPTION}. "
                                 "Fix: describe the query, not its data.")
    return text

