"""Read a dataset's tables from CSV or Parquet files, with clear errors for bad files.

CSV files are read as text so that a wrong value in one row becomes a clear violation
in synth.checks (with its row number) rather than a silently changed column type.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synth.errors import DataLoadError


def load_table(path: Path | str, table: str, file_format: str | None = None) -> pd.DataFrame:
    """Read one table from a CSV or Parquet file.

    Args:
        path: the file.
        table: the table's name, used in error messages.
        file_format: ``csv`` or ``parquet``; default from the file suffix.

    Raises:
        DataLoadError: the file is missing, unreadable, empty or malformed.
    """
    path = Path(path)
    fmt = (file_format or path.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "parquet"):
        raise DataLoadError(f"table '{table}': cannot read '{path.name}' (format '{fmt}'). "
                            "Fix: provide a .csv or .parquet file, or set the table's format.")
    if not path.is_file():
        raise DataLoadError(f"table '{table}': the file {path} does not exist. "
                            "Fix: check the table's path in the policy, or run `lab demo-data` for the demo datasets.")
    try:
        if fmt == "csv":
            return _read_csv(path, table)
        return pq.read_table(path).to_pandas()
    except PermissionError:
        raise DataLoadError(f"table '{table}': permission denied reading {path}. "
                            "Fix: run the command as the vault's account.") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataLoadError(f"table '{table}': {path.name} is not a readable Parquet file "
                            f"({type(exc).__name__}). Fix: re-export the table as Parquet or CSV.") from None


def load_tables(sources: Mapping[str, tuple[Path, str | None]]) -> dict[str, pd.DataFrame]:
    """Read several tables: ``{table: (path, format or None)}``."""
    return {table: load_table(path, table, fmt) for table, (path, fmt) in sources.items()}


def _read_csv(path: Path, table: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise DataLoadError(f"table '{table}': {path.name} is empty (no header row). "
                            "Fix: export the table again with a header row.") from None
    except pd.errors.ParserError as exc:
        # pandas' message names the line and the field counts, never the values.
        detail = str(exc).strip().splitlines()[-1]
        raise DataLoadError(f"table '{table}': {path.name} is not a well-formed CSV file ({detail}). "
                            "Fix: check quoting and the number of separators on that line.") from None
    except UnicodeDecodeError as exc:
        raise DataLoadError(f"table '{table}': {path.name} is not UTF-8 text (byte {exc.start}). "
                            "Fix: save the file as UTF-8.") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
