"""Write the demo datasets as Parquet files where their policies expect them.

Each table goes to ``data_dir/<dataset>/<table>.parquet``, the path its policy in
``policies/`` names relative to the vault's data directory. Files are written whole or
not at all (a temporary file in the same directory, then a rename), readable by their
owner only, and directories are created with mode 0o700: the demo data stands in for
real personal data, so it is handled like it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from lab.demo.census import generate_census
from lab.demo.tax import generate_tax
from lab.demo.welfare import generate_welfare
from lab.errors import DatasetNotFound

log = logging.getLogger(__name__)

#: The demo datasets, each with a policy of the same name in policies/.
DEMO_DATASETS = ("census", "welfare", "tax")
#: Persons per household in the census demo, used to turn a row count into households.
PERSONS_PER_HOUSEHOLD = 2.4

_GENERATORS: dict[str, Callable[[int, int], dict[str, pd.DataFrame]]] = {
    "census": lambda rows, seed: generate_census(max(1, round(rows / PERSONS_PER_HOUSEHOLD)), seed),
    "welfare": lambda rows, seed: {"claims": generate_welfare(rows, seed)},
    "tax": lambda rows, seed: {"returns": generate_tax(rows, seed)},
}
_TABLES = {"census": ("households", "persons"), "welfare": ("claims",), "tax": ("returns",)}


def write_demo_datasets(data_dir: Path, *, rows: int = 20_000, seed: int = 0,
                        datasets: Sequence[str] | None = None, progress: bool = True) -> dict[str, list[Path]]:
    """Generate the demo datasets and write each table as ``data_dir/<dataset>/<table>.parquet``.

    Existing files are replaced atomically, so a reader never sees half a table.

    Args:
        data_dir: the vault's data directory (created with mode 0o700 if missing).
        rows: rows per dataset; for census, the approximate number of persons
            (households are ``rows / 2.4``).
        seed: the same seed always writes the same data.
        datasets: which of DEMO_DATASETS to write; all by default.
        progress: show a progress bar per dataset.

    Returns:
        The files written, by dataset, in table order.

    Raises:
        DatasetNotFound: a requested dataset is not a demo dataset.
        ValueError: ``rows`` is below 1.
    """
    chosen = list(DEMO_DATASETS if datasets is None else datasets)
    unknown = [name for name in chosen if name not in DEMO_DATASETS]
    if unknown:
        raise DatasetNotFound(f"no demo dataset named {', '.join(repr(n) for n in unknown)}. "
                              f"Fix: choose among {', '.join(DEMO_DATASETS)}.")
    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}. Fix: pass rows=1000 or more for a useful twin.")
    data_dir = Path(data_dir)
    written: dict[str, list[Path]] = {}
    for name in dict.fromkeys(chosen):
        with tqdm(total=1 + len(_TABLES[name]), desc=name, unit="step", disable=not progress) as bar:
            bar.set_postfix_str("generating")
            tables = _GENERATORS[name](rows, seed)
            bar.update()
            directory = data_dir / name
            _ensure_private_dir(directory)
            written[name] = []
            for table in _TABLES[name]:
                bar.set_postfix_str(f"writing {table}")
                path = directory / f"{table}.parquet"
                _write_parquet_atomically(tables[table], path)
                written[name].append(path)
                log.info("wrote demo table %s.%s (%d rows) to %s", name, table, len(tables[table]), path)
                bar.update()
    return written


def _ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` and any missing parents with mode 0o700; leave existing ones alone."""
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:  # created concurrently
            continue
        os.chmod(path, 0o700)  # the umask may have narrowed it further; never wider


def _write_parquet_atomically(frame: pd.DataFrame, path: Path) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0o600
    try:
        with os.fdopen(descriptor, "wb") as file:
            frame.to_parquet(file, index=False)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
