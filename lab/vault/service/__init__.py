"""The vault's DP query service: an HTTP API (tornado, JupyterHub's stack) over the query
engine and the privacy-loss ledger, run as a JupyterHub service or standalone.

Modules: ``core`` (the work of each route, no HTTP), ``auth`` (who is calling), ``access``
(what their groups allow), ``catalog`` and ``twins`` (public metadata, released twins),
``handlers`` and ``app`` (HTTP), ``errors`` (refusals and their JSON), ``cli`` (the command).
The dashboard's web pages: ``dashboard`` (HTTP), ``dashboard_views`` (what each page shows),
``builds`` (twin builds and their documents), ``markdown_lite`` (data cards).
"""

from lab.vault.service.app import make_app, serve
from lab.vault.service.auth import Caller, HubIdentity, StandaloneIdentity, load_users
from lab.vault.service.cli import main
from lab.vault.service.core import VaultService

__all__ = [
    "Caller",
    "HubIdentity",
    "StandaloneIdentity",
    "VaultService",
    "load_users",
    "main",
    "make_app",
    "serve",
]
