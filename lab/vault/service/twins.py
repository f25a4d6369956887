"""The released twins the service reads: which is latest, and its tables for previews.

Only the light ``synth.bundle`` is used (``lab.twins`` imports the whole SDV pipeline).
Previews use :meth:`TwinStore.scan` (a lazy scan, run by Polars' streaming engine, so no
twin is held in memory); :meth:`TwinStore.table` loads a whole table, cached by (dataset,
version, table) since a released bundle never changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from lab.errors import TwinNotFound
from synth import bundle as bundles
from synth.errors import BundleError

#: How many twin tables stay in memory for previews.
CACHE_SIZE = 8


@dataclass(frozen=True)
class TwinInfo:
    """A released twin bundle: its version, when it was built, where it is."""

    dataset: str
    version: str
    released_at: str
    path: Path


class TwinStore:
    """The released twins under ``twins_dir`` (``<twins_dir>/<dataset>/vNNNN``)."""

    def __init__(self, twins_dir: Path) -> None:
        self.twins_dir = Path(twins_dir)
        self._tables: OrderedDict[tuple[str, str, str], pl.DataFrame] = OrderedDict()
        self._lock = threading.Lock()

    def latest(self, dataset: str) -> TwinInfo | None:
        """The latest released twin of ``dataset``, or None if there is none (or it is unreadable)."""
        versions = bundles.released_versions(self.twins_dir / dataset)
        if not versions:
            return None
        path = self.twins_dir / dataset / versions[-1]
        try:
            manifest = bundles.read_manifest(path)
        except BundleError:
            return None
        return TwinInfo(dataset=dataset, version=versions[-1], released_at=str(manifest.get("built_at", "")),
                        path=path)

    def scan(self, dataset: str, table: str) -> tuple[TwinInfo, pl.LazyFrame, int]:
        """The latest twin's ``table`` as a lazy scan, with its row count (from the file's metadata).

        Previews run on the scan with Polars' streaming engine: no twin is held in memory,
        so memory does not grow with the twins' size nor with the number of previews.

        Raises:
            TwinNotFound: no released twin, or it has no such (readable) table.
        """
        twin = self.latest(dataset)
        if twin is None:
            raise TwinNotFound(f"no released twin of '{dataset}', so there is nothing to preview on. "
                               f"Fix: ask an admin to build one (`lab twin build {dataset}`).")
        path = twin.path / "data" / f"{table}.parquet"
        try:
            frame = pl.scan_parquet(path)
            rows = int(frame.select(pl.len()).collect().item())
        except (OSError, pl.exceptions.PolarsError):
            raise TwinNotFound(f"the twin {twin.version} of '{dataset}' has no readable table '{table}'. "
                               f"Fix: ask an admin to check it (`lab twin verify {dataset}`).") from None
        return twin, frame, rows

    def table(self, dataset: str, table: str) -> tuple[TwinInfo, pl.DataFrame]:
        """The latest twin's ``table``, as a data frame.

        Raises:
            TwinNotFound: no released twin, or it has no such table.
        """
        twin = self.latest(dataset)
        if twin is None:
            raise TwinNotFound(f"no released twin of '{dataset}', so there is nothing to preview on. "
                               f"Fix: ask an admin to build one (`lab twin build {dataset}`).")
        key = (dataset, twin.version, table)
        with self._lock:
            if key in self._tables:
                self._tables.move_to_end(key)
                return twin, self._tables[key]
        path = twin.path / "data" / f"{table}.parquet"
        try:
            frame = pl.read_parquet(path)
        except (OSError, pl.exceptions.PolarsError):
            raise TwinNotFound(f"the twin {twin.version} of '{dataset}' has no readable table '{table}'. "
                               f"Fix: ask an admin to check it (`lab twin verify {dataset}`).") from None
        with self._lock:
            self._tables[key] = frame
            while len(self._tables) > CACHE_SIZE:
                self._tables.popitem(last=False)
        return twin, frame
