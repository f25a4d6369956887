"""``lab budget`` and ``lab ledger``: the handlers, called with parsed arguments."""

from __future__ import annotations

import argparse
import io
import json
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from lab.commands import ledger as commands
from lab.policies import load_policies
from lab.settings import load_settings
from lab.vault import Ledger, read_csv, read_json

POLICY = textwrap.dedent("""
    policy_version: 1
    dataset: claims
    title: Benefit claims
    owner: Benefits data owner
    tables:
      claims:
        path: claims/claims.csv
        columns:
          age: {type: integer, bounds: [16, 100]}
    budgets:
      dataset_epsilon: 10
      user_epsilon: 1
      group_epsilon: {team-a: 2}
      query_epsilon_max: 0.5
""")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lab")
    commands.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def run(*argv: str) -> int:
    args = parse(*argv)
    return args.handler(args)


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A lab with one policy and an empty SQLite ledger; returns the ledger's URL."""
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "claims.yaml").write_text(POLICY)
    url = f"sqlite:///{tmp_path / 'vault' / 'ledger.sqlite'}"
    monkeypatch.delenv("LAB_CONFIG", raising=False)
    monkeypatch.setenv("LAB_ROOT", str(tmp_path))
    monkeypatch.setenv("LAB_POLICIES_DIR", str(policies))
    monkeypatch.setenv("LAB_LEDGER_URL", url)
    return url


def charge(url: str, user: str, epsilon: str) -> int:
    """What the vault service does for a DP query: apply the policies, then reserve."""
    with Ledger(url) as ledger:
        ledger.ensure_schema()
        ledger.sync_policies(load_policies(load_settings().policies_dir))
        return ledger.reserve(user=user, groups=["team-a"], dataset="claims", epsilon=Decimal(epsilon),
                              kind="dp_query", description={"query": "count"}).id


def test_show_lists_budgets_from_the_policies(lab, capsys):
    assert run("budget", "show") == 0
    out = capsys.readouterr().out
    assert "dataset  budget" in out.splitlines()[0]
    assert "claims   dataset       10     0      10" in out and "group team-a" in out

    charge(lab, "alice", "0.25")
    assert run("budget", "show", "--user", "alice", "--group", "team-a") == 0
    out = capsys.readouterr().out
    assert "user alice    1      0.25   0.75" in out and "group team-a  2      0.25   1.75" in out


def test_top_up_freeze_and_unfreeze_are_recorded(lab, capsys):
    charge(lab, "alice", "0.5")
    assert run("budget", "top-up", "--dataset", "claims", "--user", "alice", "--epsilon", "0.5",
               "--reason", "ticket 9", "--actor", "owner") == 0
    assert "limit now 1.5, spent 0.5" in capsys.readouterr().out
    assert run("budget", "freeze", "--dataset", "claims", "--whole-dataset", "--reason", "review",
               "--actor", "owner") == 0
    assert run("budget", "unfreeze", "--dataset", "claims", "--whole-dataset", "--reason", "done",
               "--actor", "owner") == 0
    with Ledger(lab) as ledger:
        actions = [(e.action, e.actor, e.description.get("reason")) for e in ledger.history()]
    assert actions[-3:] == [("top_up", "owner", "ticket 9"), ("freeze", "owner", "review"),
                            ("unfreeze", "owner", "done")]


def test_refusals_and_bad_command_lines_have_their_exit_codes(lab, capsys):
    assert run("budget", "top-up", "--dataset", "taxes", "--whole-dataset", "--epsilon", "1", "--reason", "x") == 1
    assert "no policy gives dataset 'taxes'" in capsys.readouterr().err
    assert run("budget", "freeze", "--dataset", "claims", "--group", "ghosts", "--reason", "x") == 1
    assert "group 'ghosts' has no allowance" in capsys.readouterr().err
    for argv in (["budget", "top-up", "--dataset", "claims", "--user", "a", "--group", "b", "--epsilon", "1",
                  "--reason", "x"],
                 ["budget", "top-up", "--dataset", "claims", "--user", "a", "--epsilon", "0.1e-20", "--reason", "x"],
                 ["budget", "top-up", "--dataset", "claims", "--user", "a", "--epsilon", "-1", "--reason", "x"],
                 ["ledger", "export", "--format", "xml"]):
        with pytest.raises(SystemExit) as usage:
            parse(*argv)
        assert usage.value.code == 2
    assert "finer than the ledger's unit" in capsys.readouterr().err


def test_invalid_policies_are_reported_not_raised(lab, tmp_path, capsys):
    (tmp_path / "policies" / "claims.yaml").write_text(POLICY.replace("user_epsilon: 1", "user_epsilon: -1"))
    assert run("budget", "show") == 1
    assert "budgets.user_epsilon" in capsys.readouterr().err


def test_export_writes_csv_and_json_that_read_back(lab, tmp_path, capsys):
    reservation = charge(lab, "alice", "0.1")
    with Ledger(lab) as ledger:
        ledger.record(reservation, "released")
        history = ledger.history()
    assert run("ledger", "export", "--format", "json") == 0
    assert read_json(io.StringIO(capsys.readouterr().out)) == history

    target = tmp_path / "out" / "ledger.csv"
    target.parent.mkdir()
    assert run("ledger", "export", "--format", "csv", "--output", str(target)) == 0
    assert read_csv(io.StringIO(target.read_text())) == history
    assert target.stat().st_mode & 0o777 == 0o600
    assert run("ledger", "export", "--format", "csv", "--output", str(target)) == 1
    assert "--force" in capsys.readouterr().err
    assert run("ledger", "export", "--format", "json", "--output", str(target), "--force", "--user", "alice") == 0
    assert [e["action"] for e in json.loads(target.read_text())["entries"]] == ["reserve", "outcome"]


def test_history_and_check(lab, capsys):
    charge(lab, "alice", "0.1")
    assert run("ledger", "history", "--user", "alice") == 0
    out = capsys.readouterr().out
    assert "reserve" in out and "dp_query" in out and "kept" in out
    assert run("ledger", "check") == 0
    assert "the ledger is consistent" in capsys.readouterr().out


def test_help_works(capsys):
    for argv in (["budget", "--help"], ["budget", "top-up", "--help"], ["ledger", "export", "--help"]):
        with pytest.raises(SystemExit) as done:
            parse(*argv)
        assert done.value.code == 0
    assert "--whole-dataset" in capsys.readouterr().out
