"""Build, list and read the twins of the datasets that policies declare (admin side).

Building reads real data, so it runs in the vault's account (an admin command or the vault
service). Reading released twins touches only public bundles.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import TwinNotFound
from lab.policies import Policy, dataset_schema, release_gates, synthesis_spec
from lab.settings import LabSettings
from synth import bundle as bundles
from synth.dp import DPMarginals
from synth.errors import SynthesisError
from synth.loading import load_tables
from synth.pipeline import DatasetInfo, TwinBuild, build_twin


def build_dataset_twin(policy: Policy, settings: LabSettings, *, progress: bool = True,
                       rows: int | None = None, builder: str | None = None) -> TwinBuild:
    """Build the twin of one dataset from its policy and its real data in the vault.

    Args:
        rows: override the policy's twin size (rows of the main table).
        builder: who builds (charged for a DP twin); default the admin running the command
            (``SUDO_USER``, else the login name).

    A DP twin (``dp_marginals``) first reserves its ε, as OpenDP's maps price it, against the
    dataset's budgets in the ledger (kind ``dp_twin``); a refusal builds nothing and charges
    nothing. The outcome (released or failed) is recorded after. A ``dp_only`` policy refuses
    SDV synthesizers.

    Raises:
        DataLoadError, DataValidationError, SynthesisError, BundleError, ReleaseRefused,
        and the ledger's refusals (BudgetExceeded, BudgetFrozen, QueryCapExceeded).
    """
    sources = {name: (settings.data_dir / table.path, table.format) for name, table in policy.tables.items()}
    tables = load_tables(sources)
    spec = synthesis_spec(policy)
    if rows is not None:
        from dataclasses import replace

        spec = replace(spec, rows=rows)
    info = DatasetInfo(title=policy.title, owner=policy.owner, description=policy.description,
                       people_table=policy.main_table)
    schema = dataset_schema(policy)

    def build(dp_model: DPMarginals | None = None) -> TwinBuild:
        return build_twin(tables, schema, spec, release_gates(policy),
                          release_root=settings.twins_dir / policy.dataset,
                          staging_root=settings.staging_dir / policy.dataset, info=info, progress=progress,
                          dp_model=dp_model)

    if not spec.is_dp:
        if policy.synthesis.dp_only:
            raise SynthesisError(f"dataset '{policy.dataset}' requires differentially private twins (dp_only), and "
                                 f"'{spec.synthesizer}' is not differentially private. Fix: set synthesizer: "
                                 "dp_marginals in the policy.")
        return build()
    return _build_dp_twin(policy, settings, schema, spec, build, builder=builder)


def _build_dp_twin(policy: Policy, settings: LabSettings, schema: Any, spec: Any,
                   build: Callable[[DPMarginals], TwinBuild], *, builder: str | None) -> TwinBuild:
    """Plan and price the DP twin (public information only), reserve its ε, build, record the outcome.

    The dataset's budgets are first taken from ``policy`` (a new dataset is added to the ledger).

    The reservation comes first: if the ledger refuses, no real data is measured and nothing
    is charged. Once reserved, the charge stands whatever happens (the measurement may have run).
    """
    from lab.vault.ledger import Ledger

    model = DPMarginals.for_schema(schema, spec.parameters, spec.max_rows_per_person)
    plan = model.plan
    user = builder or os.environ.get("SUDO_USER") or getpass.getuser()
    with Ledger(settings.ledger_url) as ledger:
        # The policy this build follows sets the budgets it is charged against, as the vault
        # service does for every policy when it starts (so a new dataset needs no restart).
        ledger.ensure_schema()
        ledger.sync_policy(policy)
        reservation = ledger.reserve(user=user, groups=[], dataset=policy.dataset, epsilon=plan.epsilon_to_reserve,
                                     kind="dp_twin", description={
                                         "synthesizer": spec.synthesizer, "epsilon_opendp": plan.epsilon,
                                         "definition": plan.loss_target.kind, "delta": plan.loss_target.delta,
                                         "measurements": len(plan.steps), "seed": spec.seed})
        try:
            result = build(model)
        except BaseException as exc:
            ledger.record(reservation.id, "failed", {"error": type(exc).__name__})
            raise
        ledger.record(reservation.id, "released", {"version": result.version})
    return result


@dataclass(frozen=True)
class TwinSummary:
    """A released twin, as listed in the catalog."""

    dataset: str
    version: str
    path: Path
    title: str
    built_at: str
    synthesizer: str
    quality: float | None
    rows: dict[str, int]
    is_latest: bool
    epsilon: float | None = None  # DP twins: the ε charged (None: not differentially private)
    owner_report: Path | None = None  # DP twins: the owner's real-data comparison, if this process can see it
    fidelity: float | None = None  # 3-way "× floor" (synth.evaluation.marginals); None for DP twins' public bundles


def list_twins(twins_dir: Path, dataset: str | None = None, staging_dir: Path | None = None) -> list[TwinSummary]:
    """Released twins (all versions), newest last; incomplete bundles are never listed.

    With ``staging_dir`` (the vault's, readable by the owner's tools only), a DP twin's
    summary also points to its owner report; the summary never carries its figures.
    """
    summaries = []
    roots = [twins_dir / dataset] if dataset else sorted(p for p in twins_dir.iterdir() if p.is_dir()) \
        if twins_dir.is_dir() else []
    for root in roots:
        versions = bundles.released_versions(root)
        for version in versions:
            manifest = bundles.read_manifest(root / version)
            summaries.append(TwinSummary(
                dataset=manifest["dataset"], version=version, path=root / version, title=manifest["title"],
                built_at=manifest["built_at"], synthesizer=manifest["synthesizer"],
                quality=_quality(root / version), rows=manifest["twin_rows"], is_latest=version == versions[-1],
                fidelity=_fidelity(root / version),
                epsilon=(manifest.get("dp") or {}).get("epsilon"),
                owner_report=(None if staging_dir is None else
                              bundles.owner_report(staging_dir / manifest["dataset"], version)),
            ))
    return summaries


def twin_path(twins_dir: Path, dataset: str, version: str | None = None) -> Path:
    """The bundle directory of a released twin (the latest unless a version is given).

    Raises:
        TwinNotFound: no such released twin.
    """
    versions = bundles.released_versions(twins_dir / dataset)
    if not versions:
        raise TwinNotFound(f"no released twin of '{dataset}'. Fix: build one with `lab twin build {dataset}`, "
                           "or see `lab twin list`.")
    chosen = version or versions[-1]
    if chosen not in versions:
        raise TwinNotFound(f"'{dataset}' has no released version '{chosen}'. Released: {', '.join(versions)}.")
    return twins_dir / dataset / chosen


def read_card(twins_dir: Path, dataset: str, version: str | None = None) -> str:
    """The data card (Markdown) of a released twin."""
    return (twin_path(twins_dir, dataset, version) / "card.md").read_text(encoding="utf-8")


def _quality(bundle: Path) -> float | None:
    return _evaluation(bundle).get("quality", {}).get("score")


def _fidelity(bundle: Path) -> float | None:
    """The 3-way × floor; absent from a DP twin's public bundle (a real-data figure) and from older bundles."""
    ratio = (_evaluation(bundle).get("fidelity") or {}).get("three_way_ratio")
    return float(ratio) if isinstance(ratio, (int, float)) and not isinstance(ratio, bool) else None


def _evaluation(bundle: Path) -> dict[str, Any]:
    import json

    try:
        evaluation = json.loads((bundle / "evaluation.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return evaluation if isinstance(evaluation, dict) else {}
