"""Versioned twin bundles on disk, written so that a half-written bundle is never taken
for a released one.

A bundle is built in a private staging directory; ``manifest.json`` (with every file's
hash) is written last; a released bundle then moves into place with one atomic rename to
``<release_root>/vNNNN``, and the ``latest`` link follows. A run killed at any point leaves
at most a staging directory, which is never listed and is removed by the next build.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fcntl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from synth.errors import BundleError

BUNDLE_FORMAT = 1
MANIFEST = "manifest.json"
#: A DP twin's full comparison with the real data, kept beside the staging area, never released.
OWNER_REPORT = "owner-report.html"
_VERSION = re.compile(r"^v(\d{4,})$")
_PID_FILE = ".builder-pid"


def reserve_version(release_root: Path, staging_root: Path) -> tuple[str, Path]:
    """Claim the next version number and a fresh staging directory for it.

    Versions are never reused, even by bundles that fail their gates, so a version
    number names one build for good.

    Raises:
        BundleError: a directory is not writable.
    """
    try:
        # A new dataset's twins start private: who may read them is the hub's decision
        # (lab.hub.host.ensure_twin_dir opens them to the dataset's group at the next spawn).
        release_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(release_root):
            remove_stale_staging(staging_root)
            taken = [int(m.group(1)) for p in _entries(release_root) + _entries(staging_root)
                     if (m := _VERSION.match(p.name.removeprefix(".reserved-").removeprefix("rejected-")))]
            version = f"v{(max(taken) + 1) if taken else 1:04d}"
            (release_root / f".reserved-{version}").touch(exist_ok=False)
            staging = staging_root / version
            staging.mkdir(mode=0o700)
            (staging / _PID_FILE).write_text(str(os.getpid()))
    except PermissionError as exc:
        raise BundleError(f"cannot write to {exc.filename}: permission denied. "
                          "Fix: run as the vault's account, or set LAB_ROOT to a writable directory.") from None
    except OSError as exc:
        raise BundleError(f"cannot prepare the bundle directories ({exc.strerror}: {exc.filename}). "
                          "Fix: check the disk and the directory's permissions.") from None
    return version, staging


def write_tables(staging: Path, tables: dict[str, pd.DataFrame]) -> None:
    """The twin's data, as Parquet (for analysts) and CSV (for beginners and spreadsheets)."""
    data = staging / "data"
    data.mkdir(exist_ok=True)
    for name, frame in tables.items():
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, data / f"{name}.parquet")
        # Arrow's CSV writer is about ten times faster than pandas' on a million rows.
        pa_csv.write_csv(_dates_as_dates(table, frame), data / f"{name}.csv")


def _dates_as_dates(table: pa.Table, frame: pd.DataFrame) -> pa.Table:
    """Date-only timestamp columns as dates, so the CSV says ``2024-03-31``."""
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            stamps = frame[field.name].dropna()
            if (stamps == stamps.dt.normalize()).all():
                table = table.set_column(index, field.name, table.column(index).cast(pa.date32()))
    return table


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


