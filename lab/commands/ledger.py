"""``lab budget`` and ``lab ledger``: watch, top up and freeze privacy budgets; audit the ledger.

These are admin commands: they open the ledger database directly (``ledger_url`` in the
lab's settings), so they run as the vault's account. Budget commands first apply the
policies' limits (``Ledger.sync_policies``), so what they show is what the policies say.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING

from lab.commands.output import fail, table
from lab.errors import LabError
from lab.settings import load_settings

if TYPE_CHECKING:
    from lab.vault import Ledger

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``budget`` and ``ledger`` to the ``lab`` command's subcommands."""
    budget = commands.add_parser(
        "budget", help="show, top up, freeze and unfreeze privacy budgets",
        description="Privacy budgets (epsilon) per dataset, per user and per group, as the policies set them "
                    "plus admin top-ups. Every top-up, freeze and unfreeze is a ledger entry.")
    actions = budget.add_subparsers(dest="action", metavar="ACTION", required=True)

    show = actions.add_parser("show", help="print limits, spending and what is left",
                              description="Print every budget, or those that apply to one user (and groups).")
    show.add_argument("--dataset", metavar="D", help="only this dataset")
    show.add_argument("--user", metavar="U", help="the budgets that apply to this user")
    show.add_argument("--group", metavar="G", action="append", default=[], dest="groups",
                      help="also this group's allowance (repeatable)")
    show.set_defaults(handler=run_show)

    top_up = actions.add_parser("top-up", help="add epsilon to a user's, a group's or the dataset's budget",
                                description="Add epsilon to one budget. The amount is exact (a decimal such as "
                                            "0.5); the reason is kept in the ledger for audit.")
    _target_arguments(top_up)
    top_up.add_argument("--epsilon", required=True, type=_epsilon, metavar="X", help="epsilon to add, e.g. 0.5")
    _reason_arguments(top_up)
    top_up.set_defaults(handler=run_top_up)

    for verb, text in (("freeze", "refuse every release charged to a budget until it is unfrozen"),
                       ("unfreeze", "lift a freeze")):
        parser = actions.add_parser(verb, help=text, description=text[0].upper() + text[1:] + ".")
        _target_arguments(parser)
        _reason_arguments(parser)
        parser.set_defaults(handler=run_freeze, freeze=verb == "freeze")

    ledger = commands.add_parser("ledger", help="export, list and audit the privacy-loss ledger",
                                 description="The append-only record of every release from real data.")
    actions = ledger.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write the ledger as CSV or JSON",
                                description="Write the ledger's entries (oldest first) as CSV or versioned JSON.")
    export.add_argument("--format", required=True, choices=("csv", "json"), dest="fmt", help="output format")
    export.add_argument("--output", type=Path, metavar="FILE", help="write here (mode 0600) instead of stdout")
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    export.add_argument("--dataset", metavar="D", help="only this dataset")
    export.add_argument("--user", metavar="U", help="only entries by or about this user")
    export.set_defaults(handler=run_export)

    history = actions.add_parser("history", help="list ledger entries", description="List ledger entries.")
    history.add_argument("--dataset", metavar="D", help="only this dataset")
    history.add_argument("--user", metavar="U", help="only entries by or about this user")
    history.add_argument("--last", type=int, metavar="N", help="only the last N entries")
    history.set_defaults(handler=run_history)

    check = actions.add_parser("check", help="audit the ledger's running totals and references",
                               description="Check that every total equals the sum of its entries and that every "
                                           "outcome settles a reservation. Exit 1 if anything disagrees.")
    check.set_defaults(handler=run_check)


def run_show(args: argparse.Namespace) -> int:
    """``lab budget show``."""
    try:
        with _synced_ledger() as ledger:
            statuses = ledger.budgets(dataset=args.dataset, user=args.user, groups=args.groups)
    except LabError as error:
        return fail(error)
    if not statuses:
        print("no budgets" + (f" for dataset '{args.dataset}'" if args.dataset else "") +
              " (is there a policy for it? `lab policy validate`)")
        return EXIT_OK
    rows = [[s.dataset, s.scope if s.scope == "dataset" else f"{s.scope} {s.holder}", _eps(s.limit), _eps(s.spent),
             _eps(s.remaining), "frozen" if s.frozen else "", _eps(s.top_ups) if s.top_ups else ""]
            for s in statuses]
    print(table(rows, ["dataset", "budget", "limit", "spent", "remaining", "state", "top-ups"]))
    return EXIT_OK


def run_top_up(args: argparse.Namespace) -> int:
    """``lab budget top-up``."""
    try:
        with _synced_ledger() as ledger:
            entry = ledger.top_up(dataset=args.dataset, epsilon=args.epsilon, reason=args.reason, actor=_actor(args),
                                  user=args.user, group=args.group)
    except LabError as error:
        return fail(error)
    [total] = entry.totals
    print(f"topped up {total.label} on '{entry.dataset}' by ε={_eps(entry.epsilon)}: limit now {_eps(total.limit)}, "
          f"spent {_eps(total.spent)} (ledger entry {entry.id})")
    return EXIT_OK


