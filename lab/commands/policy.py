"""``lab policy``: validate policy files and print their schema."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.commands.output import fail
from lab.errors import LabError
from lab.settings import load_settings


def register(commands: argparse._SubParsersAction) -> None:
    policy = commands.add_parser("policy", help="validate dataset policies, print the policy schema",
                                 description="Dataset policies: one YAML file per dataset (docs/policies.md).")
    actions = policy.add_subparsers(dest="action", metavar="ACTION", required=True)
    validate = actions.add_parser(
        "validate", help="check policy files; every problem is listed with its key and a fix",
        description="Check policy files. With no FILE, checks every *.yaml in the policies directory, "
                    "all or nothing: one invalid file means none is used.")
    validate.add_argument("files", nargs="*", type=Path, metavar="FILE", help="policy files (default: all)")
    validate.set_defaults(handler=run_validate)
    schema = actions.add_parser("schema", help="print the JSON Schema of policy files")
    schema.set_defaults(handler=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    from lab.hackathon import load_events
    from lab.policies import load_policies, load_policy

    events = {}
    try:
        if args.files:
            policies = {p.dataset: p for p in (load_policy(path) for path in args.files)}
        else:
            settings = load_settings()
            policies = load_policies(settings.policies_dir)
            events = load_events(settings.policies_dir, policies)  # policies/events/: hackathons
    except LabError as error:
        return fail(error)
    for name, policy in sorted(policies.items()):
        tables = ", ".join(f"{t} ({len(spec.columns)} columns)" for t, spec in policy.tables.items())
        print(f"ok  {name}: {tables}; synthesizer {policy.synthesis.synthesizer}")
    for name, event in sorted(events.items()):
        print(f"ok  event {name}: {', '.join(event.teams)}; {event.task.metric} of {event.task.dataset}."
              f"{event.task.target}; {event.opens:%Y-%m-%d %H:%M} to {event.closes:%Y-%m-%d %H:%M} UTC")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from lab.policies.model import Policy

    print(json.dumps(Policy.model_json_schema(), indent=2))
    return 0