def write_manifest(staging: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Hash every file and write the manifest last: a bundle without one is incomplete."""
    files = {}
    for path in sorted(p for p in staging.rglob("*") if p.is_file() and p.name not in (MANIFEST, _PID_FILE)):
        files[path.relative_to(staging).as_posix()] = {"sha256": _sha256(path), "bytes": path.stat().st_size}
    complete = {"bundle_format": BUNDLE_FORMAT, **manifest, "files": files}
    temporary = staging / f".{MANIFEST}.tmp"
    write_json(temporary, complete)
    _fsync(temporary)
    os.replace(temporary, staging / MANIFEST)
    return complete


def release(staging: Path, release_root: Path, version: str) -> Path:
    """Move a complete bundle into place as ``release_root/version`` and point ``latest`` at it."""
    if not (staging / MANIFEST).is_file():
        raise BundleError(f"{staging} has no manifest, so it is not a complete bundle and cannot be released.")
    (staging / _PID_FILE).unlink(missing_ok=True)
    _make_readable(staging)
    target = release_root / version
    try:
        os.rename(staging, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        # Staging on another file system: copy next to the target, then rename there.
        incoming = release_root / f".incoming-{version}"
        shutil.copytree(staging, incoming)
        os.rename(incoming, target)
        shutil.rmtree(staging)
    _point_latest(release_root, version)
    (release_root / f".reserved-{version}").unlink(missing_ok=True)
    _fsync(release_root)
    return target


def reject(staging: Path, staging_root: Path, release_root: Path, version: str) -> Path:
    """Keep a bundle that failed its gates in the vault, for the data owner's review only."""
    (staging / _PID_FILE).unlink(missing_ok=True)
    target = staging_root / f"rejected-{version}"
    os.rename(staging, target)
    (release_root / f".reserved-{version}").unlink(missing_ok=True)
    return target


def owner_folder(staging_root: Path, version: str) -> Path:
    """Where a DP twin's owner documents go (``<staging_root>/vNNNN-owner``, vault only)."""
    return Path(staging_root) / f"{version}-owner"


def owner_report(staging_root: Path, version: str) -> Path | None:
    """A released DP twin's owner report, if it exists and this process may see it (staging is 0700)."""
    path = owner_folder(staging_root, version) / OWNER_REPORT
    try:
        return path if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


def discard(staging: Path, release_root: Path, version: str) -> None:
    """Remove a staging directory after a failed build."""
    shutil.rmtree(staging, ignore_errors=True)
    (release_root / f".reserved-{version}").unlink(missing_ok=True)


def released_versions(release_root: Path) -> list[str]:
    """Released versions, oldest first: only ``vNNNN`` directories with a manifest count."""
    versions = [p.name for p in _entries(release_root)
                if _VERSION.match(p.name) and p.is_dir() and (p / MANIFEST).is_file()]
    return sorted(versions, key=lambda v: int(v[1:]))


def read_manifest(bundle: Path) -> dict[str, Any]:
    """The manifest of a bundle.

    Raises:
        BundleError: the bundle is incomplete or its manifest unreadable.
    """
    try:
        return json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{bundle} is not a complete twin bundle (no {MANIFEST}).") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"{bundle}/{MANIFEST} cannot be read ({type(exc).__name__}).") from None


def verify_bundle(bundle: Path) -> list[str]:
    """Problems with a bundle's files against its manifest (empty when intact)."""
    manifest = read_manifest(bundle)
    problems = []
    for name, entry in manifest.get("files", {}).items():
        path = bundle / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif _sha256(path) != entry["sha256"]:
            problems.append(f"{name} does not match its hash")
    return problems


def remove_stale_staging(staging_root: Path) -> list[Path]:
    """Remove staging directories left by builds that died (their process is gone)."""
    removed = []
    for path in _entries(staging_root):
        pid_file = path / _PID_FILE
        if not (_VERSION.match(path.name) and pid_file.is_file()):
            continue
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = -1
        if not _alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _entries(directory: Path) -> list[Path]:
    return list(directory.iterdir()) if directory.is_dir() else []


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _point_latest(release_root: Path, version: str) -> None:
    temporary = release_root / ".latest.tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(version)
    os.replace(temporary, release_root / "latest")


def _make_readable(root: Path) -> None:
    """Released bundles: readable by everyone, writable by no one but their owner."""
    for path in [root, *root.rglob("*")]:
        mode = 0o755 if path.is_dir() else 0o644
        os.chmod(path, mode)
        if path.is_file():
            _fsync(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


__all__ = [
    "BUNDLE_FORMAT",
    "discard",
    "read_manifest",
    "reject",
    "release",
    "released_versions",
    "remove_stale_staging",
    "reserve_version",
    "verify_bundle",
    "write_json",
    "write_manifest",
    "write_tables",
]