def run_freeze(args: argparse.Namespace) -> int:
    """``lab budget freeze`` and ``lab budget unfreeze``."""
    try:
        with _synced_ledger() as ledger:
            act = ledger.freeze if args.freeze else ledger.unfreeze
            entry = act(dataset=args.dataset, reason=args.reason, actor=_actor(args), user=args.user, group=args.group)
    except LabError as error:
        return fail(error)
    [total] = entry.totals
    print(f"{'froze' if args.freeze else 'unfroze'} {total.label} on '{entry.dataset}' (ledger entry {entry.id})")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    """``lab ledger export``."""
    if args.output is not None and args.output.exists() and not args.force:
        print(f"error: {args.output} exists. Fix: choose another file, or add --force to overwrite it.",
              file=sys.stderr)
        return EXIT_REFUSED
    try:
        with _ledger() as ledger:
            write = ledger.export_csv if args.fmt == "csv" else ledger.export_json
            if args.output is None:
                write(sys.stdout, dataset=args.dataset, user=args.user)
                return EXIT_OK
            count = _write_privately(args.output, lambda fp: write(fp, dataset=args.dataset, user=args.user))
    except LabError as error:
        return fail(error)
    except OSError as error:
        print(f"error: cannot write {args.output} ({error.strerror}). Fix: choose a writable place.", file=sys.stderr)
        return EXIT_REFUSED
    print(f"wrote {count} ledger entries to {args.output}", file=sys.stderr)
    return EXIT_OK


def run_history(args: argparse.Namespace) -> int:
    """``lab ledger history``."""
    try:
        with _ledger() as ledger:
            entries = ledger.history(user=args.user, dataset=args.dataset)
    except LabError as error:
        return fail(error)
    if args.last is not None:
        entries = entries[-args.last:] if args.last > 0 else []
    rows = [[str(e.id), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.action, e.actor, e.dataset, e.kind or "",
             _eps(e.epsilon) if e.epsilon else "", e.status or "",
             str(e.reservation_id or "") or str(e.description.get("reason", ""))[:40]]
            for e in entries]
    print(table(rows, ["id", "at (UTC)", "action", "actor", "dataset", "kind", "epsilon", "status", "ref/reason"]))
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    """``lab ledger check``."""
    try:
        with _ledger() as ledger:
            problems = ledger.check_consistency()
    except LabError as error:
        return fail(error)
    for problem in problems:
        print(f"problem: {problem}")
    print("the ledger is consistent" if not problems else f"{len(problems)} problem(s) found")
    return EXIT_OK if not problems else EXIT_REFUSED


# -- helpers --------------------------------------------------------------------------------


@contextmanager
def _ledger(*, sync: bool = False) -> Iterator[Ledger]:
    """Open the settings' ledger (creating its tables on first use), optionally apply the
    policies' limits first, and close it afterwards."""
    from lab.vault import Ledger

    settings = load_settings()
    policies = None
    if sync:
        from lab.hackathon.budgets import ledger_policies
        from lab.policies import load_policies

        # With the hackathon events' team budgets: syncing bare policies would drop them.
        policies = ledger_policies(settings.policies_dir, load_policies(settings.policies_dir))
    ledger = Ledger(settings.ledger_url)
    try:
        ledger.ensure_schema()
        if policies is not None:
            for change in ledger.sync_policies(policies):
                print(f"policy: {change}", file=sys.stderr)
        yield ledger
    finally:
        ledger.close()


def _synced_ledger() -> AbstractContextManager[Ledger]:
    return _ledger(sync=True)


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, metavar="D", help="the dataset")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--user", metavar="U", help="a user's allowance")
    target.add_argument("--group", metavar="G", help="a group's allowance (the policy must give it one)")
    target.add_argument("--whole-dataset", action="store_true", help="the dataset's lifetime budget")


def _reason_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why; kept in the ledger")
    parser.add_argument("--actor", metavar="NAME",
                        help="who is acting, for the ledger (default: the login name, or SUDO_USER under sudo)")


def _actor(args: argparse.Namespace) -> str:
    """Who is acting: --actor, else the login name behind sudo, else the current login."""
    if args.actor:
        return str(args.actor)
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _epsilon(text: str) -> Decimal:
    from lab.vault import InvalidAmount, to_units

    try:
        to_units(text)
    except InvalidAmount as error:
        raise argparse.ArgumentTypeError(error.message) from None
    return Decimal(text.strip())


def _eps(value: Decimal) -> str:
    return format(value, "f")


def _write_privately(path: Path, write: Callable[[IO[str]], int]) -> int:
    """Write through a 0600 temporary file in the same directory, then rename into place."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fp:
            count = write(fp)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return int(count)
