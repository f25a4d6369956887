"""Run one notebook as an unprivileged account, in a throw-away sandbox, with limits.

Grading runs code that trainees wrote; the trainer runs it as root. nbgrader would
execute it with the caller's privileges and environment (DESIGN.md §9), so the lab runs
each submission here instead, with the tools every Debian 12 machine has (util-linux):

* ``unshare --pid --fork --kill-child --mount-proc --net``: a PID namespace whose processes
  all die with it (a fork bomb or a detached process cannot outlive the run), its own /proc
  (no other processes in sight), a mount namespace, and no network at all. When the
  trainer lets lessons reach the vault, the only way out is a relay to the vault alone: a
  Unix socket, served by the grader outside, bind-mounted at /tmp/vault.sock, which the
  runner offers inside on 127.0.0.1 at the vault URL's port (:class:`VaultRelay`).
* In that namespace, as root for a moment: a private tmpfs on /tmp and /dev/shm (sized;
  nothing left behind for the next submission), the work folder in it, the lesson's files
  copied in, the twins bind-mounted read-only at /tmp/twins, and, when the Python
  environment or the lab's code lives under /tmp (a CI checkout), those folders alone bound
  back read-only (:func:`code_paths_under_tmp`).
* ``setpriv --reuid --regid --clear-groups --inh-caps=-all --bounding-set=-all
  --no-new-privs``: then the trainee's code runs as the grading account, with no
  supplementary groups (so no twin, team or shadow group), no capabilities and no way to
  regain any (setuid programs do nothing).
* ``setrlimit`` before all of it: CPU seconds, address space, processes, file size, no core
  files; and a wall-time limit after which the whole process group (and so the namespace)
  is killed.
* ``env -i`` with a minimal environment: no trainer variables, no hub or vault token
  unless the trainer passes one on purpose.

The runner inside (lab/academy/sandbox_runner.py) reads the notebook on stdin, executes it
with nbclient on IPC sockets, and writes it back on a pipe its kernel cannot reach. Nothing
of the course folder (gradebook, other submissions) is reachable from the sandbox: it is
root's, mode 0700, and only the files given here are copied in.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from lab.academy.errors import AcademyError
from lab.academy.sandbox_runner import pump

RUNNER = Path(__file__).with_name("sandbox_runner.py")
#: The dedicated account for submissions whose author has no Unix account of their own.
GRADER_ACCOUNT = "lab-grader"
#: Root's folder for the machine-wide grading lock.
LOCK_DIR = Path("/run/lab-grading")
#: Exit codes of the runner (sandbox_runner.py).
KERNEL_DIED, CELL_TIMEOUT, BAD_INPUT = 3, 4, 5

_SETUP = r"""
set -eu
uid=$1 gid=$2 files=$3 twins=$4 tmp_mb=$5 relay=$6 keep=$7
shift 7
[ -n "$files" ] && cd "$files"
[ -n "$twins" ] && exec 3<"$twins"
[ -n "$relay" ] && exec 4<"$relay"
[ -n "$keep" ] && mount --bind /tmp /mnt
mount -t tmpfs -o "size=${tmp_mb}m,mode=1777,nosuid,nodev" lab-grading /tmp
if [ -n "$keep" ]; then
  old_ifs=$IFS; IFS=:
  for path in $keep; do
    mkdir -p "$path"
    mount --bind "/mnt${path#/tmp}" "$path"
    mount -o remount,bind,ro,nosuid,nodev "$path"
  done
  IFS=$old_ifs
  umount -l /mnt
fi
[ -d /dev/shm ] && mount -t tmpfs -o size=64m,mode=1777,nosuid,nodev lab-grading-shm /dev/shm
mkdir -m 700 /tmp/work /tmp/work/.tmp
[ -n "$files" ] && cp -R . /tmp/work/
chown -R "$uid:$gid" /tmp/work
if [ -n "$twins" ]; then
  mkdir -m 755 /tmp/twins
  mount --bind /proc/self/fd/3 /tmp/twins
  mount -o remount,bind,ro,nosuid,nodev /tmp/twins
  exec 3<&-
fi
if [ -n "$relay" ]; then
  ip link set lo up
  : > /tmp/vault.sock
  mount --bind /proc/self/fd/4/vault.sock /tmp/vault.sock
  exec 4<&-
