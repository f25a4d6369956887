"""An abuse load on a running vault service, shared by the abuse test and benchmarks/abuse_bench.py.

While an analyst runs DP queries one after another, several twin-only users send free
previews as large as the spec allows (several at once each), a flooder sends DP queries
at a tiny epsilon and at the floor as fast as it can, and a fuzzer sends malformed bodies
(huge integers, deep nesting, long strings, bad UTF-8). The report says what a user and an
operator would notice: the analyst's latency, how long previews took to be answered or
refused, every status and refusal type, the vault's memory (RSS, sampled from /proc) and
whether its process survived.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from synth import bundle as bundles
from tests.support.vault_service import VaultService, VaultSite, VaultUser


def release_copy_as_twin(site: VaultSite, dataset: str, tables: dict[str, Any]) -> Path:
    """Release ``tables`` (pandas frames) as a twin bundle of ``dataset``: a fixture, not a twin."""
    version, staging = bundles.reserve_version(site.twins_dir / dataset, site.root / "vault" / "staging" / dataset)
    bundles.write_tables(staging, tables)
    bundles.write_manifest(staging, {"dataset": dataset, "version": version, "title": dataset, "owner": "tests",
                                     "description": "Test fixture.", "released": True,
                                     "built_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                                     "synthesizer": "none", "main_table": next(iter(tables)),
                                     "twin_rows": {n: len(t) for n, t in tables.items()}})
    return bundles.release(staging, site.twins_dir / dataset, version)


@dataclass
class AbuseReport:
    """What the abuse load saw."""

    dp_ms: list[float] = field(default_factory=list)
    dp_statuses: Counter[int] = field(default_factory=Counter)
    preview_ms: list[float] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    rss_peak_bytes: int = 0
    hwm_bytes: int = 0
    restarts: int = 0
    flood_reservations: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def status_500(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500 and status != 503) + \
            sum(n for status, n in self.dp_statuses.items() if status >= 500 and status != 503)


def p(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; NaN if there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def dp_latencies(service: VaultService, analyst: VaultUser, query: dict[str, Any], count: int,
                 report: AbuseReport | None = None, stop: threading.Event | None = None,
                 pause_s: float = 0.0) -> list[float]:
    """``count`` DP queries one after another, ``pause_s`` apart (a new epsilon each, so none is
    cached); their latencies in milliseconds."""
    latencies: list[float] = []
    with requests.Session() as session:
        for i in range(count):
            if stop is not None and stop.is_set():
                break
            epsilon = f"0.{100000 + len(latencies) + random.randrange(10**5):06d}"
            began = time.perf_counter()
            response = session.post(service.url + "api/query", json={**query, "epsilon": epsilon},
                                    headers={"Authorization": f"token {analyst.token}"}, timeout=120)
            elapsed = (time.perf_counter() - began) * 1000
            if report is not None:
                report.dp_statuses[response.status_code] += 1
            if response.status_code == 200:
                latencies.append(elapsed)
            elif report is not None:
                report.errors.append(f"analyst query {i}: {response.status_code} {response.text[:200]}")
            if pause_s:
                time.sleep(pause_s)
    return latencies


def fuzz_bodies(rng: random.Random, dataset: str) -> list[bytes]:
    """Malformed bodies: each must come back as a 4xx, never a 500."""
    return [
        b'{"dataset": "' + dataset.encode() + b'", "statistic": "count", "epsilon": ' + b"7" * 5000 + b"}",
        b"[" * 5000 + b"]" * 5000,
        b'{"dataset": "' + b"x" * 20000 + b'"}',
        b'{"dataset": "' + dataset.encode() + b'", "statistic": "count", "filters": [' +
        b",".join(b'{"column": "age", "op": "in", "value": [1]}' for _ in range(1500)) + b'], "epsilon": "0.1"}',
        b"\xff\xfe\x00{",
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))),
        b'{"dataset": "' + dataset.encode() + b'", "statistic": "mean", "column": "income", "bounds": [0, 1e999], '
        b'"epsilon": "1e-999999999"}',
        b'{"dataset": "' + dataset.encode() + b'", "statistic": "count", "epsilon": "' + b"9" * 900 + b'"}',
        b'{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": 1}}}}}}}}}}',
    ]


class AbuseLoad:
    """Runs the abuse for ``seconds``; :meth:`run` returns the report.

    Args:
        service: the running vault.
        analyst: may query ``dataset``; runs DP queries one after another.
        flooder: may query ``dataset``; sends tiny-epsilon and floor-epsilon DP queries.
        twin_users: see only the twin; send previews (``previews_at_once`` each) and malformed bodies.
        oversized: preview bodies, the largest a user can write (some over the limits).
        dp_query: the analyst's query (epsilon is added).
    """

    def __init__(self, service: VaultService, dataset: str, analyst: VaultUser, flooder: VaultUser,
                 twin_users: list[VaultUser], oversized: list[dict[str, Any]], dp_query: dict[str, Any],
                 *, previews_at_once: int = 8, floor: str = "0.01", seed: int = 0, pause_s: float = 0.0) -> None:
        self.service, self.dataset = service, dataset
        self.analyst, self.flooder, self.twin_users = analyst, flooder, twin_users
        self.oversized, self.dp_query = oversized, dp_query
        self.previews_at_once, self.floor, self.pause_s = previews_at_once, floor, pause_s
        self.rng = random.Random(seed)
        self.report = AbuseReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self, seconds: float) -> AbuseReport:
        pid = self.service.process.pid if self.service.process else 0
        starts = self.service.starts
        workers: list[Callable[[], None]] = [self._sample_memory, self._flood, self._analyst]
        for user in self.twin_users:
            workers += [lambda u=user: self._previews(u)] * self.previews_at_once
            workers.append(lambda u=user: self._fuzz(u))
        threads = [threading.Thread(target=self._guard(w), daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self._stop.set()
        for thread in threads:
            thread.join(timeout=120)
        process = self.service.process
        alive = process is not None and process.poll() is None and process.pid == pid
        self.report.restarts = (self.service.starts - starts) + (0 if alive else 1)
        self.report.hwm_bytes = _status_bytes(pid, "VmHWM:") if alive else 0
        self.report.flood_reservations = self._reservations(self.flooder)
        return self.report

    # -- the users -------------------------------------------------------------------------------

    def _analyst(self) -> None:
        self.report.dp_ms += dp_latencies(self.service, self.analyst, self.dp_query, 10**6, self.report, self._stop,
                                       self.pause_s)

    def _previews(self, user: VaultUser) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                body = self.rng.choice(self.oversized)
                began = time.perf_counter()
                response = self._post(session, user, "api/preview", json=body)
                if response is None:
                    continue
                elapsed = (time.perf_counter() - began) * 1000
                with self._lock:
                    self.report.preview_ms.append(elapsed)
                self._note("preview", response)
                self._backoff(response)

    def _flood(self) -> None:
        with requests.Session() as session:
            i = 0
            while not self._stop.is_set():
                epsilon = "0.000000000001" if i % 2 else self.floor
                response = self._post(session, self.flooder, "api/query",
                                      json={"dataset": self.dataset, "statistic": "count", "epsilon": epsilon})
                if response is not None:
                    self._note("flood", response)
                i += 1

    def _fuzz(self, user: VaultUser) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                for body in fuzz_bodies(self.rng, self.dataset):
                    route = self.rng.choice(["api/query", "api/preview"])
                    response = self._post(session, user, route, data=body)
                    if response is not None:
                        self._note("fuzz", response)
                    if self._stop.is_set():
                        return

    def _sample_memory(self) -> None:
        pid = self.service.process.pid if self.service.process else 0
        while not self._stop.is_set():
            rss = _status_bytes(pid, "VmRSS:")
            with self._lock:
                self.report.rss_peak_bytes = max(self.report.rss_peak_bytes, rss)
            time.sleep(0.1)

    # -- helpers ---------------------------------------------------------------------------------

    def _post(self, session: requests.Session, user: VaultUser, route: str, **kwargs: Any) -> requests.Response | None:
        headers = {"Authorization": f"token {user.token}", "Content-Type": "application/json"}
        try:
            return session.post(self.service.url + route, headers=headers, timeout=60, **kwargs)
        except requests.RequestException as exc:
            with self._lock:
                self.report.errors.append(f"{route} by {user.name}: {type(exc).__name__}")
            return None

    def _note(self, what: str, response: requests.Response) -> None:
        kind = "ok"
        if response.status_code != 200:
            try:
                kind = response.json()["error"]["type"]
            except (ValueError, KeyError, TypeError):
                kind = f"(not JSON, {response.status_code})"
        with self._lock:
            self.report.statuses[(what, response.status_code)] += 1
            if response.status_code != 200:
                self.report.refusals[kind] += 1
            if response.status_code >= 500 and response.status_code != 503:
                self.report.errors.append(f"{what}: {response.status_code} {response.text[:200]}")

    def _backoff(self, response: requests.Response) -> None:
        """A polite client waits as told; an abusive one (this) waits a tenth of it."""
        retry = response.headers.get("Retry-After")
        if response.status_code in (429, 503) and retry and retry.isdigit():
            self._stop.wait(int(retry) / 10)

    def _reservations(self, user: VaultUser) -> int:
        status, body = self.service.call("GET", f"api/history?dataset={self.dataset}", user.token)
        if status != 200:
            return -1
        return sum(1 for e in body["entries"] if e["action"] == "reserve")

    def _guard(self, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - a load thread's crash is a finding, not a test crash
                with self._lock:
                    self.report.errors.append(f"load thread failed: {type(exc).__name__}: {exc}")
        return run


def summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.1f} ms, p95 {p(values, 0.95):.1f} ms" if values else "(none)"


def _status_bytes(pid: int, key: str) -> int:
    """A ``/proc/PID/status`` figure (VmRSS, VmHWM) in bytes; 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0
