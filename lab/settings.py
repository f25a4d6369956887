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
from dataclasses import MISSING, dataclass, fields, replace
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
        vault_*: the vault service's limits on what one request and one user may cost
            (docs/vault.md, "Limits"), so that no caller can starve the others.
    """

    root: Path
    policies_dir: Path
    vault_dir: Path
    twins_dir: Path
    ledger_url: str
    #: Rows a preview or query may scan (the table's rows).
    vault_max_rows_scanned: int = 50_000_000
    #: Row comparisons a preview or query may make: rows x (1 + filter values).
    vault_max_scan_work: int = 1_000_000_000
    #: Groups (rows of the answer) a preview or query may return.
    vault_max_groups: int = 1000
    #: Cells (rows x values per row) an answer may hold.
    vault_max_result_cells: int = 3000
    #: Estimated working memory of one preview or query, in MiB.
    vault_max_query_memory_mb: int = 512
    #: Threads that run free previews (their own lane, so DP queries never wait behind them).
    vault_preview_workers: int = 1
    #: Requests that may wait for a lane's threads; more are refused with 503 and Retry-After.
    vault_queue_limit: int = 16
    #: Longest a request waits for a thread before it is refused (seconds).
    vault_queue_timeout_s: float = 6.0
    #: Requests of one user that may run at once per lane (more wait their turn).
    vault_user_concurrency: int = 2
    #: Requests one user may have in flight (running or waiting) per lane; more get 429.
    vault_user_in_flight: int = 8
    #: Previews and queries per second one user may send (sustained), and the burst allowed.
    vault_user_rate_per_s: float = 20.0
    vault_user_burst: int = 60

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
#: The vault's limits: each setting ``vault_x`` is read from ``LAB_VAULT_X``.
_LIMITS = {f.name: f"LAB_{f.name.upper()}" for f in fields(LabSettings)
           if f.name.startswith("vault_") and f.default is not MISSING}


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
        **_limits(env, from_file),
    )


def _limits(env: os._Environ[str] | dict[str, str], from_file: dict[str, object]) -> dict[str, int | float]:
    """The vault's limits that the environment or the file set, each a positive number."""
    kinds = {f.name: f.type for f in fields(LabSettings)}
    chosen: dict[str, int | float] = {}
    for name, variable in _LIMITS.items():
        raw = env.get(variable) or from_file.get(name)
        if raw is None or raw == "":
            continue
        convert = float if kinds[name] in (float, "float") else int
        try:
            value = convert(raw)
        except (TypeError, ValueError):
            value = 0
        if not value > 0:
            raise SettingsError(f"{variable} (or {name} in the settings file) is {raw!r}. "
                                f"Fix: give a positive {'number' if convert is float else 'whole number'}.")
        chosen[name] = value
    return chosen


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
