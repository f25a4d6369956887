"""Prepare the machine for the hub: directories and their owners, the vault's account, secrets.

The trust boundary (docs/architecture.md) is enforced here by file permissions:

    <root>/            root  0711   traversable, not listable
      vault/           vault 0700   raw data, ledger, holdouts, staging: the vault account only
      twins/           root  0711
        <dataset>/     root:<prefix>twin-<dataset> 0750   the groups the policy allows, and the vault
      teams/           root  0711
        <team>/        root:<prefix>team-<team> 2770      the team's members only
      hub/             root  0700   hub database, cookie secret, proxy token, passwords

``prepare_host`` is idempotent and runs at every hub start (jupyterhub_config.py), so files
an admin command created as root (a new ledger, a new twin) get their owners back; the
spawn hook repeats the per-dataset and per-team part for datasets and teams added since.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from lab.hub import accounts
from lab.hub.errors import HostSetupError
from lab.hub.settings import HubSettings
from lab.policies.model import Policy

log = logging.getLogger(__name__)

COOKIE_SECRET = "jupyterhub_cookie_secret"
PROXY_TOKEN = "proxy_auth_token"
#: Why the demo mode without isolation is refused as root (deploy/demo.sh prints the same).
ROOT_WITHOUT_ISOLATION = (
    "the demo mode without isolation runs every user's server as the account that starts the hub, and this is "
    "root: every user would run code as root. Fix: as root, run with isolation (sudo bash deploy/demo.sh, "
    "without --no-isolation; each user gets their own Unix account), or run the demo mode from an "
    "unprivileged account (bash deploy/demo.sh --no-isolation as that account).")


def prepare_host(hub: HubSettings, policies: Mapping[str, Policy], teams: Iterable[str] = ()) -> None:
    """Create the lab's directories with the owners and modes above, and the hub's secrets.

    Raises:
        HostSetupError: isolation is on but this is not root, or other accounts cannot run the lab.
        AccountError: the vault account or a group could not be created.
    """
    lab = hub.lab
    if hub.isolation and os.geteuid() != 0:
        raise HostSetupError(
            "isolating users needs root (each user's server runs under its own Unix account). Fix: run as root "
            "(sudo bash deploy/demo.sh), or accept the demo mode without isolation: bash deploy/demo.sh --no-isolation")
    if not hub.isolation and os.geteuid() == 0:
        raise HostSetupError(ROOT_WITHOUT_ISOLATION)
    _ensure_dir(lab.root, 0o711 if hub.isolation else 0o700)
    _ensure_dir(hub.state_dir, 0o700)
    for name in (COOKIE_SECRET, PROXY_TOKEN):
        ensure_secret_file(hub.state_dir / name)
    if not hub.isolation:
        for path in (lab.vault_dir, lab.twins_dir, hub.teams_dir, hub.homes_dir):
            _ensure_dir(path, 0o700)
        return
    vault = accounts.ensure_user(hub.vault_account, system=True, home=lab.vault_dir,
                                 comment="lab vault service (raw data, ledger)")
    _ensure_dir(lab.vault_dir, 0o700)
    _chown_tree(lab.vault_dir, vault.pw_uid, vault.pw_gid)
    _ensure_dir(lab.twins_dir, 0o711)
    _ensure_dir(hub.teams_dir, 0o711)
    for dataset in policies:
        ensure_twin_dir(hub, dataset)
    for team in teams:
        ensure_team_dir(hub, team)
    # nbgrader's exchange for the academy: everyone drops submissions there (sticky, as nbgrader expects).
    _ensure_dir(lab.root / "academy", 0o755)
    _ensure_dir(lab.root / "academy" / "exchange", 0o1777)
    # The lessons' trainer versions hold the solutions and hidden tests: not for students.
    if (hub.academy_dir / "source").is_dir():
        os.chmod(hub.academy_dir / "source", 0o700)
    check_runnable_by(hub.vault_account)


def ensure_twin_dir(hub: HubSettings, dataset: str) -> Path:
    """``<twins>/<dataset>``, readable by its twin group (and the vault, a member) only.

    Created ahead of any build, so that ``lab twin build`` (which keeps an existing
    directory's mode) never releases a twin readable by everyone.
    """
    path = hub.lab.twins_dir / dataset
    if not hub.isolation:
        path.mkdir(parents=True, exist_ok=True)
        return path
    group = accounts.ensure_group(hub.twin_group(dataset))
    accounts.ensure_member(hub.vault_account, group.gr_name)
    _ensure_dir(path, 0o750, gid=group.gr_gid)
    return path


def ensure_team_dir(hub: HubSettings, team: str) -> Path:
    """``<teams>/<team>``: writable by the team's Unix group only; setgid, so files stay the team's."""
    path = hub.teams_dir / team
    if hub.isolation:
        group = accounts.ensure_group(hub.team_group(team))
        _ensure_dir(path, 0o2770, gid=group.gr_gid)
    else:
        _ensure_dir(path, 0o700)
    return path


def ensure_secret_file(path: Path, nbytes: int = 32) -> str:
    """A random hex secret in ``path`` (mode 0600), created once and then kept.

    JupyterHub's security docs ask for exactly this for the cookie secret (``openssl rand
    -hex 32`` in a file only the hub can read) and a proxy token that survives restarts,
    so that the proxy and users' cookies stay valid when the hub restarts.
    """
    try:
        secret = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        secret = ""
    if not secret:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            secret = secrets.token_hex(nbytes)
            out.write(secret + "\n")
    os.chmod(path, 0o600)
    return secret


def check_runnable_by(account: str) -> None:
    """Fail early if ``account`` cannot run the lab's Python (servers would die at spawn).

    The usual cause is a repository or virtualenv under a private directory such as /root.

    Raises:
        HostSetupError: naming the interpreter and how to fix it.
    """
    command = ["runuser", "-u", account, "--", sys.executable, "-c", "import lab.client, jupyterhub"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HostSetupError(f"cannot check that {account} can run {sys.executable} ({exc}).") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HostSetupError(
            f"the Unix account {account} cannot run the lab's Python ({sys.executable}: {last}). Users' servers "
            "and the vault run under their own accounts, so the repository and its .venv must be readable by "
            "everyone. Fix: keep the repository outside private directories such as /root (for example in "
            "/opt/lab), and build the venv from the system's Python (deploy/ensure-env.sh does).")


def _ensure_dir(path: Path, mode: int, *, gid: int | None = None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if gid is not None and path.stat().st_gid != gid:
        os.chown(path, 0, gid)
    if (path.stat().st_mode & 0o7777) != mode:
        os.chmod(path, mode)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    """Give a tree to the vault account (symlinks themselves, never their targets)."""
    for directory, subdirectories, files in os.walk(root):
        for name in [directory, *(os.path.join(directory, n) for n in subdirectories + files)]:
            status = os.lstat(name)
            if status.st_uid != uid or status.st_gid != gid:
                os.chown(name, uid, gid, follow_symlinks=False)
