"""The twins the dashboard tests look at, made once per session in a subprocess (SDV and
torch never load into the test process)::

    python -m tests.dashboard.fixture_builds   (LAB_* variables as for `lab`)

* ``tax`` v0001: a real build through the lab's pipeline (``lab.twins.build_dataset_twin``)
  on the demo data, small enough to take seconds: released (under lenient gates), with its
  data card, its report (figures embedded) and its gate results;
* ``tax`` v0002: the same build under a release gate it cannot pass (min_quality 0.99), so
  it is rejected and kept in the vault's staging area, as ``lab twin build`` would leave it;
* ``welfare`` v0001: the service tests' quick twin (fitted and sampled, not evaluated), a
  released bundle with no card, report or gates;
* ``welfare`` v0002: a differentially private twin (``dp_marginals``, ε = 0.3) built through
  the lab's pipeline and charged to the welfare budget in the ledger; its owner's report
  stays in the vault's staging area;
* ``census``: no twin at all.
"""

from __future__ import annotations

import sys

from lab.policies import Policy, load_policies
from lab.settings import load_settings
from lab.twins import build_dataset_twin
from synth.errors import ReleaseRefused
from tests.service.fixture_twin import release_quick_twin

TAX_ROWS = 600
DP_EPSILON = 0.3


def make_builds() -> None:
    """Build the twins listed in the module's docs (in an empty lab root)."""
    settings = load_settings()
    tax = load_policies(settings.policies_dir)["tax"]
    # SDV's fit is not seeded, and on a small table the quality and DCR figures vary from run
    # to run: the released build gets gates it always passes (their figures are still
    # measured and recorded), the rejected one a quality floor no twin reaches.
    build_dataset_twin(_with_gates(tax, min_quality=0.1, min_dcr_protection=0.0, max_exact_copy_rate=0.5),
                       settings, progress=False, rows=TAX_ROWS)
    try:
        build_dataset_twin(_with_gates(tax, min_quality=0.99), settings, progress=False, rows=TAX_ROWS // 2)
    except ReleaseRefused:
        pass
    else:
        raise SystemExit("the tax build under min_quality 0.99 was released; the tests expect it rejected")
    release_quick_twin("welfare", 1000)
    welfare = _with_gates(load_policies(settings.policies_dir)["welfare"], min_quality=0.1, min_dcr_protection=0.0, max_exact_copy_rate=0.5)
    synthesis = welfare.synthesis.model_copy(update={"synthesizer": "dp_marginals", "parameters": {"epsilon": DP_EPSILON}})
    build_dataset_twin(welfare.model_copy(update={"synthesis": synthesis}), settings, progress=False, builder="ada")


def _with_gates(policy: Policy, **gates: float) -> Policy:
    return policy.model_copy(update={"release_gates": policy.release_gates.model_copy(update=gates)})


if __name__ == "__main__":
    make_builds()
    sys.exit(0)
