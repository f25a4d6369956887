"""Admission control: who may run what, when, so that one user cannot take the vault down.

Work runs in *lanes*, each a fixed number of threads with a bounded, time-limited wait:
``query`` (DP queries) and ``preview`` (free previews on twins). Previews never take a
query thread, and a preview starts only while no DP query runs or waits (the preview lane
*yields* to the query lane): on two cores, a heavy preview next to a release would slow
the release down, so DP queries keep their speed while previews queue. Before a request
enters a lane, the caller's own limits are checked: how fast they send (a token bucket)
and how many of their requests are in flight in that lane. Of those, only a few run at
once (the rest wait their turn), so one user cannot hold every thread of a lane. A
request refused here ran nothing and charged nothing:

* 429 ``TooManyRequests`` (with ``Retry-After``): the caller's own rate or requests in flight;
* 503 ``VaultBusy`` (with ``Retry-After``): the lane's wait is full, or the request waited
  longer than the lane's timeout (so every request is answered or refused in bounded time).

:class:`Admission` also counts refusals by type and reports the lanes' saturation for
``api/health`` and the admin dashboard.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Iterator, TypeVar

from lab.settings import LabSettings
from lab.vault.service.errors import TooManyRequests, VaultBusy

T = TypeVar("T")


@dataclass(frozen=True)
class AdmissionLimits:
    """Per-user and per-lane limits (settings ``vault_*``, see docs/vault.md "Limits")."""

    queue_limit: int = 16
    queue_timeout_s: float = 6.0
    user_concurrency: int = 2
    user_in_flight: int = 8
    user_rate_per_s: float = 20.0
    user_burst: int = 60

    @classmethod
    def from_settings(cls, settings: LabSettings) -> AdmissionLimits:
        return cls(queue_limit=settings.vault_queue_limit, queue_timeout_s=settings.vault_queue_timeout_s,
                   user_concurrency=settings.vault_user_concurrency, user_in_flight=settings.vault_user_in_flight,
                   user_rate_per_s=settings.vault_user_rate_per_s,
                   user_burst=settings.vault_user_burst)


class Lane:
    """A fixed number of threads (an executor) with a FIFO wait bounded in length and time.

    Args:
        yields_to: a lane whose work goes first: this lane's work starts only while that
            lane has nothing running or waiting (within this lane's timeout).
    """

    def __init__(self, name: str, executor: Executor, workers: int, limits: AdmissionLimits,
                 yields_to: Lane | None = None) -> None:
        self.name = name
        self.executor = executor
        self.workers = workers
        self.limits = limits
        self.yields_to = yields_to
        self.waiting = 0
        self.running = 0
        self._slots: asyncio.Semaphore | None = None

    async def run(self, fn: Callable[..., T], *args: Any, turn: asyncio.Semaphore | None = None) -> T:
        """Wait for the caller's ``turn`` and a thread of the lane (or refuse), then run ``fn(*args)``.

        The whole wait is bounded by the lane's timeout.
        """
        if self._slots is None:  # made on the IOLoop's own event loop
            self._slots = asyncio.Semaphore(self.workers)
        if self.waiting >= self.limits.queue_limit:
            raise VaultBusy(f"the vault's {self.name} lane is full ({self.waiting} requests already wait).",
                            retry_after=self._retry_after())
        deadline = time.monotonic() + self.limits.queue_timeout_s
        held: list[asyncio.Semaphore] = []
        self.waiting += 1
        try:
            for semaphore in (turn, self._slots):
                if semaphore is not None:
                    await asyncio.wait_for(semaphore.acquire(), max(0.0, deadline - time.monotonic()))
                    held.append(semaphore)
            while self.yields_to is not None and (self.yields_to.running or self.yields_to.waiting):
                if time.monotonic() >= deadline:
                    raise TimeoutError
                await asyncio.sleep(0.01)
        except TimeoutError:
            for semaphore in held:
                semaphore.release()
            raise VaultBusy(f"the vault's {self.name} lane stayed busy for {self.limits.queue_timeout_s:g} s; "
                            "the request was not run.", retry_after=self._retry_after()) from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, partial(fn, *args))
        finally:
            self.running -= 1
            for semaphore in held:
                semaphore.release()

    def _retry_after(self) -> int:
        return max(1, math.ceil(self.limits.queue_timeout_s / 2))

    def status(self) -> dict[str, int]:
        return {"workers": self.workers, "running": self.running, "waiting": self.waiting,
                "queue_limit": self.limits.queue_limit}


class _Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` saved."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> float:
        """0 if a token was taken, else the seconds until one is due."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Admission:
    """The lanes, each user's limits in them, and the counts of refusals by type."""

    def __init__(self, lanes: dict[str, Lane], limits: AdmissionLimits) -> None:
        self.lanes = lanes
        self.limits = limits
        self.refusals: Counter[str] = Counter()
        self._in_flight: Counter[tuple[str, str]] = Counter()
        self._turns: dict[tuple[str, str], asyncio.Semaphore] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    async def run(self, lane: str, user: str, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in ``lane`` for ``user``, or refuse (429, 503) without running it."""
        with self._admitted(lane, user):
            turn = self._turns.get((lane, user))
            if turn is None:
                turn = self._turns[(lane, user)] = asyncio.Semaphore(self.limits.user_concurrency)
            return await self.lanes[lane].run(fn, *args, turn=turn)

    @contextmanager
    def _admitted(self, lane: str, user: str) -> Iterator[None]:
        wait = self._bucket(user).take()
        if wait > 0:
            raise TooManyRequests(f"you ({user}) are sending more than {self.limits.user_rate_per_s:g} previews and "
                                  "queries a second.", retry_after=math.ceil(wait))
        key = (lane, user)
        if self._in_flight[key] >= self.limits.user_in_flight:
            raise TooManyRequests(f"you ({user}) already have {self._in_flight[key]} {lane} requests running or "
                                  f"waiting; the limit is {self.limits.user_in_flight} at once.")
        self._in_flight[key] += 1
        try:
            yield
        finally:
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]
                self._turns.pop(key, None)  # nobody holds or waits for it now

    def _bucket(self, user: str) -> _Bucket:
        bucket = self._buckets.get(user)
        if bucket is None:
            if len(self._buckets) > 10_000:  # forget idle callers (their buckets are full anyway)
                self._buckets.clear()
            bucket = self._buckets[user] = _Bucket(self.limits.user_rate_per_s, self.limits.user_burst)
        return bucket

    def note_refusal(self, kind: str) -> None:
        """Count one refused request by its error type (for health and the dashboard)."""
        with self._lock:
            self.refusals[kind] += 1

    def health(self) -> dict[str, Any]:
        """Saturation: each lane's threads, running and waiting requests; memory; refusals by type."""
        with self._lock:
            refusals = dict(sorted(self.refusals.items()))
        return {"lanes": {name: lane.status() for name, lane in self.lanes.items()},
                "queued": sum(lane.waiting for lane in self.lanes.values()),
                "memory_rss_bytes": rss_bytes(), "refusals": refusals}


def rss_bytes() -> int:
    """This process's resident memory (Linux ``/proc``; the peak from ``getrusage`` elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
