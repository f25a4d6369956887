"""The `lab` command as an administrator uses it: help, validation, build, list, card, exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab.cli import main
from tests.unit.synth.conftest import make_claims

POLICY = textwrap.dedent("""
    policy_version: 1
    dataset: claims
    title: Benefit claims
    owner: Benefits data owner
    description: One row per claimant.
    tables:
      claims:
        path: claims/claims.csv
        primary_key: claim_id
        columns:
          claim_id: {type: id}
          full_name: {type: text, identifier: fake, fake_as: name}
          ni_number: {type: text, identifier: drop}
          age: {type: integer, bounds: [16, 100]}
          income: {type: float, bounds: [0, 1000000], nullable: true, unit: GBP}
          benefit_type: {type: categorical, categories: [universal_credit, pip, jsa, esa], public: true}
          disabled: {type: boolean}
          claim_start: {type: date, bounds: [2015-01-01, 2025-12-31]}
    budgets: {dataset_epsilon: 10, user_epsilon: 1, query_epsilon_max: 0.5}
    synthesis: {seed: 5, evaluation_rows: 2000, utility_target: benefit_type}
    release_gates: {min_quality: 0.6, min_dcr_protection: 0.3}
""")


@pytest.fixture
def lab_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "claims.yaml").write_text(POLICY)
    data = tmp_path / "root" / "vault" / "data" / "claims"
    data.mkdir(parents=True)
    make_claims(rows=800).to_csv(data / "claims.csv", index=False)
    monkeypatch.setenv("LAB_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("LAB_POLICIES_DIR", str(policies))
    monkeypatch.delenv("LAB_CONFIG", raising=False)
    return tmp_path


def test_help_explains_the_commands():
    result = subprocess.run([sys.executable, "-m", "lab.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for word in ("demo-data", "policy", "twin", "exit codes", "LAB_ROOT"):
        assert word in result.stdout
    build_help = subprocess.run([sys.executable, "-m", "lab.cli", "twin", "build", "--help"],
                                capture_output=True, text=True)
    assert "release gate" in build_help.stdout


def test_usage_errors_exit_2(lab_root, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["twin", "frobnicate"])
    assert caught.value.code == 2
    assert main(["twin", "build"]) == 2


def test_validate_ok_and_broken(lab_root, capsys):
    assert main(["policy", "validate"]) == 0
    assert "ok  claims" in capsys.readouterr().out
    (lab_root / "policies" / "claims.yaml").write_text(POLICY.replace("owner:", "ownr:"))
    assert main(["policy", "validate"]) == 1
    err = capsys.readouterr().err
    assert "claims.yaml: ownr: unknown key 'ownr'. Fix: did you mean 'owner'?" in err


def test_build_list_card_verify(lab_root, capsys):
    assert main(["twin", "build", "claims", "--no-progress"]) == 0
    assert "released claims v0001" in capsys.readouterr().out
    assert main(["twin", "list"]) == 0
    listing = capsys.readouterr().out
    assert "claims" in listing and "v0001" in listing and "cart" in listing
    assert "× floor" in listing and re.search(r"\d+\.\d×", listing)  # the 3-way × floor, e.g. 1.4×
    assert main(["twin", "card", "claims"]) == 0
    assert "# Data card: Benefit claims" in capsys.readouterr().out
    assert main(["twin", "verify", "claims"]) == 0


def test_failed_gate_exits_3_and_releases_nothing(lab_root, capsys):
    (lab_root / "policies" / "claims.yaml").write_text(POLICY.replace("min_quality: 0.6", "min_quality: 0.999"))
    assert main(["twin", "build", "claims", "--no-progress"]) == 3
    assert "min_quality" in capsys.readouterr().err
    assert main(["twin", "list"]) == 0
    assert "No released twins yet" in capsys.readouterr().out


def test_bad_data_exits_1_with_the_fix(lab_root, capsys):
    path = lab_root / "root" / "vault" / "data" / "claims" / "claims.csv"
    path.write_text(path.read_text().replace(",pip,", ",pilot_scheme_x,", 1))
    assert main(["twin", "build", "claims", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "claims.benefit_type: values are not among the policy's categories" in err
    assert "pilot_scheme_x" not in err


def test_unknown_dataset_and_missing_twin(lab_root, capsys):
    assert main(["twin", "build", "nonesuch"]) == 1
    assert "no policy declares a dataset named 'nonesuch'" in capsys.readouterr().err
    assert main(["twin", "card", "claims"]) == 1
    assert "no released twin of 'claims'" in capsys.readouterr().err
