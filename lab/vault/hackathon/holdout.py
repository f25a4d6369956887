"""The event's holdout: real rows scored by the event, split into public and private.

Membership is decided **row by row, from the row's own identity**, so that it is sound
for differential privacy: each row's identity (the columns ``holdout.identity`` of the
event names, else the table's primary key, else every column) is hashed with
HMAC-SHA256 under a secret key of the event, and the hash, read as a number in [0, 1),
says whether the row is held out (below ``synthesis.holdout_fraction``) and, with a
second hash, whether it is public (below ``holdout.public_fraction``). Adding or removing
one person (up to ``max_rows_per_person`` rows) therefore changes only that person's rows
in either part, which is exactly the neighbouring relation the score's OpenDP
measurement is priced for (docs/hackathon.md, "What a score's privacy claim rests on").
Drawing membership by row position instead (as a seeded ``rng.random(rows)`` did) shifts
every later row when one person is added, and the DP claim no longer holds.

The key (32 random bytes) is made by the vault the first time the event's holdout is
loaded and kept in ``<vault>/hackathon/<event>/holdout.key`` (0600, the vault's account):
without it nobody can tell which real rows score which part. Only vault code reads this
module's output.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lab.hackathon.grid import grid_cells
from lab.hackathon.model import Event
from lab.policies.model import Policy
from lab.vault import query_errors as qe


@dataclass(frozen=True)
class Holdout:
    """Held-out real rows reduced to what scoring needs (never leaves the vault).

    Attributes:
        cells: per row, the index of its grid cell (-1: a value outside the public categories).
        target: per row, the real target value.
        public: per row, whether it belongs to the public part.
        cell_ids: the grid's cell ids, in order.
    """

    cells: np.ndarray
    target: np.ndarray
    public: np.ndarray
    cell_ids: tuple[str, ...]

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(cells, target) of the ``public`` or ``private`` part."""
        mask = self.public if name == "public" else ~self.public
        return self.cells[mask], self.target[mask]


#: Length of a new event key, in bytes.
KEY_BYTES = 32


def holdout_key(directory: Path) -> bytes:
    """The event's secret membership key, made on first use (``<directory>/holdout.key``, 0600).

    Made with O_EXCL, so two vault processes cannot each make their own; never changed
    afterwards (a new key would move rows between the parts in the middle of an event).
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "holdout.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) < 16:
            raise qe.DatasetUnavailable("the event's holdout key is damaged: ask the vault's administrator.") from None
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return key
    with os.fdopen(fd, "wb") as fp:
        fp.write(secrets.token_bytes(KEY_BYTES))
        fp.flush()
        os.fsync(fp.fileno())
    return path.read_bytes()


def identity_columns(event: Event, policy: Policy) -> list[str]:
    """The columns whose values identify a row's person (see the module's docstring)."""
    table = policy.tables[event.task.table]
    if event.holdout.identity:
        return list(event.holdout.identity)
    if table.primary_key:
        return [table.primary_key]
    return list(table.columns)


def membership(key: bytes, purpose: str, identities: Iterable[Sequence[object]]) -> np.ndarray:
    """Per row, HMAC-SHA256(key, purpose + identity) read as a number in [0, 1).

    Each value depends on that row's identity only: the property the DP claim needs.

    >>> u = membership(b"k" * 32, "holdout", [(1,), (2,)])
    >>> u.shape, bool(((0 <= u) & (u < 1)).all())
    ((2,), True)
    """
    prefix = purpose.encode() + b"\0"
    values = [int.from_bytes(hmac.new(key, prefix + _identity_bytes(row), hashlib.sha256).digest()[:8], "big")
              for row in identities]
    return np.array(values, dtype=np.float64) / 2.0**64


def _identity_bytes(row: Sequence[object]) -> bytes:
    return json.dumps([_plain(v) for v in row], default=str, separators=(",", ":"), ensure_ascii=False).encode()


def held_out_mask(key: bytes, identities: Iterable[Sequence[object]], fraction: float) -> np.ndarray:
    """Which rows are held out (True): those whose keyed hash falls below ``fraction``."""
    return membership(key, "holdout", identities) < fraction


def public_mask(key: bytes, identities: Iterable[Sequence[object]], fraction: float) -> np.ndarray:
    """Which held-out rows score the public leaderboard (True); the others, the private one."""
    return membership(key, "public", identities) < fraction


def load_holdout(event: Event, policy: Policy, data_dir: Path, key: bytes) -> Holdout:
    """Read the real table and derive the event's holdout (see the module's docstring).

    Raises:
        DatasetUnavailable: the real data cannot be read (the reason goes to the log only).
    """
    task = event.task
    table = policy.tables[task.table]
    path = data_dir / table.path
    identity = identity_columns(event, policy)
    columns = list(dict.fromkeys([*task.features, task.target, *identity]))
    try:
        if (table.format or ("csv" if path.suffix.lower() == ".csv" else "parquet")) == "csv":
            frame = pd.read_csv(path, usecols=columns)
        else:
            frame = pd.read_parquet(path, columns=columns)
    except Exception:  # noqa: BLE001 - the reader's message may quote the file: never shown
        raise qe.DatasetUnavailable(f"dataset '{task.dataset}' cannot be read by the vault right now.") from None
    identities = list(zip(*(frame[name] for name in identity)))
    held = held_out_mask(key, identities, policy.synthesis.holdout_fraction)
    public_all = public_mask(key, identities, event.holdout.public_fraction)
    keep = held & frame[task.target].notna().to_numpy()
    frame = frame[keep].reset_index(drop=True)
    cells = grid_cells(table.columns, task.features)
    index = {tuple(values.values()): i for i, (_, values) in enumerate(cells)}
    keys = zip(*(frame[name].map(_plain) for name in task.features))
    cell_of = np.fromiter((index.get(key, -1) for key in keys), dtype=np.int64, count=len(frame))
    public = public_all[keep]
    target = frame[task.target].map(_plain).to_numpy(dtype=object)
    return Holdout(cells=cell_of, target=target, public=public, cell_ids=tuple(cid for cid, _ in cells))


def _plain(value: object) -> object:
    """A cell key from a data value: numpy scalars as Python ones, missing as None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
