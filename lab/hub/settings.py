"""The hub's own settings: addresses, where its state lives, how users map to Unix accounts.

They sit beside the lab's settings (lab.settings) and are fed the same way: a ``[hub]``
section in the settings file (``LAB_CONFIG``, else ``/etc/lab/lab.toml``) and ``LAB_HUB_*``
environment variables, which win. JupyterHub's own options stay in jupyterhub_config.py;
these are only the values that config file, the ``lab hub`` command and the tests share.

Example ``/etc/lab/lab.toml``::

    [lab]
    root = "/srv/lab"

    [hub]
    port = 8000
    idle_timeout = 3600
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from lab.errors import SettingsError
from lab.settings import REPO_DIR, LabSettings, load_settings

#: Where the getting-started notebook and the academy's course folders live in the repository.
NOTEBOOKS_DIR = REPO_DIR / "notebooks"


@dataclass(frozen=True)
class HubSettings:
    """Everything the embedded hub needs besides JupyterHub's own options.

    Attributes:
        lab: the lab's settings (policies, vault, twins, ledger).
        ip: address of the public proxy (loopback by default: put a TLS reverse proxy in front).
        port: port of the public proxy.
        internal_port: port of the hub's own API (``c.JupyterHub.hub_port``), loopback only.
        proxy_api_port: port of configurable-http-proxy's REST API, loopback only.
        vault_port: port the vault service listens on, loopback only.
        state_dir: the hub's database, cookie secret, proxy token and password file (root only).
        teams_dir: hackathon teams' shared folders.
        homes_dir: users' homes in the no-isolation demo mode (real accounts use /home).
        people_file: the hub's people and groups (policies/hub/people.yaml).
        academy_dir: course material, one folder per cohort group.
        starter_notebook: the getting-started notebook copied into every new home.
        isolation: one Unix account per user (needs root); False is the loud demo mode.
        account_template: Unix account of a hub user; ``{name}`` is the hub name.
        group_prefix: prefix of the Unix groups the lab manages (``<prefix>twin-<dataset>``...).
        vault_account: the Unix account of the vault service, owner of the raw data.
        idle_timeout: seconds without activity before the culler stops a server.
        idle_cull_every: seconds between the culler's checks (0: a tenth of the timeout, 5-300 s).
    """

    lab: LabSettings
    ip: str
    port: int
    internal_port: int
    proxy_api_port: int
    vault_port: int
    state_dir: Path
    teams_dir: Path
    homes_dir: Path
    people_file: Path
    academy_dir: Path
    starter_notebook: Path
    isolation: bool
    account_template: str
    group_prefix: str
    vault_account: str
    idle_timeout: int
    idle_cull_every: int

    @property
    def cull_every(self) -> int:
        """Seconds between two passes of the idle culler."""
        if self.idle_cull_every:
            return self.idle_cull_every
        return max(5, min(300, self.idle_timeout // 10))

    def account_of(self, name: str) -> str:
        """The Unix account of hub user ``name`` (``jupyter-alice`` by default)."""
        return self.account_template.format(name=name)

    def twin_group(self, dataset: str) -> str:
        """The Unix group whose members may read ``dataset``'s twins."""
        return unix_name(f"{self.group_prefix}twin-{dataset}")

    def team_group(self, team: str) -> str:
        """The Unix group whose members may write ``team``'s shared folder."""
        return unix_name(f"{self.group_prefix}team-{team}")


def unix_name(text: str) -> str:
    """``text`` as a Unix user or group name: lower case, at most 32 characters.

    A longer name keeps its start and gets a short digest of the whole, so two long
    dataset names never share a group.

    >>> unix_name("lab-twin-welfare")
    'lab-twin-welfare'
    >>> unix_name("lab-twin-a-very-long-dataset-name-indeed")
    'lab-twin-a-very-long-data-e6c648'
    """
    name = re.sub(r"[^a-z0-9_-]", "-", text.lower())
    if len(name) <= 32:
        return name
    return f"{name[:25]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


