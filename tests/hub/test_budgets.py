"""DP queries from a kernel go to the vault with the server's token, and charge that person only.

The welfare policy: analysts may query; 0.5 at most per query; 2 per user. Only alice
queries welfare in this session, so her allowance is exactly what this module spends.
"""

from __future__ import annotations

import json

from tests.support.hub_person import HubPerson

COUNT = "lab.query('welfare').count()"


def test_a_dp_query_is_charged_to_the_person_who_ran_it(servers: dict[str, HubPerson]):
    kernel = servers["alice"].kernel()
    try:
        kernel.run("import json").ok()
        out = kernel.run(f"import lab\nr = {COUNT}.run(epsilon=0.5)\nprint(r.epsilon == 0.5, r.remaining == 1.5)\n"
                         "b = lab.budget('welfare')\nprint(b.attrs['user'])\n"
                         "print(json.dumps([[h, float(s)] for h, s in zip(b['holder'], b['spent'])\n"
                         "                  if h == 'alice' or h is None]))").ok()
        exact, user, spent = out.strip().splitlines()
        assert exact == "True True" and user == "alice"
        assert ["alice", 0.5] in json.loads(spent)
    finally:
        kernel.close()
    ledger = servers["ada"].api("GET", "services/vault/api/ledger", params={"format": "json", "dataset": "welfare"})
    assert ledger.status_code == 200, ledger.text  # admins (the admins group) read the whole ledger
    charged = {entry["actor"] for entry in ledger.json()["entries"] if entry["action"] == "reserve"}
    assert charged == {"alice"}


def test_over_budget_is_refused_and_charges_nothing(servers: dict[str, HubPerson]):
    kernel = servers["alice"].kernel()
    try:
        kernel.run(f"import lab\nfor _ in range(3): {COUNT}.run(epsilon=0.5)").ok()  # 0.5 + 3 x 0.5 = 2: all spent
        refused = kernel.run(f"{COUNT}.run(epsilon=0.1)")
        assert refused.error is not None and refused.error[0] == "OverBudget", refused
        spent = kernel.run("b = lab.budget('welfare')\nprint(b[b['scope'] == 'user']['spent'].iloc[0] == 2)").ok()
        assert spent.strip() == "True"
    finally:
        kernel.close()


def test_a_dataset_the_groups_may_not_query_is_refused(servers: dict[str, HubPerson]):
    bob = servers["bob"].kernel()  # staff: every twin, no queries
    dan = servers["dan"].kernel()  # hackathon: not even the tax twin
    try:
        assert bob.run("import lab\nprint(lab.query('tax').count().preview().value > 0)").ok().strip() == "True"
        refused = bob.run("lab.query('tax').count().run(epsilon=0.1)")
        assert refused.error is not None and refused.error[0] == "NoAccess", refused
        hidden = dan.run("import lab\nlab.query('tax').count().run(epsilon=0.1)")
        assert hidden.error is not None and hidden.error[0] in ("NoAccess", "UnknownDataset"), hidden
        names = dan.run("print(sorted(lab.datasets()['name']))").ok()
        assert "tax" not in names and "welfare" in names
    finally:
        bob.close()
        dan.close()
    history = servers["bob"].api("GET", "services/vault/api/history")
    assert history.status_code == 200 and history.json()["entries"] == []
