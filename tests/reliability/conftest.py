"""Fixtures of the reliability tests: a lab root with the welfare demo data, served by the
real standalone vault service on 127.0.0.1, and a real PostgreSQL server for the ledger.

The data is written once per session (``lab.demo``, a few hundred rows: these tests are
about budgets and processes, not statistics); each test gets its own root, policies,
users, ledger and service process.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from lab.demo import write_demo_datasets
from tests.support.vault_service import VaultService, VaultSite
from tests.unit.lab.vault.conftest import postgres_server  # noqa: F401  (a real PostgreSQL, once per session)

REPO = Path(__file__).resolve().parents[2]
#: Rows of demo data: an odd number, so that "no exact count in an error" can be checked.
ROWS = 737


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The welfare demo table, written once; sites copy it."""
    directory = tmp_path_factory.mktemp("demo") / "data"
    write_demo_datasets(directory, rows=ROWS, seed=5, datasets=["welfare"], progress=False)
    return directory


@pytest.fixture(scope="session")
def claims(demo_data: Path) -> pl.DataFrame:
    return pl.read_parquet(demo_data / "welfare" / "claims.parquet")


def welfare_policy(dataset: str = "welfare", *, dataset_epsilon: str = "20", user_epsilon: str = "2",
                   query_epsilon_max: str = "0.5", group_epsilon: dict[str, str] | None = None,
                   queries_per_user_per_day: int | None = None) -> str:
    """The demo welfare policy with other budgets (and, for another dataset name, the same data)."""
    text = (REPO / "policies" / "welfare.yaml").read_text()
    groups = "".join(f"\n    {g}: {e}" for g, e in (group_epsilon or {}).items()) or " {}"
    budgets = (f"budgets:\n  dataset_epsilon: {dataset_epsilon}\n  user_epsilon: {user_epsilon}\n"
               f"  group_epsilon:{groups}\n  query_epsilon_max: {query_epsilon_max}\n")
    if queries_per_user_per_day is not None:
        budgets += f"  queries_per_user_per_day: {queries_per_user_per_day}\n"
    text = re.sub(r"(?ms)^budgets:\n.*?(?=^synthesis:)", budgets + "\n", text)
    return re.sub(r"(?m)^dataset: welfare\b", f"dataset: {dataset}", text)


@pytest.fixture
def make_site(tmp_path: Path, demo_data: Path) -> Callable[..., VaultSite]:
    """A fresh lab root with the welfare data; policies and users are added by the test."""

    def make(ledger_url: str = "") -> VaultSite:
        site = VaultSite(tmp_path / "lab", ledger_url=ledger_url)
        shutil.copytree(demo_data / "welfare", site.data_dir / "welfare")
        return site

    return make


@pytest.fixture
def services() -> Iterator[list[VaultService]]:
    """Services a test starts are registered here, and always stopped (or killed) at its end."""
    started: list[VaultService] = []
    yield started
    for service in started:
        service.__exit__(None, None, None)