_DEFAULTS: dict[str, Any] = {
    "ip": "127.0.0.1",
    "port": 8000,
    "internal_port": 8081,
    "proxy_api_port": 8001,
    "vault_port": 8082,
    "account_template": "jupyter-{name}",
    "group_prefix": "lab-",
    "vault_account": "lab-vault",
    "idle_timeout": 3600,
    "idle_cull_every": 0,
}
_INTEGERS = ("port", "internal_port", "proxy_api_port", "vault_port", "idle_timeout", "idle_cull_every")
_PATHS = ("state_dir", "teams_dir", "homes_dir", "people_file", "academy_dir", "starter_notebook")
_NAMES = [f.name for f in fields(HubSettings) if f.name != "lab"]


def load_hub_settings(environ: dict[str, str] | None = None, lab: LabSettings | None = None) -> HubSettings:
    """Read the hub's settings (``LAB_HUB_<NAME>`` > ``[hub]`` in the settings file > default).

    Raises:
        SettingsError: an unknown key, a value of the wrong type, or an unusable account template.
    """
    env = dict(os.environ if environ is None else environ)
    lab = lab or load_settings(env)
    values: dict[str, Any] = {**_DEFAULTS, **_read_section(env)}
    for name in _NAMES:
        variable = f"LAB_HUB_{name.upper()}"
        if env.get(variable):
            values[name] = env[variable]
    problems: list[str] = []
    for name in _INTEGERS:
        try:
            values[name] = int(values[name])
        except (TypeError, ValueError):
            problems.append(f"{name}={values[name]!r} is not a whole number")
    isolation = values.get("isolation", os.geteuid() == 0)
    if isinstance(isolation, str):
        if isolation.lower() not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
            problems.append(f"isolation={isolation!r} is not on or off")
        isolation = isolation.lower() in ("on", "true", "1", "yes")
    if "{name}" not in str(values["account_template"]):
        problems.append(f"account_template={values['account_template']!r} has no {{name}}")
    if problems:
        raise SettingsError("the hub's settings are invalid: " + "; ".join(problems)
                            + ". Fix: correct the [hub] section of the settings file or the LAB_HUB_* variables.")
    defaults = {
        "state_dir": lab.root / "hub",
        "teams_dir": lab.root / "teams",
        "homes_dir": lab.root / "homes",
        "people_file": lab.policies_dir / "hub" / "people.yaml",
        "academy_dir": NOTEBOOKS_DIR / "academy",
        "starter_notebook": NOTEBOOKS_DIR / "getting-started.ipynb",
    }
    paths = {name: Path(values.get(name, defaults[name])).expanduser() for name in _PATHS}
    return HubSettings(
        lab=lab, ip=str(values["ip"]), port=values["port"], internal_port=values["internal_port"],
        proxy_api_port=values["proxy_api_port"], vault_port=values["vault_port"], isolation=bool(isolation),
        account_template=str(values["account_template"]), group_prefix=str(values["group_prefix"]),
        vault_account=str(values["vault_account"]), idle_timeout=values["idle_timeout"],
        idle_cull_every=values["idle_cull_every"], **paths,
    )


def _read_section(env: dict[str, str]) -> dict[str, Any]:
    """The ``[hub]`` section of the settings file (lab.settings reads the ``[lab]`` one)."""
    path = Path(env.get("LAB_CONFIG", "/etc/lab/lab.toml"))
    if not path.is_file():
        return {}  # lab.settings already reports a missing LAB_CONFIG file
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("hub", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: the settings file cannot be read ({exc}). Fix: correct its TOML.") from None
    unknown = sorted(set(section) - set(_NAMES))
    if unknown:
        raise SettingsError(f"{path}: [hub] has unknown setting(s) {', '.join(unknown)}. "
                            f"Fix: use only {', '.join(sorted(_NAMES))}.")
    return dict(section)
