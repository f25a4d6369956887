"""What each dashboard page shows, without HTTP: plain functions of the vault and the caller.

They apply the API's own rules (``access`` and :class:`VaultService`'s methods), so a page
never shows more than the API would give the same caller: the datasets their groups may
see, their own budgets and ledger entries; everyone's budgets, the whole ledger and the
rejected builds only to vault admins. Nothing here reads the real data: pages show
policies' public text, budgets, the ledger and twin manifests. The handlers run these
functions in the service's thread pool (they read the ledger and files).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from markupsafe import Markup

from lab.errors import TwinNotFound
from lab.vault.service import access
from lab.vault.service.auth import Caller
from lab.vault.service.builds import CARD, Build, document_path
from lab.vault.service.core import VaultService, budget_item
from lab.vault.service.errors import AdminOnly, BadParameter
from lab.vault.service.markdown_lite import render_markdown

#: How many ledger entries the admin page shows by default, and at most.
LEDGER_PAGE, LEDGER_MAX = 100, 1000


@dataclass(frozen=True)
class BudgetRow:
    """One budget, with what a bar needs (``share_left``: remaining / limit, 0-1)."""

    dataset: str
    scope: str
    holder: str
    label: str
    limit: str
    spent: str
    remaining: str
    frozen: bool
    share_left: float


@dataclass(frozen=True)
class EntryRow:
    """One ledger entry, as a table row: amounts and times formatted, the release summarised."""

    id: int
    at: str
    actor: str
    dataset: str
    action: str
    kind: str
    epsilon: str
    status: str
    summary: str


@dataclass(frozen=True)
class DatasetView:
    """A dataset the caller may see, with its latest released twin and their own allowance."""

    name: str
    title: str
    description: str
    owner: str
    can_query: bool
    query_epsilon_max: str
    twin: Build | None
    allowance: BudgetRow | None


@dataclass(frozen=True)
class CardView:
    """A twin's data card, rendered."""

    dataset: str
    title: str
    build: Build
    html: Markup


@dataclass(frozen=True)
class LedgerView:
    """The last entries of the ledger (newest first) under the admin's filters."""

    entries: list[EntryRow]
    matching: int
    dataset: str
    user: str
    limit: int


def my_datasets(vault: VaultService, caller: Caller) -> list[DatasetView]:
    """The datasets the caller may see (the API's catalog), with twins and their own allowance."""
    allowances = {b.dataset: b for b in my_budget_rows(vault, caller) if b.scope == "user"}
    return [DatasetView(name=name, title=policy.title, description=policy.description.strip(), owner=policy.owner,
                        can_query=access.can_query(policy, caller),
                        query_epsilon_max=amount(str(policy.budgets.query_epsilon_max)),
                        twin=vault.builds.latest(name), allowance=allowances.get(name))
            for name, policy in access.visible(vault.policies, caller).items()]


def card(vault: VaultService, caller: Caller, dataset: str, version: str | None = None) -> CardView:
    """The data card of a released twin (the latest unless ``version``), as HTML.

    Raises:
        UnknownDataset, NoAccess: as the API's catalog would.
        TwinNotFound: no such released twin, or it has no card.
    """
    policy = access.policy_for(vault.policies, caller, dataset, query=False)
    build = vault.builds.find(dataset, version) if version else vault.builds.latest(dataset)
    if build is None:
        raise TwinNotFound(f"'{dataset}' has no released twin yet, so there is no data card. "
                           f"Fix: ask the data owner ({policy.owner}) to build one.")
    if not build.has_card:
        raise TwinNotFound(f"the twin {build.version} of '{dataset}' was released without a data card. "
                           "Fix: ask an admin to rebuild it (`lab twin build`).")
    path, _ = document_path(build, CARD)
    return CardView(dataset=dataset, title=policy.title, build=build,
                    html=render_markdown(path.read_text(encoding="utf-8")))


def twin_document(vault: VaultService, caller: Caller, dataset: str, version: str, name: str) -> tuple[Path, str]:
    """A document (report, figure, card) of a released twin the caller may see: its path and type.

    Raises:
        UnknownDataset, NoAccess, TwinNotFound, FileNotServed.
    """
    access.policy_for(vault.policies, caller, dataset, query=False)
    return document_path(vault.builds.find(dataset, version), name)


def my_budget_rows(vault: VaultService, caller: Caller) -> list[BudgetRow]:
    """The budgets that apply to the caller (the API's ``api/budgets``)."""
    return [budget_row(item, you=caller.name) for item in vault.budgets(caller)["budgets"]]


def my_history(vault: VaultService, caller: Caller) -> list[EntryRow]:
    """The caller's own ledger entries (``api/history``), newest first, outcomes folded into status."""
    entries = vault.history(caller)["entries"]
    return [entry_row(e) for e in reversed(entries) if e["action"] != "outcome"]


def all_budgets(vault: VaultService, caller: Caller) -> dict[str, list[BudgetRow]]:
    """Admins: every budget in the ledger, by dataset."""
    require_admin(caller, "everyone's budgets")
    by_dataset: dict[str, list[BudgetRow]] = {}
    for status in vault.ledger.budgets():
        by_dataset.setdefault(status.dataset, []).append(budget_row(budget_item(status)))
    return dict(sorted(by_dataset.items()))


