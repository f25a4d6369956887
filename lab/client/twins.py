"""Load a synthetic twin from your read-only twins folder, as pandas or Polars.

Twins are files, not a service: the hub copies (or mounts, read-only) the twins your
groups may see into your twins folder, and this module only reads them. It never talks
to the vault and cannot reach real data.

Where: ``LAB_TWINS_DIR`` if set, else ``~/twins``.

Layouts understood, for a dataset ``welfare`` with one table ``claims``:

* **Released layout** (what ``lab twin build`` writes, and what the hub mounts)::

      <twins>/welfare/latest -> v0002          the newest release (a link)
      <twins>/welfare/v0002/manifest.json
      <twins>/welfare/v0002/data/claims.parquet   (and claims.csv)

  The ``latest`` link is followed; without it, the highest ``vNNNN`` that has a
  ``manifest.json`` (an incomplete bundle has none and is never read). ``version="v0001"``
  picks an older release.

* **Flat copy** (one bundle copied straight into the dataset's folder)::

      <twins>/welfare/manifest.json               (optional)
      <twins>/welfare/data/claims.parquet         or  <twins>/welfare/claims.parquet

Parquet is read when present (it keeps types: dates, integers, categories); otherwise the
CSV, which loses some of them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lab.client.errors import BadQuery, BadTable, TwinNotFound

_VERSION = re.compile(r"^v(\d{4,})$")
MANIFEST = "manifest.json"
Flavour = Literal["pandas", "polars"]


@dataclass(frozen=True)
class TwinFiles:
    """One twin on disk: its folder, version (if known) and the file of each table."""

    dataset: str
    path: Path
    version: str | None
    tables: Mapping[str, Path]
    main_table: str | None = None


def twins_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Your twins folder: ``LAB_TWINS_DIR`` if set, else ``~/twins``."""
    env = os.environ if environ is None else environ
    return Path(env.get("LAB_TWINS_DIR") or "~/twins").expanduser()


def find_twin(dataset: str, *, version: str | None = None, directory: Path | str | None = None) -> TwinFiles:
    """Locate a twin's files without reading them (see the module for the layouts).

    Raises:
        TwinNotFound: no twin of ``dataset`` (or no such version) in the twins folder.
    """
    root = Path(directory).expanduser() if directory is not None else twins_dir()
    folder = root / dataset
    if not dataset or "/" in dataset or dataset.startswith(".") or not folder.is_dir():
        available = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if root.is_dir() else []
        raise TwinNotFound(
            f"no twin of '{dataset}' in {root}" + ("" if root.is_dir() else " (the folder does not exist)"),
            fix=(f"use one of: {', '.join(available)}" if available else
                 "ask for access to the dataset's twin (lab.datasets() lists what you may use); outside the hub, "
                 "set LAB_TWINS_DIR to a folder of twins"))
    released = sorted((p.name for p in folder.iterdir() if _VERSION.match(p.name) and (p / MANIFEST).is_file()),
                      key=lambda name: int(name[1:]))
    if version is not None:
        if version not in released:
            raise TwinNotFound(f"'{dataset}' has no released version '{version}' in {root}",
                               fix=f"use one of: {', '.join(released)}" if released else
                               "leave version out to read the twin that is there")
        bundle = folder / version
    elif (folder / "latest").is_dir() and ((folder / "latest" / MANIFEST).is_file() or not released):
        bundle = (folder / "latest").resolve()
    elif released:
        bundle = folder / released[-1]
    else:
        bundle = folder
    tables = _tables(bundle)
    if not tables:
        raise TwinNotFound(f"the twin folder {bundle} holds no table files (.parquet or .csv)",
                           fix="ask the lab's administrators to provision the twin again")
    manifest = _manifest(bundle)
    found_version = manifest.get("version") or (bundle.name if _VERSION.match(bundle.name) else None)
    return TwinFiles(dataset=dataset, path=bundle, version=found_version, tables=tables,
                     main_table=manifest.get("main_table"))


def load_twin(dataset: str, *, table: str | None = None, as_: Flavour = "pandas", version: str | None = None,
              directory: Path | str | None = None) -> Any:
    """Load one table of a dataset's synthetic twin: free, no budget, no real person in it.

    Args:
        dataset: the dataset's name (``lab.datasets()`` lists them).
        table: which table, for datasets with several (``census`` has ``households`` and
            ``persons``); may be left out when there is only one.
        as_: ``"pandas"`` (a ``pandas.DataFrame``) or ``"polars"`` (a ``polars.DataFrame``).
        version: an older release such as ``"v0001"`` (default: the latest).
        directory: the twins folder (default: ``LAB_TWINS_DIR``, else ``~/twins``).

    Raises:
        TwinNotFound: no twin of the dataset in the folder.
        BadTable: the dataset has several tables and ``table`` was not given, or no such table.
    """
    if as_ not in ("pandas", "polars"):
        raise BadQuery(f"load_twin: as_={as_!r} is not a data frame library the lab supports",
                       fix="use as_='pandas' or as_='polars'")
    twin = find_twin(dataset, version=version, directory=directory)
    path = _pick_table(twin, table)
    if as_ == "polars":
        import polars as pl

        return pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path, try_parse_dates=True)
    import pandas as pd

    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _pick_table(twin: TwinFiles, table: str | None) -> Path:
    names = sorted(twin.tables)
    if table is None:
        if len(names) == 1:
            return twin.tables[names[0]]
        main = f" (people are counted in '{twin.main_table}')" if twin.main_table in twin.tables else ""
        raise BadTable(f"the twin of '{twin.dataset}' has {len(names)} tables: {', '.join(names)}{main}",
                       fix=f"name one, e.g. lab.load_twin({twin.dataset!r}, table={(twin.main_table or names[0])!r})")
    if table not in twin.tables:
        raise BadTable(f"the twin of '{twin.dataset}' has no table '{table}'", fix=f"use one of: {', '.join(names)}")
    return twin.tables[table]


def _tables(bundle: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in (bundle / "data", bundle):
        if not folder.is_dir():
            continue
        for suffix in (".parquet", ".csv"):
            for path in sorted(folder.glob(f"*{suffix}")):
                found.setdefault(path.stem, path)
        if found:
            return found
    return found


def _manifest(bundle: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


__all__ = ["TwinFiles", "find_twin", "load_twin", "twins_dir"]