fi
cd /tmp/work
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
"""


@dataclass(frozen=True)
class SandboxLimits:
    """What one submission may use; exceeding any of them stops it (docs/security.md)."""

    wall_seconds: float = 600.0
    cpu_seconds: int = 300
    memory_mb: int = 4096
    processes: int = 256
    disk_mb: int = 256
    output_mb: int = 64
    cell_seconds: int = 300


@dataclass(frozen=True)
class SandboxRun:
    """The outcome of one run: the executed notebook, or why there is none."""

    account: str
    seconds: float
    notebook: dict | None = None
    reason: str | None = None
    log: str = ""


def tools_missing() -> list[str]:
    """The sandbox's tools that this machine lacks (util-linux's unshare, setpriv; mount, cp)."""
    return [tool for tool in ("unshare", "setpriv", "mount", "cp", "chown", "ip") if shutil.which(tool) is None]


def grading_account(student: str, template: str = "") -> pwd.struct_passwd:
    """The account a student's submission runs as: ``lab-grader``, unless ``template`` says otherwise.

    Not the student's own account by default: the student's live server runs as that
    account and could ptrace the grading kernel (same uid) and rewrite its outputs. Nothing
    else runs as ``lab-grader`` (a system account made on first use, owning nothing), and
    :func:`execute_notebook` runs one submission at a time, so no run can reach another.
    ``template`` (e.g. ``"jupyter-{name}"``) picks the student's own account where it exists.
    """
    if template:
        try:
            entry = pwd.getpwnam(template.format(name=student))
            if entry.pw_uid != 0:
                return entry
        except KeyError:
            pass
    from lab.hub.accounts import ensure_user
    from lab.hub.errors import AccountError

    try:
        return ensure_user(GRADER_ACCOUNT, comment="lab academy grader (runs submissions)", system=True)
    except AccountError as error:
        raise AcademyError(f"Cannot create the grading account {GRADER_ACCOUNT}: {error}") from None


def minimal_environment(account: pwd.struct_passwd, *, twins: bool, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """The only variables the submission sees (nothing inherited from the trainer)."""
    bin_dir = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp/work", "USER": account.pw_name,
        "LOGNAME": account.pw_name, "LANG": "C.UTF-8", "TMPDIR": "/tmp/work/.tmp", "SHELL": "/bin/sh",
        "JUPYTER_RUNTIME_DIR": "/tmp/work/.run", "JUPYTER_CONFIG_DIR": "/tmp/work/.jupyter",
        "IPYTHONDIR": "/tmp/work/.ipython", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/work/.mpl",
        "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        # one thread each: fair on a shared machine, and BLAS pools would eat the address space
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "POLARS_MAX_THREADS": "1",
    }
    if twins:
        env["LAB_TWINS_DIR"] = "/tmp/twins"
    env.update(extra)
    return env


class VaultRelay:
    """The sandbox's only way out: a Unix socket whose every connection is piped to the vault.

    The sandbox has no network; the runner inside listens on 127.0.0.1:<port> and connects
    each client to this socket (bind-mounted at /tmp/vault.sock), and this relay, outside,
    connects it to the vault's host and port. Nothing else on the machine is reachable.
    """

    def __init__(self, url: str, scratch: Path | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AcademyError(f"LAB_VAULT_URL {url!r} is not an http(s) URL.")
        self.target = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        self.inside_url = urlunsplit((parts.scheme, f"127.0.0.1:{self.target[1]}", parts.path or "/", parts.query, ""))
        # 0700, root's; short, since a socket's path must fit in 107 bytes (default: under /tmp)
        self.directory = Path(tempfile.mkdtemp(prefix="lab-relay-", dir=scratch))
        self.path = self.directory / "vault.sock"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        os.chmod(self.path, 0o666)  # reachable only through the bind mount: the folder is root's
        self._server.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                inside, _ = self._server.accept()
            except OSError:
                return
            try:
                outside = socket.create_connection(self.target, timeout=10)
                outside.settimeout(None)
            except OSError:
                inside.close()
                continue
            for a, b in ((inside, outside), (outside, inside)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self._server.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def execute_notebook(notebook: dict, account: pwd.struct_passwd, limits: SandboxLimits, *,
                     files: Path | None = None, twins: Path | None = None, relay: VaultRelay | None = None,
                     extra_env: Mapping[str, str] = {}, kernel: str = "python3") -> SandboxRun:
    """Execute ``notebook`` in a fresh sandbox as ``account``; never raises for what the code did.

    Args:
        notebook: the notebook (nbformat 4, as a dict).
        account: who runs it (never root).
        limits: what it may use.
        files: a folder of plain files copied into the working folder first (the lesson's data).
        twins: a folder bind-mounted read-only at /tmp/twins (``LAB_TWINS_DIR``).
        relay: the vault relay (``LAB_VAULT_URL`` inside then points at it); default: no way out.
        extra_env: variables added to the minimal environment (e.g. a grading token).
    """
    if os.geteuid() != 0:
        raise AcademyError("The grading sandbox needs root (it switches to an unprivileged account): run "
                           "`lab academy autograde` as root, or pass --no-sandbox on a machine without real users.")
    if account.pw_uid == 0:
        raise AcademyError("Refusing to run a submission as root.")
    missing = tools_missing()
    if missing:
        raise AcademyError(f"The grading sandbox needs {', '.join(missing)} (util-linux, coreutils); install them.")
    env = minimal_environment(account, twins=twins is not None, extra=extra_env)
    forward: list[str] = []
    if relay is not None:
        env["LAB_VAULT_URL"] = relay.inside_url
        forward = ["--forward", f"{relay.target[1]}=/tmp/vault.sock"]
    command = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--net",
               "--", "/bin/sh", "-c", _SETUP, "lab-sandbox", str(account.pw_uid), str(account.pw_gid),
               str(files or ""), str(twins or ""), str(limits.disk_mb), str(relay.directory if relay else ""),
               ":".join(code_paths_under_tmp()), "env", "-i", *(f"{k}={v}" for k, v in env.items()),
               sys.executable, "-I", str(RUNNER), "--kernel", kernel, "--cell-timeout", str(limits.cell_seconds),
               *forward]
    payload = json.dumps(notebook).encode()
    with _one_at_a_time():
        return _run(command, payload, account, limits)


def code_paths_under_tmp() -> list[str]:
    """The Python environment and the lab's code, where they live under /tmp.

    The sandbox's private /tmp would hide them (a CI checkout, or a trainer's clone, may sit
    there), so these folders alone are bound back into it, read-only.
    """
    import lab

    tmp = Path("/tmp")
    candidates = {Path(sys.prefix).resolve(), Path(lab.__file__).resolve().parents[1]}
    under = [p for p in candidates if p != tmp and p.is_relative_to(tmp) and ":" not in str(p)]
    return sorted(str(p) for p in under if not any(p != q and p.is_relative_to(q) for q in under))


@contextmanager
def _one_at_a_time():
    """One grading run at a time on this machine: no two runs share the grading account at once.

    The lock is in a root-only folder (a lock file in a world-writable one could be held by
    anyone, and grading would wait for ever).
    """
    LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    if LOCK_DIR.stat().st_uid != 0 or LOCK_DIR.stat().st_mode & 0o077:
        raise AcademyError(f"{LOCK_DIR} must be root's, mode 0700: remove it and grade again.")
    with open(LOCK_DIR / "grading.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _run(command: list[str], payload: bytes, account: pwd.struct_passwd, limits: SandboxLimits) -> SandboxRun:
    start = time.monotonic()
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                   start_new_session=True, preexec_fn=lambda: _limit(limits), close_fds=True)
        out = _Reader(process.stdout, limits.output_mb * 2**20)
        # in a thread: a run that never reads its input must still meet the wall-time limit
        threading.Thread(target=_feed, args=(process.stdin, payload), daemon=True).start()
        try:
            process.wait(timeout=limits.wall_seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill(process)
        out.join()
        seconds = time.monotonic() - start
        stderr.seek(max(stderr.seek(0, os.SEEK_END) - 4000, 0))
        log = stderr.read().decode(errors="replace")
    run = dict(account=account.pw_name, seconds=seconds, log=log)
    if timed_out:
        return SandboxRun(**run, reason=f"it ran longer than the wall-time limit ({limits.wall_seconds:g} s) "
                                        "and was stopped")
    if out.overflow:
        return SandboxRun(**run, reason=f"its executed notebook is larger than {limits.output_mb} MB")
    code = process.returncode
    if code == KERNEL_DIED:
        return SandboxRun(**run, reason=f"its kernel died: it used more than its CPU time ({limits.cpu_seconds} s) "
                                        "or memory, or crashed")
    if code == CELL_TIMEOUT:
        return SandboxRun(**run, reason=f"a cell ran longer than {limits.cell_seconds} s and was stopped")
    if code != 0:
        return SandboxRun(**run, reason=f"the sandbox stopped it (exit status {code}); the grading log has details")
    try:
        import nbformat

        executed = nbformat.reads(out.data.decode(), as_version=4)  # rejoins multi-line strings
    except Exception:  # noqa: BLE001 - whatever came back, it is not a notebook
        return SandboxRun(**run, reason="its executed notebook came back unreadable")
    return SandboxRun(**run, notebook=executed)


def _feed(pipe, payload: bytes) -> None:
    try:
        pipe.write(payload)
        pipe.close()
    except OSError:  # the run ended (or was killed) before reading it all
        pass


def _limit(limits: SandboxLimits) -> None:
    """In the child, before exec: the resource limits every process of the run inherits."""
    memory = limits.memory_mb * 2**20
    for name, value in ((resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5)),
                        (resource.RLIMIT_AS, (memory, memory)),
                        (resource.RLIMIT_NPROC, (limits.processes, limits.processes)),
                        (resource.RLIMIT_FSIZE, (limits.disk_mb * 2**20, limits.disk_mb * 2**20)),
                        (resource.RLIMIT_NOFILE, (1024, 1024)),
                        (resource.RLIMIT_CORE, (0, 0))):
        resource.setrlimit(name, value)


def _kill(process: subprocess.Popen) -> None:
    """Kill the run's process group; unshare's --kill-child then takes the whole PID namespace."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


class _Reader(threading.Thread):
    """Read a pipe up to ``cap`` bytes (a notebook that prints without end must not fill our memory)."""

    def __init__(self, pipe, cap: int) -> None:
        super().__init__(daemon=True)
        self.pipe, self.cap, self.chunks, self.size, self.overflow = pipe, cap, [], 0, False
        self.start()

    def run(self) -> None:
        while chunk := self.pipe.read(1 << 16):
            self.size += len(chunk)
            if self.size > self.cap:
                self.overflow = True
                self.chunks.clear()
                break
            self.chunks.append(chunk)
        self.pipe.close()

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)
