"""The service's work without HTTP: what is recorded when a release fails after the charge."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lab.settings import load_settings
from lab.vault import query_errors as qe
from lab.vault.engine import QueryEngine
from lab.vault.query_spec import parse_spec
from lab.vault.service.auth import Caller
from lab.vault.service.core import VaultService, describe


class EngineFailingAfterTheData(QueryEngine):
    """Fault injection: OpenDP fails part-way through a release, after it has read the data."""

    def release(self, query, epsilon):
        raise qe.ReleaseFailed("The vault could not compute this release. Privacy loss may have been incurred.")


def test_a_failed_release_keeps_its_charge_and_is_recorded_failed(tmp_path, lab_env):
    settings = load_settings({**lab_env, "LAB_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}"})
    vault = VaultService.from_settings(settings)
    vault.engine = EngineFailingAfterTheData(vault.policies, settings.data_dir)
    alice = Caller("alice", ("analysts",))
    try:
        with pytest.raises(qe.ReleaseFailed):
            vault.query(alice, {"dataset": "welfare", "statistic": "count", "epsilon": "0.25"})
        entries = vault.history(alice)["entries"]
        [reserve] = [e for e in entries if e["action"] == "reserve"]
        assert reserve["status"] == "failed" and reserve["epsilon"] == "0.25"
        [outcome] = [e for e in entries if e["action"] == "outcome"]
        assert outcome["description"]["detail"] == {"error": "release_failed"}
        [mine] = [b for b in vault.budgets(alice, "welfare")["budgets"] if b["scope"] == "user"]
        assert Decimal(mine["remaining"]) == Decimal("1.75")
        assert vault.ledger.check_consistency() == []
    finally:
        vault.close()


def test_the_ledger_description_is_the_callers_spec_without_long_lists():
    spec = parse_spec({"dataset": "welfare", "statistic": "count", "epsilon": "0.1",
                       "filters": [{"column": "dependants", "op": "in", "value": list(range(21))},
                                   {"column": "age", "op": ">=", "value": 66}]})
    assert describe(spec) == {"statistic": "count", "epsilon": "0.1", "confidence": 0.95, "via": "vault-service",
                              "filters": [["dependants", "in", "(21 values)"], ["age", ">=", 66]]}
