"""The ``lab`` command: demo data, policies, twins (and, from lab.commands, budgets).

Exit codes, for scripts:
    0  success
    1  the input is wrong (policy, data, name); the message says what and how to fix it
    2  the command line is wrong (unknown option, missing argument)
    3  a twin was built but not released: a release gate failed
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from lab.commands import demo, policy, twin

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3

_DESCRIPTION = """\
The data lab's admin command: synthetic twins of sensitive datasets, their policies,
and the privacy budgets of the vault.

Typical first session:
  lab demo-data                 write the demo datasets into the vault
  lab policy validate           check every policy in the policies directory
  lab twin build --all          build, evaluate and release a twin of every dataset
  lab twin list                 what is released
  lab twin card welfare         read a twin's data card

Your own CSV: write a policy (docs/policies.md shows one), put the CSV where its
`path` says under the vault's data directory (`lab paths` prints it), then
`lab policy validate` and `lab twin build <dataset>`.
"""

_EPILOG = """\
exit codes: 0 success; 1 wrong input (policy, data, name: the message says how to fix it);
2 wrong command line; 3 twin built but not released (a release gate failed).
Settings: LAB_ROOT, LAB_POLICIES_DIR, LAB_VAULT_DIR, LAB_TWINS_DIR, LAB_LEDGER_URL, or a
TOML file named by LAB_CONFIG (see docs/settings.md).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lab", description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    paths = commands.add_parser("paths", help="print where the lab keeps policies, real data and twins")
    paths.set_defaults(handler=_paths)
    demo.register(commands)
    policy.register(commands)
    twin.register(commands)
    for optional in ("lab.commands.ledger", "lab.commands.vault", "lab.commands.hub", "lab.commands.academy"):
        try:
            module = __import__(optional, fromlist=["register"])
        except ImportError:
            continue
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args))


def _paths(args: argparse.Namespace) -> int:
    from lab.settings import load_settings

    settings = load_settings()
    print(json.dumps({
        "root": str(settings.root),
        "policies": str(settings.policies_dir),
        "vault data": str(settings.data_dir),
        "twins": str(settings.twins_dir),
        "ledger": settings.ledger_url,
    }, indent=2))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
