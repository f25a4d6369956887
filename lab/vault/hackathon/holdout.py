"""The event's holdout: real rows the twin was not trained on, split into public and private.

Holdouts are not stored by the twin pipeline, so the vault derives them again, the way
``synth.pipeline`` draws them: ``numpy.random.default_rng(seed).random(rows) < fraction``
over the real table in its stored order, with the seed and fraction of the dataset's
policy (``synthesis.seed`` and ``synthesis.holdout_fraction``: the ones the twin was built
with). Those held-out rows are split again, with the event's own seed, into the public
and the private part. Only vault code reads this module's output.
"""

from __future__ import annotations

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


def held_out_mask(rows: int, seed: int, fraction: float) -> np.ndarray:
    """Which rows the twin pipeline held out (True) for a table of ``rows`` rows.

    >>> held_out_mask(5, 0, 0.5).tolist()
    [False, True, True, True, False]
    """
    return np.random.default_rng(seed).random(rows) < fraction


def load_holdout(event: Event, policy: Policy, data_dir: Path) -> Holdout:
    """Read the real table and derive the event's holdout (see the module's docstring).

    Raises:
        DatasetUnavailable: the real data cannot be read (the reason goes to the log only).
    """
    task = event.task
    table = policy.tables[task.table]
    path = data_dir / table.path
    columns = [*task.features, task.target]
    try:
        if (table.format or ("csv" if path.suffix.lower() == ".csv" else "parquet")) == "csv":
            frame = pd.read_csv(path, usecols=columns)
        else:
            frame = pd.read_parquet(path, columns=columns)
    except Exception:  # noqa: BLE001 - the reader's message may quote the file: never shown
        raise qe.DatasetUnavailable(f"dataset '{task.dataset}' cannot be read by the vault right now.") from None
    held = held_out_mask(len(frame), policy.synthesis.seed, policy.synthesis.holdout_fraction)
    frame = frame[held].reset_index(drop=True)
    frame = frame[frame[task.target].notna()].reset_index(drop=True)
    cells = grid_cells(table.columns, task.features)
    index = {tuple(values.values()): i for i, (_, values) in enumerate(cells)}
    keys = zip(*(frame[name].map(_plain) for name in task.features))
    cell_of = np.fromiter((index.get(key, -1) for key in keys), dtype=np.int64, count=len(frame))
    public = np.random.default_rng(event.holdout.seed).random(len(frame)) < event.holdout.public_fraction
    target = frame[task.target].map(_plain).to_numpy(dtype=object)
    return Holdout(cells=cell_of, target=target, public=public, cell_ids=tuple(cid for cid, _ in cells))


def _plain(value: object) -> object:
    """A cell key from a data value: numpy scalars as Python ones, missing as None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
