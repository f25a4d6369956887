"""Sandboxed autograding: nbgrader keeps the books, the sandbox runs the code.

``nbgrader autograde`` does two passes per submission: it *sanitizes* the submitted
notebook (clears outputs, puts the lesson's own test cells back, hidden tests included),
then *executes* it and saves the grades in the gradebook. The lab keeps all of that but
swaps the execution step for :class:`SandboxedExecute`, which sends the sanitized notebook
to lab/academy/sandbox.py and takes back only the **outputs** of each code cell (the cell
sources, metadata and checksums stay nbgrader's). So the gradebook, the course folder and
the trainer's environment stay in the nbgrader process (root); the submission's code sees
only a copy of its own notebook, its lesson's plain files and, if the trainer allows it,
the twins.

A submission gets zero for the whole lesson, with the reason in every code cell (the
feedback shows it) and in ``<course>/grading/<lesson>/<student>.json``, when:

* it is not a notebook or is larger than the limit (checked before nbgrader reads it:
  :func:`screen_submissions` sets it aside in ``<course>/rejected/`` and nbgrader grades
  the untouched student version in its place);
* it hit a limit: wall time, a cell's time, CPU time (the kernel dies), memory
  (``MemoryError``), processes (``BlockingIOError``: a fork bomb), its output's size;
* it tried to read or write what it may not (``PermissionError``).

The grader then goes on with the next submission.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer, List, Unicode

from lab.academy.errors import AcademyError
from lab.academy.sandbox import SandboxLimits, VaultRelay, execute_notebook, grading_account

#: Where the reason for a set-aside submission is kept, in the placeholder's notebook metadata.
REJECTED_KEY = "lab_grading_rejected"
#: nbgrader's autograde pass, with the sandbox in place of its Execute.
PREPROCESSORS = ("lab.academy.grading.SandboxedExecute", "nbgrader.preprocessors.IgnorePattern",
                 "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
                 "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
                 "nbgrader.preprocessors.CheckCellMetadata")
#: One read-only copy of the twins per grading run (nbgrader makes a preprocessor per notebook).
_TWINS_COPIES: dict[str, Path] = {}


@dataclass(frozen=True)
class GradingReport:
    """How one submitted notebook was run (``<course>/grading/<lesson>/<student>.json``)."""

    student: str
    lesson: str
    notebook: str
    status: str  # "run" (scored by its tests) or "zero" (stopped or refused: see reason)
    reason: str | None
    account: str | None
    uid: int | None
    seconds: float


class SandboxedExecute(NbGraderPreprocessor):
    """Execute each submission in the grading sandbox (replaces nbgrader's ``Execute``)."""

    wall_seconds = Float(600.0, help="Wall time for the whole notebook; then everything it started is killed."
                         ).tag(config=True)
    cell_seconds = Integer(300, help="Time for one cell.").tag(config=True)
    cpu_seconds = Integer(300, help="CPU seconds per process (RLIMIT_CPU).").tag(config=True)
    memory_mb = Integer(4096, help="Address space per process, MB (RLIMIT_AS).").tag(config=True)
    processes = Integer(256, help="Processes and threads of the grading account (RLIMIT_NPROC).").tag(config=True)
    disk_mb = Integer(256, help="The sandbox's private /tmp (and largest file), MB.").tag(config=True)
    output_mb = Integer(64, help="Largest executed notebook taken back, MB.").tag(config=True)
    vault = Bool(False, help="Let the notebook reach the vault (LAB_VAULT_URL) through a relay to it alone, "
                             "with LAB_VAULT_TOKEN; nothing else of the network.").tag(config=True)
    twins_dir = Unicode("", help="Twins copied read-only into the sandbox as LAB_TWINS_DIR (empty: none)."
                        ).tag(config=True)
    pass_env = List(Unicode(), help="Variables passed from the grader's environment; nothing else is "
                                    "(with vault: LAB_VAULT_TOKEN too).").tag(config=True)
    account_template = Unicode("", help="Run as the student's own Unix account where it exists (e.g. "
                                        "'jupyter-{name}'); default: always lab-grader (docs/security.md)."
                               ).tag(config=True)
    reports_dir = Unicode("grading", help="Where each run's report goes (relative: to the course).").tag(config=True)

    @property
    def limits(self) -> SandboxLimits:
        return SandboxLimits(wall_seconds=self.wall_seconds, cpu_seconds=self.cpu_seconds, memory_mb=self.memory_mb,
                             processes=self.processes, disk_mb=self.disk_mb, output_mb=self.output_mb,
                             cell_seconds=self.cell_seconds)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        student, lesson, name = info.get("student", "?"), info.get("assignment", "?"), info.get("notebook", "?")
        rejected = nb.metadata.get(REJECTED_KEY)
        account = None
        if rejected:
            reason, seconds = str(rejected), 0.0
        else:
            account = grading_account(student, self.account_template)
            with tempfile.TemporaryDirectory(prefix=".sandbox-files-", dir=_scratch()) as files:
                _copy_plain_files(Path(resources.get("metadata", {}).get("path") or "."), Path(files))
                _seed_matplotlib_cache(Path(files) / ".mpl")
                names = [*self.pass_env, *(["LAB_VAULT_TOKEN"] if self.vault else [])]
                extra = {k: os.environ[k] for k in names if k in os.environ}
                relay = self._relay()
                try:
                    run = execute_notebook(nb, account, self.limits, files=Path(files), twins=self._twins(),
                                           relay=relay, extra_env=extra,
                                           kernel=nb.metadata.get("kernelspec", {}).get("name", "python3"))
                finally:
                    if relay is not None:
                        relay.close()
            seconds, reason = run.seconds, run.reason
            if reason is None:
                reason = _take_outputs(nb, run.notebook) or _limit_hit(nb, self.limits)
            if run.reason and run.log:
                self.log.info("sandbox log for %s/%s: %s", student, lesson, run.log[-1500:])
        if reason:
            self.log.warning("%s's %s gets zero: %s", student, lesson, reason)
            _zero(nb, reason)
        report = GradingReport(student=student, lesson=lesson, notebook=name, status="zero" if reason else "run",
                               reason=reason, account=account.pw_name if account else None,
                               uid=account.pw_uid if account else None, seconds=round(seconds, 2))
        where = Path(self.reports_dir) / lesson
        where.mkdir(parents=True, exist_ok=True)
        (where / f"{student}.{name}.json").write_text(json.dumps(asdict(report), indent=1))
        return nb, resources

    def _relay(self) -> VaultRelay | None:
        if not self.vault:
            return None
        url = os.environ.get("LAB_VAULT_URL")
        if not url:
            raise AcademyError("--vault needs LAB_VAULT_URL (and LAB_VAULT_TOKEN) in the grader's environment.")
        return VaultRelay(url)

    def _twins(self) -> Path | None:
        """A read-only copy of the twins for this grading run (made once; the sandbox mounts it)."""
        if not self.twins_dir:
            return None
        if self.twins_dir not in _TWINS_COPIES:
            source = Path(self.twins_dir)
            if not source.is_dir():
                raise AcademyError(f"No twins folder at {source} (LAB_TWINS_DIR or --twins).")
            target = Path(tempfile.mkdtemp(prefix=".sandbox-twins-", dir=_scratch()))
            shutil.copytree(source, target, dirs_exist_ok=True, symlinks=False)
            for path in [target, *target.rglob("*")]:
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
            atexit.register(shutil.rmtree, target, True)
            _TWINS_COPIES[self.twins_dir] = target
        return _TWINS_COPIES[self.twins_dir]


def _scratch() -> str:
    """Root's private scratch space for staging (in the course folder, 0700, so nobody else sees it)."""
    path = Path(".sandbox-scratch").resolve()
    path.mkdir(mode=0o700, exist_ok=True)
    return str(path)


def _copy_plain_files(source: Path, target: Path, cap: int = 100 * 2**20) -> None:
    """The lesson's regular files (not notebooks, not links: a link would be followed as root)."""
    total = 0
    for path in sorted(source.rglob("*")):
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or path.suffix == ".ipynb" or ".ipynb_checkpoints" in path.parts:
            continue
        total += info.st_size
        if total > cap:
            break
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest, follow_symlinks=False)


