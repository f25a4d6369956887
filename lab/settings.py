"""The lab's own settings: one object, fed by a TOML file and ``LAB_*`` environment variables.

Precedence: environment variable > settings file > default. The settings file is the one
named by ``LAB_CONFIG``, else ``/etc/lab/lab.toml`` if it exists. JupyterHub's own options
stay in jupyterhub_config.py, as traitlets.

Layout under ``root`` (defaults):

    root/vault/data/<dataset>/...    real data (vault account only)
    root/vault/staging/              twins being built, and rejected twins (vault only)
    root/vault/ledger.sqlite         the privacy-loss ledger (vault only)
    root/twins/<dataset>/vNNNN/      released twin bundles (read-only for users)
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path

from lab.errors import SettingsError

REPO_DIR = Path(__file__).resolve().parent.parent


def _default_root() -> Path:
    # Like The Littlest JupyterHub, a root install lives in /srv; a personal one in the home.
    if os.geteuid() == 0:
        return Path("/srv/lab")
    return Path.home() / ".local" / "share" / "lab"


@dataclass(frozen=True)
class LabSettings:
    """Where the lab keeps its files.

    Attributes:
        root: base directory; the others default to places under it.
        policies_dir: the dataset policy files.
        vault_dir: real data, staging and the ledger (never readable by users).
        twins_dir: released twin bundles (readable by users).
        ledger_url: SQLAlchemy URL of the ledger (SQLite file by default).
    """

    root: Path
    policies_dir: Path
    vault_dir: Path
    twins_dir: Path
    ledger_url: str

    @property
    def data_dir(self) -> Path:
        return self.vault_dir / "data"

    @property
    def staging_dir(self) -> Path:
        return self.vault_dir / "staging"


_ENV = {
    "root": "LAB_ROOT",
    "policies_dir": "LAB_POLICIES_DIR",
    "vault_dir": "LAB_VAULT_DIR",
    "twins_dir": "LAB_TWINS_DIR",
    "ledger_url": "LAB_LEDGER_URL",
}


def load_settings(environ: dict[str, str] | None = None) -> LabSettings:
    """Read the settings from the environment and the settings file.

    Raises:
        SettingsError: the settings file is unreadable or has unknown keys.
    """
    env = os.environ if environ is None else environ
    from_file = _read_file(env)
    values: dict[str, str] = {}
    for name, variable in _ENV.items():
        if variable in env and env[variable]:
            values[name] = env[variable]
        elif name in from_file:
            values[name] = str(from_file[name])
    root = Path(values.get("root", _default_root())).expanduser()
    vault = Path(values.get("vault_dir", root / "vault")).expanduser()
    return LabSettings(
        root=root,
        policies_dir=Path(values.get("policies_dir", REPO_DIR / "policies")).expanduser(),
        vault_dir=vault,
        twins_dir=Path(values.get("twins_dir", root / "twins")).expanduser(),
        ledger_url=values.get("ledger_url", f"sqlite:///{vault / 'ledger.sqlite'}"),
    )


def with_root(settings: LabSettings, root: Path) -> LabSettings:
    """Settings with every directory moved under a new root (used by tests and benchmarks)."""
    return replace(settings, root=root, vault_dir=root / "vault", twins_dir=root / "twins",
                   ledger_url=f"sqlite:///{root / 'vault' / 'ledger.sqlite'}")


def _read_file(env: os._Environ[str] | dict[str, str]) -> dict[str, object]:
    path = Path(env.get("LAB_CONFIG", "/etc/lab/lab.toml"))
    if "LAB_CONFIG" not in env and not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: the settings file named by LAB_CONFIG does not exist. "
                            "Fix: create it or unset LAB_CONFIG.") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: the settings file cannot be read ({exc}). Fix: correct its TOML.") from None
    section = data.get("lab", data)
    known = {f.name for f in fields(LabSettings)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}. "
                            f"Fix: use only {', '.join(sorted(known))}.")
    return section
