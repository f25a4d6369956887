"""Where the vault keeps an event's scored submissions and its final ranking.

One JSON-lines file per event under the vault's own directory (never readable by users),
appended once per scored submission, and one JSON file written once at the close. The
predictions are the team's own (no real data); scores are already-released DP values.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any


class EventStore:
    """The scored submissions and the final ranking of one event."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def _submissions(self) -> Path:
        return self.directory / "submissions.jsonl"

    @property
    def _final(self) -> Path:
        return self.directory / "final.json"

    def submissions(self, team: str | None = None) -> list[dict[str, Any]]:
        """Every scored submission (of ``team``), oldest first."""
        if not self._submissions.exists():
            return []
        with self._submissions.open(encoding="utf-8") as fp:
            rows = [json.loads(line) for line in fp if line.strip()]
        return [r for r in rows if team is None or r["team"] == team]

    def submissions_on(self, team: str, day: dt.date) -> int:
        """How many of ``team``'s submissions were scored on UTC ``day``."""
        return sum(1 for r in self.submissions(team) if dt.datetime.fromisoformat(r["at"]).date() == day)

    def append(self, record: dict[str, Any]) -> None:
        """Add one scored submission (flushed and synced: a score is paid for)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._submissions.open("a", encoding="utf-8") as fp:
            fp.write(json.dumps(record, sort_keys=True) + "\n")
            fp.flush()
            os.fsync(fp.fileno())

    def final(self) -> dict[str, Any] | None:
        """The final ranking, once computed."""
        if not self._final.exists():
            return None
        return json.loads(self._final.read_text(encoding="utf-8"))

    def write_final(self, document: dict[str, Any]) -> None:
        """Write the final ranking once (temp file and rename, so it is whole or absent)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".final-")
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            json.dump(document, fp, sort_keys=True)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, self._final)
