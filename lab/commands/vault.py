"""``lab vault serve``: run the vault's DP query service (the same as ``python -m lab.vault.service``).

The service's options are defined once, in lab.vault.service.cli. Importing it loads the
vault (SQLAlchemy, OpenDP, tornado), which every ``lab`` command would then pay for at
start-up; so ``serve`` takes its arguments verbatim and hands them to the service's own
parser only when it runs (``lab vault serve --help`` prints that parser's help).
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``vault`` (with ``serve``) to the ``lab`` command's subcommands."""
    vault = commands.add_parser("vault", help="run the vault's DP query service",
                                description="The vault: the service that answers DP queries on the real data "
                                            "and charges the caller's privacy budget.")
    actions = vault.add_subparsers(dest="action", metavar="ACTION", required=True)
    serve = actions.add_parser(
        "serve", add_help=False, prefix_chars="\0",  # every argument, --help included, goes to the service
        help="serve the DP query API (under JupyterHub, or --standalone --users FILE); --help for options",
        usage="lab vault serve [--standalone --users FILE] [--host HOST] [--port PORT] [...] (see --help)")
    serve.add_argument("options", nargs=argparse.REMAINDER)
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """``lab vault serve``."""
    from lab.vault.service.cli import build_parser, run

    return run(build_parser(prog="lab vault serve").parse_args(args.options))