def _seed_matplotlib_cache(target: Path) -> None:
    """Give the sandbox the machine's matplotlib font list (the fonts are the machine's own).

    Without it every run rebuilds the list (about a second), and a slow rebuild writes a
    warning to stderr, which nbgrader counts as a failed test if it lands in a test cell.
    """
    source = Path(os.environ.get("MPLCONFIGDIR") or Path.home() / ".cache" / "matplotlib")
    for path in source.glob("fontlist-*.json") if source.is_dir() else []:
        if path.is_file() and not path.is_symlink():
            target.mkdir(exist_ok=True)
            shutil.copyfile(path, target / path.name)


def _take_outputs(nb, executed: dict) -> str | None:
    """Copy each code cell's outputs from the executed notebook; only outputs are trusted from it."""
    cells = executed.get("cells") if isinstance(executed, dict) else None
    if not isinstance(cells, list) or len(cells) != len(nb.cells):
        return "its executed notebook came back with other cells than were sent"
    from nbformat import from_dict

    for cell, done in zip(nb.cells, cells):
        if cell.cell_type == "code":
            outputs = done.get("outputs", []) if isinstance(done, dict) else []
            cell.outputs = [from_dict(o) for o in outputs if isinstance(o, dict)]
            cell.execution_count = done.get("execution_count") if isinstance(done, dict) else None
    return None


