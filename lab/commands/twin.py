"""``lab twin``: build, list, read and verify synthetic twins."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from lab.commands.output import fail, fidelity_cell, privacy_cell, quality_cell, table
from lab.errors import DatasetNotFound, LabError
from lab.settings import load_settings
from synth.errors import ReleaseRefused, SynthError

if TYPE_CHECKING:
    from synth.pipeline import TwinBuild  # not at run time: it loads the SDV pipeline


def register(commands: argparse._SubParsersAction) -> None:
    twin = commands.add_parser("twin", help="build, list and read synthetic twins",
                               description="Synthetic twins: versioned bundles of twin data, report and card.")
    actions = twin.add_subparsers(dest="action", metavar="ACTION", required=True)

    build = actions.add_parser(
        "build", help="build, evaluate and (if it passes its gates) release twins",
        description="Fit the policy's synthesizer on the real data, sample a twin, evaluate it, and release "
                    "it as the next version if it passes every release gate. The default synthesizer, cart "
                    "(sequential trees), keeps relationships between columns; the policy's rules hold in every "
                    "twin, and the report gives fidelity as '× floor' (1.0× = as close to unseen real rows as a "
                    "second real sample). A twin that fails a gate is "
                    "kept in the vault's staging area for review and the command exits with 3. A DP twin "
                    "(synthesizer: dp_marginals) first reserves its privacy loss against the dataset's budget in "
                    "the ledger: if the budget is short nothing is read, built or charged (exit 1); its "
                    "comparison with the real data goes to the data owner's report in the vault, not the bundle.")
    build.add_argument("datasets", nargs="*", metavar="DATASET", help="datasets to build (see `lab policy validate`)")
    build.add_argument("--all", action="store_true", help="build every dataset that has a policy")
    build.add_argument("--rows", type=int, metavar="N", help="twin rows of the main table (default: the policy's)")
    build.add_argument("--no-progress", action="store_true", help="no progress bars")
    build.set_defaults(handler=run_build)

    listing = actions.add_parser("list", help="list released twins")
    listing.add_argument("dataset", nargs="?", help="only this dataset")
    listing.add_argument("--all-versions", action="store_true", help="show every version, not just the latest")
    listing.set_defaults(handler=run_list)

    card = actions.add_parser("card", help="print a twin's data card (Markdown)")
    card.add_argument("dataset")
    card.add_argument("--version", help="a version such as v0002 (default: the latest)")
    card.set_defaults(handler=run_card)

    verify = actions.add_parser("verify", help="check a released twin's files against its manifest hashes")
    verify.add_argument("dataset")
    verify.add_argument("--version", help="a version such as v0002 (default: the latest)")
    verify.set_defaults(handler=run_verify)


def run_build(args: argparse.Namespace) -> int:
    from lab.policies import load_policies
    from lab.twins import build_dataset_twin

    settings = load_settings()
    try:
        policies = load_policies(settings.policies_dir)
        names = sorted(policies) if args.all else list(args.datasets)
        if not names:
            print("error: name at least one dataset, or use --all. Datasets: " + ", ".join(sorted(policies)),
                  file=sys.stderr)
            return 2
        for name in names:
            if name not in policies:
                raise DatasetNotFound(f"no policy declares a dataset named '{name}'. "
                                      f"Fix: use one of {', '.join(sorted(policies))}.")
    except LabError as error:
        return fail(error)
    status = 0
    for name in names:
        try:
            build = build_dataset_twin(policies[name], settings, progress=not args.no_progress, rows=args.rows)
        except ReleaseRefused as error:
            print(f"error: {error.message}", file=sys.stderr)
            status = max(status, 3)
            continue
        except (LabError, SynthError) as error:
            status = max(status, fail(error))
            continue
        print(f"released {name} {build.version} ({_build_figures(build)}) at {build.path}")
        if build.evaluation.fidelity is not None and build.owner_report is None:
            print(f"  {build.evaluation.fidelity.sentence}")
        if build.owner_report is not None:
            print(f"  differentially private twin: users see no real-data figure; the full comparison for the "
                  f"data owner is {build.owner_report}")
        for outcome in build.gates:
            print(f"  pass  {outcome.describe()}")
    return status


def run_list(args: argparse.Namespace) -> int:
    from lab.twins import list_twins

    settings = load_settings()
    twins = [t for t in list_twins(settings.twins_dir, args.dataset, settings.staging_dir)
             if args.all_versions or t.is_latest]
    if not twins:
        print("No released twins yet. Build one with `lab twin build DATASET` (or `lab demo`).")
        return 0
    rows = [[t.dataset, t.version, t.title, t.synthesizer, quality_cell(t), fidelity_cell(t), privacy_cell(t),
             ", ".join(f"{n} {c:,}" for n, c in t.rows.items()), t.built_at] for t in twins]
    print(table(rows, ["dataset", "version", "title", "synthesizer", "quality", "× floor", "privacy", "rows",
                       "built"]))
    reports = [t for t in twins if t.owner_report is not None]
    if reports:
        print("\nDP twins' real-data comparison (data owner only, not released with the twin):")
        for t in reports:
            print(f"  {t.dataset} {t.version}: {t.owner_report}")
    return 0


def run_card(args: argparse.Namespace) -> int:
    from lab.twins import read_card

    try:
        print(read_card(load_settings().twins_dir, args.dataset, args.version))
    except LabError as error:
        return fail(error)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from lab.twins import twin_path
    from synth.bundle import verify_bundle

    try:
        path = twin_path(load_settings().twins_dir, args.dataset, args.version)
        problems = verify_bundle(path)
    except LabError as error:
        return fail(error)
    except SynthError as error:
        return fail(error)
    if problems:
        for problem in problems:
            print(f"error: {path}: {problem}", file=sys.stderr)
        return 1
    print(f"ok  {path}: every file matches the manifest")
    return 0


def _build_figures(build: TwinBuild) -> str:
    """Quality, × floor and rules kept, as one short phrase for the build's result line."""
    evaluation = build.evaluation
    parts = [f"quality {evaluation.quality.score:.3f}" if evaluation.quality.score is not None else "quality -"]
    fidelity = evaluation.fidelity
    if fidelity is not None and fidelity.three_way_ratio is not None:
        parts.append(f"3-way fidelity {fidelity.three_way_ratio:.1f}× floor")
    if evaluation.rules:
        kept = sum(rule.get("violations") == 0 for rule in evaluation.rules)
        parts.append(f"rules kept {kept} of {len(evaluation.rules)}")
    return ", ".join(parts)
