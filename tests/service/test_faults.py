"""When the vault's own resources fail: clear refusals, nothing charged, nothing leaked."""

from __future__ import annotations

import subprocess
import sys

from lab.demo import write_demo_datasets
from tests.service.running import REPO, lab_environ, running_vault


def test_a_damaged_data_file_gets_503_and_charges_nothing(tmp_path, lab_env, users_file, tokens):
    root = tmp_path / "root"
    write_demo_datasets(root / "vault" / "data", rows=300, seed=1, datasets=["welfare"], progress=False)
    env = {"LAB_ROOT": str(root), "LAB_POLICIES_DIR": lab_env["LAB_POLICIES_DIR"]}
    with running_vault(["--standalone", "--users", str(users_file), "--port", "0"], env, tmp_path / "vault.log") as vault:
        alice = vault.client(tokens["alice"])
        count = {"dataset": "welfare", "statistic": "count", "epsilon": "0.1"}
        assert alice.post("api/query", count).status_code == 200
        (root / "vault" / "data" / "welfare" / "claims.parquet").write_bytes(b"not parquet, and not data")
        response = alice.post("api/query", count)
        assert response.status_code == 503
        error = response.json()["error"]
        assert error["type"] == "DatasetUnavailable" and "log" in error["fix"]
        assert "parquet" not in response.text and "Traceback" not in response.text
        assert alice.remaining("welfare") == "1.9"  # only the first query was charged
        # The census data was never written: same refusal, before the ledger.
        assert alice.post("api/query", {**count, "dataset": "census"}).status_code == 503
    log = (tmp_path / "vault.log").read_text()
    assert "cannot open" in log and tokens["alice"] not in log


def test_an_unreachable_ledger_stops_the_start_with_a_message(tmp_path, lab_env, users_file):
    env = {"LAB_ROOT": str(tmp_path), "LAB_POLICIES_DIR": lab_env["LAB_POLICIES_DIR"],
           "LAB_LEDGER_URL": "postgresql+psycopg://nobody@127.0.0.1:1/ledger"}
    result = subprocess.run([sys.executable, "-m", "lab.vault.service", "--standalone", "--users", str(users_file)],
                            cwd=REPO, env=lab_environ(env), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "ledger" in result.stderr and "Traceback" not in result.stderr
    assert "listening" not in result.stdout
