"""How many DP queries one user may make on a dataset per UTC day (the policy's
``budgets.queries_per_user_per_day``).

A flood of tiny queries costs almost no epsilon but a ledger row each: without a count the
ledger grows without bound. The count of the day is read from the ledger once per user,
dataset and day, then kept in memory; check and reserve run under one lock per user and
dataset, so concurrent queries of one user cannot pass the limit together. (Several vault
processes sharing a PostgreSQL ledger could pass it by at most one query each.)
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import TypeVar

from lab.vault.ledger import Ledger

R = TypeVar("R")

KIND = "dp_query"


class DailyLimit(Exception):
    """Raised by :meth:`DailyQuota.reserve` when the day's count is reached (the caller words the refusal)."""

    def __init__(self, limit: int, seconds_left: int) -> None:
        super().__init__(f"daily limit of {limit} reached")
        self.limit = limit
        self.seconds_left = seconds_left


class DailyQuota:
    """Counts each user's reservations per dataset and UTC day, and refuses past the limit."""

    def __init__(self, ledger: Ledger, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.ledger = ledger
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._counts: dict[tuple[str, str, dt.date], int] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def reserve(self, user: str, dataset: str, limit: int, reserve: Callable[[], R]) -> R:
        """Run ``reserve`` (the ledger's check-and-charge) if ``user`` has queries left today.

        Raises:
            DailyLimit: the day's count is reached; ``reserve`` was not called.
        """
        with self._lock(user, dataset):
            now = self._clock().astimezone(dt.timezone.utc)
            day = now.date()
            key = (user, dataset, day)
            count = self._counts.get(key)
            if count is None:
                midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)
                count = self.ledger.count_reservations(user=user, dataset=dataset, kind=KIND, since=midnight)
            if count >= limit:
                tomorrow = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.timezone.utc)
                raise DailyLimit(limit, int((tomorrow - now).total_seconds()) + 1)
            result = reserve()
            with self._guard:
                self._counts = {k: v for k, v in self._counts.items() if k[2] == day}  # forget other days
                self._counts[key] = count + 1
            return result

    def _lock(self, user: str, dataset: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((user, dataset), threading.Lock())
