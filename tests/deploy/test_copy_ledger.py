"""deploy/kubernetes/copy_ledger.py: moving the ledger from SQLite to PostgreSQL, exactly.

The copy must carry every budget row and journal line with its id, leave a ledger that
passes the audit and keeps charging correctly (new ids after the copied ones), and refuse
to merge into a database that already holds a ledger.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from lab.vault import BudgetExceeded, Ledger
from tests.support.postgres import PostgresServer, PostgresUnavailable, find_pg_bin

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "copy_ledger.py"


@pytest.fixture(scope="module")
def copy_ledger() -> ModuleType:
    spec = importlib.util.spec_from_file_location("copy_ledger", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def source(tmp_path: Path) -> str:
    """A small SQLite ledger with every kind of entry: limits, charges, outcomes, top-up, freeze."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger(url) as ledger:
        ledger.ensure_schema()
        ledger.set_limits("welfare", dataset_epsilon="10", user_epsilon="1", query_epsilon_max="0.5",
                          group_epsilon={"analysts": "4"}, owner="Benefits team")
        ledger.set_limits("census", dataset_epsilon="5", user_epsilon="1", query_epsilon_max="0.5")
        for _ in range(10):  # ten charges of 0.1 fill a budget of 1 exactly
            reservation = ledger.reserve(user="alice", groups=["analysts"], dataset="welfare", epsilon="0.1",
                                         kind="dp_query", description={"statistic": "mean"})
            ledger.record(reservation.id, "released")
        kept = ledger.reserve(user="bob", groups=[], dataset="census", epsilon="0.25", kind="dp_query",
                              description={"statistic": "count"})
        ledger.record(kept.id, "failed", {"error": "ReleaseFailed"})
        ledger.reserve(user="bob", groups=[], dataset="census", epsilon="0.25", kind="dp_query", description={})
        ledger.top_up(dataset="census", epsilon="0.5", reason="course exercise", actor="ada", user="bob")
        ledger.freeze(dataset="census", reason="under review", actor="ada", user="carol")
    return url


def _check_copy(copy_ledger: ModuleType, source: str, target: str) -> None:
    counts = copy_ledger.copy_ledger(source, target)
    assert counts["ledger_datasets"] == 2 and counts["ledger_entries"] >= 14
    with Ledger(source) as old, Ledger(target) as new:
        assert [e.to_dict() for e in new.history()] == [e.to_dict() for e in old.history()]
        assert new.budgets() == old.budgets()
        assert new.check_consistency() == []
        last = old.history()[-1].id
        # The copy keeps charging: alice's allowance is spent, bob's continues after the copied ids.
        with pytest.raises(BudgetExceeded):
            new.reserve(user="alice", groups=["analysts"], dataset="welfare", epsilon="0.1", kind="dp_query",
                        description={})
        reservation = new.reserve(user="bob", groups=[], dataset="census", epsilon="0.1", kind="dp_query",
                                  description={})
        assert reservation.id == last + 1
        assert new.check_consistency() == []


def test_copy_to_sqlite_is_exact(copy_ledger: ModuleType, source: str, tmp_path: Path) -> None:
    _check_copy(copy_ledger, source, f"sqlite:///{tmp_path / 'copy.sqlite'}")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    try:
        find_pg_bin()
    except PostgresUnavailable as missing:
        pytest.skip(str(missing))
    with PostgresServer() as server:
        yield server


@pytest.mark.postgres
def test_copy_to_postgresql_is_exact(copy_ledger: ModuleType, source: str, postgres: PostgresServer) -> None:
    _check_copy(copy_ledger, source, postgres.create_database("ledger_copy"))


@pytest.mark.postgres
def test_copy_refuses_a_target_that_holds_a_ledger(copy_ledger: ModuleType, source: str,
                                                   postgres: PostgresServer, capsys: pytest.CaptureFixture[str]) -> None:
    target = postgres.create_database("ledger_busy")
    with Ledger(target) as busy:  # e.g. the vault was started on it first
        busy.ensure_schema()
        busy.set_limits("tax", dataset_epsilon="1", user_epsilon="1", query_epsilon_max="0.5")
    assert copy_ledger.main(["--source", source, "--target", target]) == 1
    assert "never merges two ledgers" in capsys.readouterr().err
    with Ledger(target) as busy:
        assert [e.dataset for e in busy.history()] == ["tax"], "nothing was copied"


def test_copy_refuses_a_missing_source(copy_ledger: ModuleType, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    missing = f"sqlite:///{tmp_path / 'nowhere.sqlite'}"
    assert copy_ledger.main(["--source", missing, "--target", f"sqlite:///{tmp_path / 't.sqlite'}"]) == 1
    assert "there is no ledger at" in capsys.readouterr().err
    assert not (tmp_path / "nowhere.sqlite").exists(), "the missing source is not created"


def test_copy_hides_passwords_in_its_report(copy_ledger: ModuleType, source: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert copy_ledger.main(["--source", source, "--target", f"sqlite:///{tmp_path / 'c.sqlite'}"]) == 0
    assert "passes the ledger's audit" in capsys.readouterr().out
    assert copy_ledger._shown("postgresql+psycopg://u:secret@h/db") == "postgresql+psycopg://u:***@h/db"