def ledger(vault: VaultService, caller: Caller, *, dataset: str | None, user: str | None,
           limit: str | None) -> LedgerView:
    """Admins: the last ``limit`` ledger entries, optionally of one dataset and/or by or about one user.

    Raises:
        AdminOnly: the caller is not a vault admin.
        BadParameter: ``limit`` is not a whole number from 1 to :data:`LEDGER_MAX`.
    """
    require_admin(caller, "the ledger")
    count = LEDGER_PAGE
    if limit:
        if not limit.isdigit() or not 1 <= int(limit) <= LEDGER_MAX:
            raise BadParameter(f"limit={limit!r} is not a number of entries from 1 to {LEDGER_MAX}.",
                               f"Use e.g. limit={LEDGER_PAGE}.")
        count = int(limit)
    entries = vault.ledger.history(user=user or None, dataset=dataset or None)
    rows = [entry_row(e.to_dict()) for e in reversed(entries[-count:])]
    return LedgerView(entries=rows, matching=len(entries), dataset=dataset or "", user=user or "", limit=count)


def builds(vault: VaultService, caller: Caller) -> dict[str, list[Build]]:
    """Admins: every twin build of every dataset, released or rejected, newest first."""
    require_admin(caller, "the twin builds")
    return {name: list(reversed(vault.builds.history(name))) for name in sorted(vault.policies)}


def rejected_document(vault: VaultService, caller: Caller, dataset: str, version: str,
                      name: str) -> tuple[Path, str]:
    """Admins: a document of a rejected build, kept in the vault for the data owner's review."""
    require_admin(caller, "rejected twins")
    access.policy_for(vault.policies, caller, dataset, query=False)
    return document_path(vault.builds.find(dataset, version, released=False), name)


def owner_report(vault: VaultService, caller: Caller, dataset: str, version: str) -> Path:
    """Admins: the full real-data comparison of a released DP twin (kept in the vault, never released)."""
    require_admin(caller, "the owners' reports of DP twins")
    access.policy_for(vault.policies, caller, dataset, query=False)
    path = vault.builds.owner_report(dataset, version)
    if path is None:
        raise TwinNotFound(f"'{dataset}' has no owner's report for '{version}' (only DP twins have one). "
                           "Fix: pick a DP build from the builds page.")
    return path


def require_admin(caller: Caller, what: str) -> None:
    """Refuse anyone but a vault admin, as ``api/ledger`` does."""
    if not caller.admin:
        raise AdminOnly(f"{what} are for vault administrators; you ({caller.name}) are not one. "
                        "Your own budgets and queries are under 'My budgets'.")


def budget_row(item: dict[str, Any], *, you: str | None = None) -> BudgetRow:
    """A budget as ``api/budgets`` shows it, ready for a table with a bar."""
    limit, remaining = _decimal(item["limit"]), _decimal(item["remaining"])
    scope, holder = item["scope"], item["holder"]
    if scope == "dataset":
        label = "Dataset (everyone)"
    elif scope == "user":
        label = "You" if holder == you else f"User {holder}"
    else:
        label = f"Group {holder}"
    share = float(remaining / limit) if limit > 0 else 0.0
    return BudgetRow(dataset=item["dataset"], scope=scope, holder=holder, label=label, limit=amount(item["limit"]),
                     spent=amount(item["spent"]), remaining=amount(item["remaining"]), frozen=bool(item["frozen"]),
                     share_left=min(max(share, 0.0), 1.0))


def entry_row(entry: dict[str, Any]) -> EntryRow:
    """A ledger entry (``Entry.to_dict``) as a table row."""
    return EntryRow(id=int(entry["id"]), at=when(entry["at"]), actor=entry["actor"], dataset=entry["dataset"],
                    action=entry["action"], kind=entry.get("kind") or "", epsilon=amount(entry["epsilon"]),
                    status=entry.get("status") or "", summary=summary(entry))


def summary(entry: dict[str, Any]) -> str:
    """What an entry released or why it was made, in words (the ledger holds no data values)."""
    described = entry.get("description") or {}
    if "statistic" in described:
        words = [str(described["statistic"])]
        if described.get("column"):
            words.append(f"of {described['column']}")
        if described.get("table"):
            words.append(f"in {described['table']}")
        filters = described.get("filters") or []
        if filters:
            words.append("where " + " and ".join(" ".join(str(part) for part in f) for f in filters))
        if described.get("group_by"):
            words.append("by " + ", ".join(str(g) for g in described["group_by"]))
        return " ".join(words)
    if "reason" in described:
        return str(described["reason"])
    changes = described.get("changes")
    if isinstance(changes, dict):  # a policy's budgets applied to the ledger
        return "; ".join(f"{key}: {_shown(change, 'from')} → {_shown(change, 'to')}" for key, change in changes.items()
                         if isinstance(change, dict))
    if entry.get("action") == "outcome":
        return f"outcome of #{entry.get('reservation_id')}: {described.get('outcome', entry.get('status'))}"
    return "; ".join(f"{key}: {value}" for key, value in described.items())


def amount(text: str) -> str:
    """An epsilon as people write it: exact, without trailing zeros (``0.200000`` -> ``0.2``)."""
    value = _decimal(text)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def when(iso: str) -> str:
    """An ISO time as ``2026-11-25 00:50:11 UTC``."""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _shown(change: dict[str, Any], side: str) -> str:
    value = change.get(side)
    return "none" if value is None else str(value)


def _decimal(text: Any) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return Decimal(0)
