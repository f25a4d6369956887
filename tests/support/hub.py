"""Start the real hub (``jupyterhub -f jupyterhub_config.py``) from the tests and benchmarks, wait for it, stop it.

The hub runs as root with isolation on, like the embedded default, but with everything
that could collide with a real installation moved aside: its own lab root, ports, state
directory, and a run-specific prefix for every Unix account and group it creates
(``labt1a2b-alice``, ``labt1a2b-twin-welfare``, ``labt1a2b-vault``), which
:func:`remove_accounts` deletes afterwards.

:func:`prepare_lab` lays out such a lab (people file, course, demo data, released twins) and
:func:`demo_passwords` makes the people's passwords; tests/hub/conftest.py and
benchmarks/hub_bench.py both start their hubs this way. :mod:`tests.support.hub_person`
drives a person at the hub (login form, token, server, kernels).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from lab.hub import accounts
# Re-exported for the hub tests and the hub benchmark.
from tests.service.running import REPO, free_port  # noqa: F401
from tests.service.running import lab_environ as hub_environ  # noqa: F401
from tests.support.processes import stop


@dataclass
class RunningHub:
    """A hub subprocess: its public URL, settings (LAB_* variables), process and log."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (the hub stops its servers, services and proxy), then wait; kill if stuck."""
        stop(self.process, timeout)

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def prepare_lab(lab_root: Path, prefix: str, people: str, rows: int = 2000, twin_rows: int = 500,
                twins: tuple[str, ...] = ("welfare", "tax")) -> dict[str, str]:
    """Lay out a lab under ``lab_root`` for a hub; return its LAB_* settings.

    ``people`` is the people file's text (a cohort ``cohort-test`` finds one lesson); ``rows``
    rows of demo data, and released twins of ``twins`` (``twin_rows`` rows each, built at once).
    Unix accounts and groups the hub makes are named ``<prefix>...``.
    """
    (lab_root / "lab.toml").write_text("[lab]\n")
    (lab_root / "people.yaml").write_text(people)
    # The shipped policies, without the quality gate: a 500-row twin of 2,000 rows scores
    # around the 0.7 threshold, and these tests are about the hub, not the twins' quality.
    policies = lab_root / "policies"
    shutil.copytree(REPO / "policies", policies)
    for policy in policies.glob("*.yaml"):
        policy.write_text(re.sub(r"(?m)^(\s*min_quality:)\s*[0-9.]+", r"\1 null", policy.read_text()))
    policies.chmod(0o755)
    course = lab_root / "academy" / "cohort-test"
    course.mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / "getting-started.ipynb", course / "lesson-1.ipynb")
    for folder in (lab_root / "academy", course):
        folder.chmod(0o755)
    values = {
        "LAB_CONFIG": str(lab_root / "lab.toml"),
        "LAB_ROOT": str(lab_root / "root"),
        "LAB_POLICIES_DIR": str(policies),
        "LAB_HUB_PEOPLE_FILE": str(lab_root / "people.yaml"),
        "LAB_HUB_ACADEMY_DIR": str(lab_root / "academy"),
        "LAB_HUB_ACCOUNT_TEMPLATE": prefix + "{name}",
        "LAB_HUB_GROUP_PREFIX": prefix,
        "LAB_HUB_VAULT_ACCOUNT": prefix + "vault",
    }
    env = hub_environ(values)
    lab = [sys.executable, "-m", "lab.cli"]
    subprocess.run([*lab, "demo-data", "--rows", str(rows), "--no-progress"], env=env, check=True,
                   capture_output=True, timeout=300)
    builds = [subprocess.Popen([*lab, "twin", "build", dataset, "--rows", str(twin_rows), "--no-progress"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for dataset in twins]
    for dataset, build in zip(twins, builds):
        output, _ = build.communicate(timeout=600)
        if build.returncode != 0:
            raise RuntimeError(f"the {dataset} twin did not build:\n{output.decode(errors='replace')[-3000:]}")
    return values


def demo_passwords(settings: dict[str, str]) -> dict[str, str]:
    """The demo accounts' passwords, as `lab hub demo-accounts` makes them.

    Its output here is not a terminal, so it prints no password (they are shown once, on a
    terminal only): the tests read them, as root, from the root-only credentials file.
    """
    done = subprocess.run([sys.executable, "-m", "lab.cli", "hub", "demo-accounts"], env=hub_environ(settings),
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or "Open http://" not in done.stdout:
        raise RuntimeError(f"lab hub demo-accounts failed:\n{done.stdout}\n{done.stderr}")
    state = Path(settings.get("LAB_HUB_STATE_DIR") or Path(settings["LAB_ROOT"]) / "hub")
    passwords = json.loads((state / "demo-credentials.json").read_text())
    assert not any(password in done.stdout + done.stderr for password in passwords.values())
    return passwords


def hub_ports() -> dict[str, str]:
    """LAB_HUB_* settings giving a hub free loopback ports of its own."""
    return {"LAB_HUB_PORT": str(free_port()), "LAB_HUB_INTERNAL_PORT": str(free_port()),
            "LAB_HUB_PROXY_API_PORT": str(free_port()), "LAB_HUB_VAULT_PORT": str(free_port())}


def start_hub(settings: dict[str, str], log: Path, timeout: float = 120.0,
              config: Path = REPO / "jupyterhub_config.py") -> RunningHub:
    """Start the hub with these LAB_* settings; return once the hub and its vault answer."""
    env = hub_environ(settings)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=settings["LAB_HUB_STATE_DIR"] if "LAB_HUB_STATE_DIR" in settings else "/", env=env, stdout=out,
            stderr=subprocess.STDOUT,
            # JupyterHub stops its services with SIGINT: make sure they do not inherit an ignored one.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    hub = RunningHub(f"http://127.0.0.1:{settings['LAB_HUB_PORT']}/", settings, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited with {process.returncode}; its log:\n{hub.log_tail()}")
        try:
            if requests.get(hub.url + "services/vault/api/health", timeout=2).status_code == 200:
                return hub
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    hub.stop()
    raise RuntimeError(f"the hub did not come up within {timeout:g} s; its log:\n{hub.log_tail()}")


def processes_of(uid: int) -> list[int]:
    """Process ids owned by ``uid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except FileNotFoundError:
                continue
    return found


def remove_accounts(prefix: str) -> None:
    """Delete every Unix account and group named ``<prefix>...`` (a test run's own)."""
    for entry in pwd.getpwall():
        if entry.pw_name.startswith(prefix):
            for pid in processes_of(entry.pw_uid):  # servers the hub failed to stop
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
            accounts.remove_user(entry.pw_name, remove_home=entry.pw_dir.startswith("/home/"))
    for group in grp.getgrall():
        if group.gr_name.startswith(prefix):
            accounts.remove_group(group.gr_name)
