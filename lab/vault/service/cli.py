"""The command line of the vault service: ``python -m lab.vault.service`` and ``lab vault serve``.

``main`` only parses arguments and wires settings into the service's plain parts. Heavy
imports (tornado, OpenDP, Polars) wait until the service starts, so ``lab --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_INPUT, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Serve the vault's DP query API: the dataset catalog, budgets, differentially private
answers from the real data (charged to the caller's privacy budget in the ledger), free
previews on the synthetic twins, and the caller's own ledger history.

Two modes:
  under JupyterHub (default)  run as a managed hub service. Callers are identified by
                              JupyterHub OAuth (token or login cookie) and their groups come
                              from the hub. Uses JUPYTERHUB_SERVICE_PREFIX, JUPYTERHUB_API_TOKEN,
                              JUPYTERHUB_API_URL and JUPYTERHUB_SERVICE_URL (the address to
                              bind), which the hub sets.
  --standalone --users FILE   for development and tests: tokens, names and groups from a
                              JSON file, routes under "/":
                                {"tokens": {"<token>": {"name": "alice",
                                            "groups": ["analysts"], "admin": false}}}

Callers send `Authorization: token <token>`. Routes: GET api/health, api/catalog,
api/budgets, api/history, api/ledger (admins), api/whoami; POST api/query, api/preview.
Web pages for people (datasets, budgets; admins: the ledger, twin builds) under dash/.
See docs/vault.md.
"""

EPILOG = """\
When ready it prints `lab-vault: listening on http://HOST:PORT/` on stdout; SIGTERM stops it
after the requests in flight. Exit codes: 0 stopped cleanly; 1 bad settings, policies or
users file (the message says how to fix it); 2 wrong command line.
Settings (policies, data, twins, ledger): LAB_ROOT, LAB_POLICIES_DIR, LAB_VAULT_DIR,
LAB_TWINS_DIR, LAB_LEDGER_URL, or a TOML file named by LAB_CONFIG. Limits (cost per request,
lanes, per-user rate and concurrency): LAB_VAULT_MAX_*, LAB_VAULT_USER_*, LAB_VAULT_QUEUE_*,
LAB_VAULT_PREVIEW_WORKERS (docs/vault.md, "Limits").

Example:
  python -m lab.vault.service --standalone --users users.json --host 127.0.0.1 --port 8765
  curl -H "Authorization: token $TOKEN" http://127.0.0.1:8765/api/catalog
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The service's options (shared by ``python -m lab.vault.service`` and ``lab vault serve``)."""
    parser.add_argument("--standalone", action="store_true",
                        help="identify callers from --users instead of JupyterHub")
    parser.add_argument("--users", metavar="FILE", help="standalone mode: JSON file mapping tokens to users")
    parser.add_argument("--host", metavar="HOST",
                        help="address to bind (default: 127.0.0.1 standalone; the host of "
                             "JUPYTERHUB_SERVICE_URL under the hub)")
    parser.add_argument("--port", type=_port, metavar="PORT",
                        help="port to bind; 0 picks a free one (default: 8765 standalone; the port of "
                             "JUPYTERHUB_SERVICE_URL under the hub)")
    parser.add_argument("--admin-group", action="append", default=[], metavar="GROUP", dest="admin_groups",
                        help="hub mode: members of this hub group are vault admins, like hub admins "
                             "(repeatable)")
    parser.add_argument("--workers", type=_positive, default=4, metavar="N",
                        help="threads for releases, ledger calls and file reads (default: 4)")
    parser.add_argument("--log-level", default="INFO", type=str.upper,
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="log level on stderr (default: INFO)")


def build_parser(prog: str = "python -m lab.vault.service") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve until SIGTERM; returns the exit code."""
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Start the service as ``args`` say (also the handler of ``lab vault serve``)."""
    from concurrent.futures import ThreadPoolExecutor

    from lab.errors import LabError
    from lab.settings import load_settings
    from lab.vault.service import app as service_app
    from lab.vault.service import auth
    from lab.vault.service.core import VaultService
    from lab.vault.service.limits import Admission, AdmissionLimits, Lane

    if args.standalone != bool(args.users):
        print("error: --standalone and --users FILE go together (standalone mode takes its tokens from FILE; "
              "under JupyterHub the hub identifies callers).", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="[%(levelname).1s %(asctime)s %(name)s] %(message)s")
    try:
        if args.standalone:
            identity: auth.Identity = auth.StandaloneIdentity(auth.load_users(args.users))
            host, port, prefix, hub_auth = args.host or "127.0.0.1", 8765 if args.port is None else args.port, "/", None
            if host not in ("127.0.0.1", "::1", "localhost"):
                logging.getLogger(__name__).warning(
                    "standalone mode on %s: tokens travel in clear over plain HTTP; use it on loopback only", host)
        else:
            hub = auth.hub_environment()
            hub_auth = auth.make_hub_auth(hub)
            identity = auth.HubIdentity(hub_auth, tuple(args.admin_groups))
            host, port, prefix = args.host or hub.host, hub.port if args.port is None else args.port, hub.prefix
        settings = load_settings()
        vault = VaultService.from_settings(settings)
    except LabError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_INPUT
    executor = ThreadPoolExecutor(max_workers=args.workers, thread_name_prefix="vault")
    # Previews get threads of their own: a queue of free previews never delays a DP query.
    previews = ThreadPoolExecutor(max_workers=settings.vault_preview_workers, thread_name_prefix="vault-preview")
    limits = AdmissionLimits.from_settings(settings)
    queries = Lane("query", executor, args.workers, limits)
    admission = Admission({"query": queries, "preview": Lane("preview", previews, settings.vault_preview_workers,
                                                             limits, yields_to=queries)}, limits)
    app = service_app.make_app(vault, identity, executor, prefix=prefix, hub_auth=hub_auth, admission=admission)
    try:
        service_app.run(vault, app, host, port, executor=executor, public_prefix=prefix,
                        behind_proxy=hub_auth is not None)
    except OSError as error:  # the address is taken or not ours
        print(f"error: cannot listen on {host}:{port} ({error.strerror}). Fix: choose another --port.",
              file=sys.stderr)
        return EXIT_INPUT
    finally:
        previews.shutdown(wait=False, cancel_futures=True)  # a preview charges nothing: no need to wait
    return EXIT_OK


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0-65535 (0 picks a free port)")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value