def _limit_hit(nb, limits: SandboxLimits) -> str | None:
    """A limit the code ran into, seen in its outputs (the limits make these errors)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            ename, text = output.get("ename", ""), f"{output.get('evalue', '')}{output.get('text', '')}"
            if ename == "MemoryError":
                return f"it tried to use more memory than its limit ({limits.memory_mb} MB)"
            if ename == "BlockingIOError" or "Resource temporarily unavailable" in text or "fork: retry" in text:
                return f"it tried to start more processes than its limit ({limits.processes})"
            if ename == "PermissionError":
                return f"it tried to reach files it may not ({output.get('evalue', '')[:200]})"
    return None


def _zero(nb, reason: str) -> None:
    """Every code cell shows why, as an error after what it printed: nbgrader then gives every test cell zero."""
    from nbformat import from_dict

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [*cell.get("outputs", []), from_dict({
                "output_type": "error", "ename": "GradingStopped", "evalue": reason,
                "traceback": [f"Grading stopped, so this lesson gets zero: {reason}"]})]


def screen_submissions(root: Path, lesson: str, students: Iterable[str] | None = None,
                       max_mb: int = 20) -> dict[str, str]:
    """Set aside submitted notebooks that are not notebooks, are links, or are too large.

    Each goes to ``<root>/rejected/<student>/<lesson>/``; the released student version takes
    its place with the reason in its metadata, so nbgrader records the submission and
    :class:`SandboxedExecute` gives it zero with that reason. Returns student → reason.
    """
    import nbformat

    submitted, release = root / "submitted", root / "release" / lesson
    wanted = set(students) if students is not None else None
    reasons: dict[str, str] = {}
    for folder in sorted(submitted.glob(f"*/{lesson}")) if submitted.is_dir() else []:
        student = folder.parent.name
        if wanted is not None and student not in wanted:
            continue
        for path in sorted(folder.glob("*.ipynb")):
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                reason = f"{path.name} is not a plain file"
            elif info.st_size > max_mb * 2**20:
                reason = f"{path.name} is {info.st_size / 2**20:.0f} MB, more than the {max_mb} MB a submission may be"
            else:
                try:
                    notebook = nbformat.read(str(path), as_version=4)
                    nbformat.validate(notebook)
                    continue
                except Exception:  # noqa: BLE001 - whatever it is, it is not a notebook
                    reason = f"{path.name} is not a Jupyter notebook"
            aside = root / "rejected" / student / lesson
            aside.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), aside / path.name)
            (aside / f"{path.name}.reason.txt").write_text(reason + "\n")
            original = release / path.name
            if original.is_file():
                placeholder = nbformat.read(str(original), as_version=4)
                placeholder.metadata[REJECTED_KEY] = reason
                nbformat.write(placeholder, str(path))
            reasons[student] = reason
    return reasons


def reports(root: Path, lesson: str) -> list[GradingReport]:
    """The reports of the last grading of ``lesson`` (see :class:`GradingReport`)."""
    folder = root / "grading" / lesson
    if not folder.is_dir():
        return []
    return [GradingReport(**json.loads(p.read_text())) for p in sorted(folder.glob("*.json"))]
