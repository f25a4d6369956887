"""Twin builds as the dashboard shows them: released bundles, rejected ones, their gates and documents.

A released bundle lives in ``<twins_dir>/<dataset>/vNNNN`` (readable by users); a build that
failed a release gate is kept in ``<staging_dir>/<dataset>/rejected-vNNNN`` (vault only) for
the data owner's review (see ``synth.bundle``). Both carry a manifest, written last, whose
``files`` list is the only set of files this module will hand out: a name that is not
listed is refused, whatever it looks like, so no URL can reach a file outside a bundle, the
twin's data files, or anything written into a bundle after its manifest.

A DP twin's full comparison with the real data is not in its bundle: it sits beside the
rejected builds, in ``<staging_dir>/<dataset>/vNNNN-owner/owner-report.html`` (vault only),
and only that one file is handed out, to admins.

Only ``synth.bundle`` is imported (``lab.twins`` would load the whole SDV pipeline).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from lab.errors import TwinNotFound
from lab.vault.service.errors import FileNotServed
from synth import bundle as bundles
from synth.errors import BundleError

#: The documents of a bundle the dashboard serves, by suffix, with their content type. The
#: twin's data (``data/``) is not among them: users get it in their servers, read-only.
DOCUMENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=UTF-8",
    ".md": "text/plain; charset=UTF-8",
    ".txt": "text/plain; charset=UTF-8",
    ".json": "application/json; charset=UTF-8",
    ".css": "text/css; charset=UTF-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
}
CARD, REPORT = "card.md", "report.html"
_VERSION = re.compile(r"^v\d{4,}$")


@dataclass(frozen=True)
class GateResult:
    """One release gate of a build, as its manifest records it."""

    gate: str
    threshold: float | None
    value: float | None
    passed: bool


@dataclass(frozen=True)
class Build:
    """One twin build: where it is, whether it was released, how it did on its gates.

    Attributes:
        released: True for a released bundle, False for one kept after failing a gate.
        quality: the SDMetrics quality score (0-1), or None when the build was not evaluated.
        fidelity: the 3-way "× floor" (twin vs unseen real rows over a second real sample), or None.
        files: the names the manifest lists (relative POSIX paths).
    """

    dataset: str
    version: str
    released: bool
    built_at: str
    synthesizer: str
    differentially_private: bool
    twin_rows: dict[str, int]
    quality: float | None
    gates: tuple[GateResult, ...]
    files: frozenset[str]
    path: Path
    epsilon: float | None = None  # DP twins: the ε charged for it
    has_owner_report: bool = False  # DP twins: the owner's real-data comparison is in the vault
    fidelity: float | None = None  # the 3-way "× floor" (1.0 is as good as real data); never in a DP bundle

    @property
    def has_card(self) -> bool:
        return CARD in self.files

    @property
    def has_report(self) -> bool:
        return REPORT in self.files

    @property
    def failed_gates(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if not g.passed)


class BuildStore:
    """The builds of every dataset: released under ``twins_dir``, rejected under ``staging_dir``.

    Args:
        twins_dir: released bundles, ``<twins_dir>/<dataset>/vNNNN``.
        staging_dir: the vault's staging area; None when rejected builds are not to be listed.
    """

    def __init__(self, twins_dir: Path, staging_dir: Path | None = None) -> None:
        self.twins_dir = Path(twins_dir)
        self.staging_dir = None if staging_dir is None else Path(staging_dir)

    def released(self, dataset: str) -> list[Build]:
        """The released builds of ``dataset``, oldest first (unreadable ones are skipped)."""
        root = self.twins_dir / dataset
        found = (read_build(root / version, released=True) for version in bundles.released_versions(root))
        return [replace(build, has_owner_report=self.owner_report(dataset, build.version) is not None)
                if build.differentially_private else build for build in found if build is not None]

    def owner_report(self, dataset: str, version: str) -> Path | None:
        """The owner's report of a released DP twin, if the vault's staging area holds one."""
        if self.staging_dir is None or not _VERSION.match(version):
            return None
        return bundles.owner_report(self.staging_dir / dataset, version)

    def rejected(self, dataset: str) -> list[Build]:
        """The builds of ``dataset`` that failed a release gate, oldest first."""
        if self.staging_dir is None:
            return []
        root = self.staging_dir / dataset
        names = [p.name for p in _entries(root) if p.is_dir() and p.name.startswith("rejected-")
                 and _VERSION.match(p.name.removeprefix("rejected-"))]
        found = (read_build(root / name, released=False) for name in sorted(names, key=_number))
        return [build for build in found if build is not None]

    def history(self, dataset: str) -> list[Build]:
        """Every build of ``dataset``, released or rejected, by version."""
        return sorted(self.released(dataset) + self.rejected(dataset), key=lambda b: _number(b.version))

    def latest(self, dataset: str) -> Build | None:
        """The latest released build, or None."""
        released = self.released(dataset)
        return released[-1] if released else None

    def find(self, dataset: str, version: str, *, released: bool = True) -> Build:
        """One build by version.

        Raises:
            TwinNotFound: no such build (a malformed version is simply not found).
        """
        build = None
        if _VERSION.match(version):
            if released:
                if version in bundles.released_versions(self.twins_dir / dataset):
                    build = read_build(self.twins_dir / dataset / version, released=True)
            elif self.staging_dir is not None:
                build = read_build(self.staging_dir / dataset / f"rejected-{version}", released=False)
        if build is not None:
            return build
        kind = "released" if released else "rejected"
        raise TwinNotFound(f"'{dataset}' has no {kind} twin '{version}'. Fix: pick a version the dashboard lists.")


def read_build(path: Path, *, released: bool) -> Build | None:
    """The build in bundle directory ``path``, from its manifest; None if that is unreadable."""
    try:
        manifest = bundles.read_manifest(path)
    except BundleError:
        return None
    files = manifest.get("files")
    return Build(
        dataset=str(manifest.get("dataset", path.parent.name)),
        version=str(manifest.get("version", path.name.removeprefix("rejected-"))),
        released=released,
        built_at=str(manifest.get("built_at", "")),
        synthesizer=str(manifest.get("synthesizer", "")),
        differentially_private=bool(manifest.get("differentially_private", False)),
        twin_rows={str(k): int(v) for k, v in (manifest.get("twin_rows") or {}).items()},
        quality=_quality(path, manifest),
        fidelity=_fidelity(path),
        epsilon=_epsilon(manifest),
        gates=tuple(_gate(g) for g in manifest.get("gates") or () if isinstance(g, dict)),
        files=frozenset(files) if isinstance(files, dict) else frozenset(),
        path=path,
    )


def document_path(build: Build, name: str) -> tuple[Path, str]:
    """The file ``name`` of a build and its content type, if the dashboard may serve it.

    Args:
        name: the file's path inside the bundle, as the URL gives it.

    Raises:
        FileNotServed: the manifest does not list it, it is the twin's data, it is not a
            document type, or it resolves outside the bundle (a link planted in it).
    """
    refused = FileNotServed(f"the twin {build.version} of '{build.dataset}' has no document '{name}' to show.")
    pure = PurePosixPath(name)
    content_type = DOCUMENT_TYPES.get(pure.suffix.lower())
    if name not in build.files or pure.is_absolute() or ".." in pure.parts or pure.parts[:1] == ("data",) \
            or content_type is None:
        raise refused
    root = build.path.resolve()
    target = (build.path / name).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise refused
    return target, content_type


def _quality(path: Path, manifest: dict[str, Any]) -> float | None:
    """SDMetrics quality from the build's evaluation; the min_quality gate's figure as a fallback."""
    try:
        evaluation = json.loads((path / "evaluation.json").read_text(encoding="utf-8"))
        score = evaluation.get("quality", {}).get("score")
        if isinstance(score, (int, float)):
            return float(score)
    except (OSError, ValueError, AttributeError):
        pass
    for gate in manifest.get("gates") or ():
        if isinstance(gate, dict) and gate.get("gate") == "min_quality" and isinstance(gate.get("value"), (int, float)):
            return float(gate["value"])
    return None


def _fidelity(path: Path) -> float | None:
    """The 3-way × floor from the build's evaluation (synth.evaluation.marginals), if it has one."""
    try:
        evaluation = json.loads((path / "evaluation.json").read_text(encoding="utf-8"))
        ratio = (evaluation.get("fidelity") or {}).get("three_way_ratio")
    except (OSError, ValueError, AttributeError):
        return None
    return float(ratio) if isinstance(ratio, (int, float)) and not isinstance(ratio, bool) else None


def _epsilon(manifest: dict[str, Any]) -> float | None:
    value = (manifest.get("dp") or {}).get("epsilon") if isinstance(manifest.get("dp"), dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _gate(entry: dict[str, Any]) -> GateResult:
    def number(value: Any) -> float | None:
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    return GateResult(gate=str(entry.get("gate", "?")), threshold=number(entry.get("threshold")),
                      value=number(entry.get("value")), passed=bool(entry.get("passed")))


def _number(name: str) -> int:
    return int(name.removeprefix("rejected-").removeprefix("v"))


def _entries(directory: Path) -> list[Path]:
    try:
        return list(directory.iterdir())
    except OSError:
        return []
