"""Autograding runs every submission in the sandbox, as root would run it for a trainer.

One cohort, one small lesson (``double(x)``, 2 points), and a submission of every kind a
trainee could send: an honest answer, code that looks around (its uid, /etc/shadow, a
root-only "vault" folder, the trainer's home, the gradebook), a fork bomb, a 20 GB
allocation, an endless sleep, a file that is not a notebook and a 500 MB one. The honest
one is graded normally; every other one gets zero with a reason, and what the prying code
printed shows it ran as the unprivileged grading account. Real processes, real nbgrader,
real setpriv/unshare: the test needs root (CI runs as root).
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from lab.academy.course import autograde, create_course, export, generate
from lab.academy.sandbox import GRADER_ACCOUNT, SandboxLimits

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the grading sandbox switches accounts: needs root")

LESSON = "01-double"
ANSWER = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
TESTS = "assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(5) == 10\n### END HIDDEN TESTS\n"
LIMITS = SandboxLimits(wall_seconds=15, cell_seconds=15, cpu_seconds=10, memory_mb=2048, processes=64)


def _cell(source: str, grade_id: str, **flags) -> nbformat.NotebookNode:
    meta = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False,
            "task": False, **flags}
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta})


def _lesson(source_dir: Path) -> None:
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                 "language": "python"}})
    notebook.cells = [_cell(ANSWER, "answer", solution=True),
                      _cell(TESTS, "tests", grade=True, locked=True, points=2)]
    (source_dir / LESSON).mkdir(parents=True)
    nbformat.write(notebook, str(source_dir / LESSON / f"{LESSON}.ipynb"))


PRYING = r'''
import os, glob
print("uid", os.getuid(), "gid", os.getgid(), "groups", os.getgroups())
for path in ["/etc/shadow", VAULT + "/ledger.sqlite", "/root/.bash_history", GRADEBOOK]:
    try:
        open(path, "rb").read(10)
        print("LEAK-READ", path)
    except OSError as error:
        print("refused", path, type(error).__name__)
try:
    with open(GRADEBOOK, "ab") as fp:
        fp.write(b"pwned")
    print("LEAK-WROTE gradebook")
except OSError as error:
    print("refused write", type(error).__name__)
print("environment", sorted(os.environ))
open("/etc/shadow").read()
'''

SUBMISSIONS = {
    "honest": "def double(x):\n    return 2 * x\n",
    "prying": None,  # PRYING, with the paths filled in
    "forker": "import os\nwhile True:\n    os.fork()\n",
    "hog": "x = bytearray(20 * 2**30)\ndef double(x):\n    return 2 * x\n",
    "sleeper": "import time\ntime.sleep(10**6)\n",
}


@pytest.fixture(scope="module")
def graded():
    # Not under /tmp: the sandbox has its own /tmp, which would hide these paths rather than
    # show that permissions refuse them (the lab's own folders are under /srv/lab).
    root = Path(tempfile.mkdtemp(prefix="lab-grading-test-", dir="/var/tmp"))
    os.chmod(root, 0o711)
    try:
        yield _grade(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _grade(root: Path):
    _lesson(root / "source")
    vault = root / "vault"
    vault.mkdir(mode=0o700)
    (vault / "ledger.sqlite").write_text("real data")
    students = [*SUBMISSIONS, "textfile", "huge"]
    course = create_course("cohort-sandbox", root / "courses", lessons_dir=root / "source", students=students)
    released = generate(course, LESSON) / f"{LESSON}.ipynb"
    gradebook = course.root / "gradebook.db"
    for student, code in SUBMISSIONS.items():
        if code is None:
            code = f"VAULT = {str(vault)!r}\nGRADEBOOK = {str(gradebook)!r}\n" + PRYING
        notebook = nbformat.read(str(released), as_version=4)
        notebook.cells[0].source = code
        folder = course.root / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / f"{LESSON}.ipynb"))
    for student in ("textfile", "huge"):
        folder = course.root / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        with open(folder / f"{LESSON}.ipynb", "w") as fp:
            if student == "textfile":
                fp.write("print('I am not a notebook')\n")
            else:
                fp.truncate(500 * 2**20)  # sparse: 500 MB without the disk
    before = gradebook.stat().st_mtime_ns
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "JUPYTERHUB_"))}
    env["TRAINER_SECRET"] = "do-not-leak"
    reports = {r.student: r for r in autograde(course, LESSON, env=env, limits=LIMITS)}
    grades = export(course, root / "grades.csv")
    scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(grades.open())}
    return course, reports, scores, vault, before


def test_an_honest_submission_is_graded_normally(graded):
    _, reports, scores, _, _ = graded
    assert scores["honest"] == 2
    assert reports["honest"].status == "run" and reports["honest"].reason is None
    assert reports["honest"].account == GRADER_ACCOUNT and reports["honest"].uid != 0


def test_prying_code_ran_unprivileged_and_gets_zero(graded):
    course, reports, scores, _, _ = graded
    assert scores["prying"] == 0
    assert "reach files" in reports["prying"].reason
    executed = nbformat.read(str(course.root / "autograded" / "prying" / LESSON / f"{LESSON}.ipynb"), as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[0].outputs)
    uid = int(re.search(r"uid (\d+)", printed).group(1))
    assert uid == pwd.getpwnam(GRADER_ACCOUNT).pw_uid != 0, printed
    assert "groups []" in printed or f"groups [{pwd.getpwnam(GRADER_ACCOUNT).pw_gid}]" in printed
    assert "LEAK" not in printed, printed
    assert printed.count("refused") == 5 and printed.count("PermissionError") == 5, printed
    assert "TRAINER_SECRET" not in printed and "LAB_" not in printed, "the trainer's environment stays outside"
    assert "GradingStopped" in json.dumps(executed.cells[0].outputs), "the reason is in the feedback"


def test_the_gradebook_and_the_vault_are_untouched(graded):
    course, _, _, vault, _ = graded
    assert (vault / "ledger.sqlite").read_text() == "real data"
    assert b"pwned" not in (course.root / "gradebook.db").read_bytes()


@pytest.mark.parametrize("student,why", [("forker", "processes|wall-time|kernel died"),
                                         ("hog", "memory"),
                                         ("sleeper", "wall-time|longer than")])
def test_runaway_code_gets_zero_with_a_reason(graded, student, why):
    _, reports, scores, _, _ = graded
    assert scores[student] == 0
    assert reports[student].status == "zero" and re.search(why, reports[student].reason), reports[student]
    assert reports[student].seconds < LIMITS.wall_seconds + 5


@pytest.mark.parametrize("student,why", [("textfile", "not a Jupyter notebook"), ("huge", "500 MB")])
def test_what_is_not_a_notebook_gets_zero_with_a_reason(graded, student, why):
    course, reports, scores, _, _ = graded
    assert scores[student] == 0
    assert reports[student].status == "zero" and why in reports[student].reason
    kept = course.root / "rejected" / student / LESSON
    assert (kept / f"{LESSON}.ipynb").exists(), "the original is kept for the trainer"
    assert why in (kept / f"{LESSON}.ipynb.reason.txt").read_text()


def test_nothing_of_the_grading_account_is_left_running(graded):
    uid = pwd.getpwnam(GRADER_ACCOUNT).pw_uid
    deadline = time.monotonic() + 5  # a killed namespace's processes take a moment to be reaped
    while (running := [p for p in os.listdir("/proc") if p.isdigit() and _owner(p) == uid]) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running


def _owner(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def test_with_the_vault_allowed_only_the_vault_is_reachable(tmp_path):
    """``--vault``: the sandbox reaches the vault's port through the relay, and nothing else."""
    import http.server
    import threading

    from lab.academy.sandbox import VaultRelay, execute_notebook, grading_account

    class Vault(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = f"vault saw {self.path} {self.headers.get('Authorization')}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Vault) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    vault, other = (s.server_address[1] for s in servers)
    code = (f"import os, urllib.request\n"
            f"request = urllib.request.Request(os.environ['LAB_VAULT_URL'] + 'api/x', "
            f"headers={{'Authorization': 'token ' + os.environ['LAB_VAULT_TOKEN']}})\n"
            f"print(urllib.request.urlopen(request, timeout=5).read().decode())\n"
            f"try:\n    urllib.request.urlopen('http://127.0.0.1:{other}/', timeout=3)\n    print('LEAK')\n"
            f"except OSError as error:\n    print('other port:', error)\n")
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    notebook.cells = [nbformat.v4.new_code_cell(code)]
    scratch = tmp_path / "scratch"
    scratch.mkdir(mode=0o700)
    relay = VaultRelay(f"http://127.0.0.1:{vault}/services/vault/", scratch)
    try:
        run = execute_notebook(notebook, grading_account("nobody-in-particular"), LIMITS, relay=relay,
                               extra_env={"LAB_VAULT_TOKEN": "grading-token"})
    finally:
        relay.close()
        for server in servers:
            server.shutdown()
    assert run.reason is None, run.log
    printed = "".join(o.get("text", "") for o in run.notebook.cells[0].outputs)
    assert "vault saw /services/vault/api/x token grading-token" in printed, printed
    assert "other port:" in printed and "LEAK" not in printed, printed
