"""Building a DP twin charges its ε to the dataset's ledger first (lab.twins)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.policies import Policy
from lab.settings import load_settings, with_root
from lab.twins import build_dataset_twin
from lab.vault.errors import BudgetExceeded
from lab.vault.ledger import Ledger
from synth import bundle as bundles
from synth.errors import SynthesisError


def make_policy(*, synthesizer: str = "dp_marginals", dp_only: bool = True, dataset_epsilon: str = "1.5") -> Policy:
    return Policy.model_validate({
        "policy_version": 1, "dataset": "claims", "title": "Claims", "owner": "Claims owner",
        "tables": {"claims": {"path": "claims/claims.csv", "primary_key": "claim_id", "columns": {
            "claim_id": {"type": "id"},
            "age": {"type": "integer", "bounds": [16, 100]},
            "income": {"type": "float", "bounds": [0, 100000], "nullable": True},
            "benefit": {"type": "categorical", "categories": ["pip", "esa", "jsa"]},
        }}},
        "privacy_unit": {"max_rows_per_person": 1},
        "budgets": {"dataset_epsilon": dataset_epsilon, "user_epsilon": "5", "query_epsilon_max": "2"},
        "synthesis": {"synthesizer": synthesizer, "parameters": {"epsilon": 1.0, "bins": 8} if
                      synthesizer == "dp_marginals" else {}, "dp_only": dp_only, "evaluation_rows": 500},
        "release_gates": {"min_quality": None, "max_exact_copy_rate": None, "min_dcr_protection": None,
                          "max_identifier_leaks": None},
    })


@pytest.fixture
def setup(tmp_path: Path) -> tuple:
    settings = with_root(load_settings({"LAB_ROOT": str(tmp_path)}), tmp_path)
    rng = np.random.default_rng(0)
    rows = 600
    frame = pd.DataFrame({"claim_id": np.arange(1, rows + 1), "age": rng.integers(16, 90, rows),
                          "income": rng.uniform(0, 90_000, rows), "benefit": rng.choice(["pip", "esa", "jsa"], rows)})
    (settings.data_dir / "claims").mkdir(parents=True)
    frame.to_csv(settings.data_dir / "claims" / "claims.csv", index=False)
    policy = make_policy()
    with Ledger(settings.ledger_url) as ledger:
        ledger.ensure_schema()
        ledger.sync_policies({"claims": policy})
    return settings, policy


def _dataset_budget(settings) -> tuple[Decimal, Decimal]:
    with Ledger(settings.ledger_url) as ledger:
        [budget] = [b for b in ledger.budgets(dataset="claims") if b.scope == "dataset"]
        return budget.spent, budget.remaining


def test_dp_twin_reserves_then_records_and_refuses_when_short(setup: tuple) -> None:
    settings, policy = setup
    build = build_dataset_twin(policy, settings, progress=False, builder="admin")
    spent, remaining = _dataset_budget(settings)
    assert Decimal("0.999999") < spent <= Decimal("1") and spent + remaining == Decimal("1.5")
    with Ledger(settings.ledger_url) as ledger:
        entries = [e for e in ledger.history(dataset="claims") if e.kind == "dp_twin"]
    reserve = next(e for e in entries if e.action == "reserve")
    assert reserve.actor == "admin" and reserve.status == "released"
    manifest = bundles.read_manifest(build.path)
    assert Decimal(manifest["dp"]["epsilon_reserved"]) == reserve.epsilon

    # Only 0.5 left: refused before any data is measured; nothing charged, nothing built.
    with pytest.raises(BudgetExceeded):
        build_dataset_twin(policy, settings, progress=False, builder="admin")
    assert _dataset_budget(settings) == (spent, remaining)
    assert bundles.released_versions(settings.twins_dir / "claims") == [build.version]


def test_dp_only_refuses_sdv_synthesizers(setup: tuple) -> None:
    settings, _ = setup
    with pytest.raises(SynthesisError, match="dp_only|differentially private"):
        build_dataset_twin(make_policy(synthesizer="gaussian_copula"), settings, progress=False, builder="admin")
    assert _dataset_budget(settings)[0] == 0


def test_listing_shows_the_guarantee_and_points_the_owner_to_the_real_data_comparison(
        setup: tuple, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from lab.cli import main
    from lab.twins import list_twins

    settings, policy = setup
    build = build_dataset_twin(policy, settings, progress=False, builder="admin")
    [summary] = list_twins(settings.twins_dir, "claims", settings.staging_dir)
    assert summary.epsilon == bundles.read_manifest(build.path)["dp"]["epsilon"]
    assert summary.quality is None  # fidelity is a real-data figure: not in the released bundle
    assert summary.fidelity is None  # so is the × floor
    assert summary.owner_report == build.owner_report and summary.owner_report.is_file()
    [public] = list_twins(settings.twins_dir, "claims")
    assert public.owner_report is None

    monkeypatch.setenv("LAB_ROOT", str(settings.root))
    monkeypatch.delenv("LAB_CONFIG", raising=False)
    assert main(["twin", "list"]) == 0
    listing = capsys.readouterr().out
    assert "owner only" in listing and f"DP, ε={summary.epsilon:.3g}" in listing
    assert str(build.owner_report) in listing


def test_a_new_dataset_needs_no_vault_restart(tmp_path: Path) -> None:
    """The build takes the dataset's budgets from the policy it follows (the ledger may be empty)."""
    settings = with_root(load_settings({"LAB_ROOT": str(tmp_path)}), tmp_path)
    rng = np.random.default_rng(1)
    (settings.data_dir / "claims").mkdir(parents=True)
    pd.DataFrame({"claim_id": np.arange(1, 301), "age": rng.integers(16, 90, 300),
                  "income": rng.uniform(0, 90_000, 300), "benefit": rng.choice(["pip", "esa", "jsa"], 300)}
                 ).to_csv(settings.data_dir / "claims" / "claims.csv", index=False)
    build_dataset_twin(make_policy(dataset_epsilon="3"), settings, progress=False, builder="owner")
    spent, remaining = _dataset_budget(settings)
    assert Decimal("0.999999") < spent <= 1 and spent + remaining == 3
