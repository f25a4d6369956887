"""``lab demo-data`` and ``lab demo``: the demo datasets and a ready-to-use demo lab."""

from __future__ import annotations

import argparse

from lab.commands.output import fail, privacy_cell, quality_cell
from lab.errors import LabError
from lab.settings import load_settings
from synth.errors import ReleaseRefused, SynthError


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser(
        "demo-data", help="write the seeded demo datasets (census, welfare, tax) into the vault",
        description="Write realistic, entirely invented stand-ins for sensitive public-sector microdata "
                    "into the vault's data directory, as the paths in policies/ expect. The same seed "
                    "always gives the same data.")
    data.add_argument("--rows", type=_positive, default=20_000, metavar="N",
                      help="rows per dataset (persons for census); up to millions (default: 20000)")
    data.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    data.add_argument("--dataset", action="append", metavar="NAME",
                      help="only this dataset (repeatable; default: all)")
    data.add_argument("--no-progress", action="store_true", help="no progress bars")
    data.set_defaults(handler=run_demo_data)

    demo = commands.add_parser(
        "demo", help="prepare the demo lab: demo data and released twins, skipping what exists",
        description="Write the demo datasets if they are missing, then build a twin of every demo dataset "
                    "that has none released yet. Safe to run again.")
    demo.add_argument("--rows", type=_positive, default=20_000, metavar="N", help="rows per demo dataset")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(handler=run_demo)


def run_demo_data(args: argparse.Namespace) -> int:
    from lab.demo import write_demo_datasets

    settings = load_settings()
    try:
        written = write_demo_datasets(settings.data_dir, rows=args.rows, seed=args.seed, datasets=args.dataset,
                                      progress=not args.no_progress)
    except LabError as error:
        return fail(error)
    for dataset, paths in written.items():
        for path in paths:
            print(f"{dataset}: {path}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from lab.demo import DEMO_DATASETS, write_demo_datasets
    from lab.policies import load_policies
    from lab.twins import build_dataset_twin, list_twins

    settings = load_settings()
    try:
        policies = load_policies(settings.policies_dir)
    except LabError as error:
        return fail(error)
    missing = [name for name in DEMO_DATASETS if name in policies and not all(
        (settings.data_dir / table.path).is_file() for table in policies[name].tables.values())]
    if missing:
        print(f"Writing demo data ({', '.join(missing)}) into {settings.data_dir}")
        write_demo_datasets(settings.data_dir, rows=args.rows, datasets=missing, progress=not args.no_progress)
    released = {twin.dataset for twin in list_twins(settings.twins_dir)}
    status = 0
    for name in DEMO_DATASETS:
        if name not in policies or name in released:
            continue
        print(f"Building the twin of '{name}'")
        try:
            build = build_dataset_twin(policies[name], settings, progress=not args.no_progress)
            print(f"  released {build.version} at {build.path}")
        except ReleaseRefused as error:
            print(f"error: {error.message}")
            status = 3
        except (LabError, SynthError) as error:
            status = fail(error)
    for twin in list_twins(settings.twins_dir):
        if twin.is_latest:
            print(f"{twin.dataset:10} {twin.version}  quality {quality_cell(twin)}  {privacy_cell(twin)}  {twin.path}")
    return status


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value
