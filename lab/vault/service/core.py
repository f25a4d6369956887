"""What the vault service does, without HTTP: every route's work as one plain method.

The handlers run these methods in a thread pool (they read files, the ledger and the
data), and tests may call them directly. A DP query goes, in this order::

    parse → access check → validate (against the policy) → ε floor → cost estimate
          → price (OpenDP's map) → daily count → ledger.reserve(the caller) → engine.release
          → ledger.record(released | failed)

Everything before ``reserve`` is a refusal that charges nothing. ``reserve`` is the
atomic check-and-charge of every budget that applies; only then is the data touched.
Once reserved, the charge stands whatever happens next (see lab.vault.ledger).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lab.hackathon import load_events
from lab.hackathon.budgets import with_team_budgets
from lab.policies import load_policies
from lab.policies.model import Policy
from lab.settings import LabSettings
from lab.vault import cost as costs
from lab.vault import query_errors as qe
from lab.vault.cost import CostLimits
from lab.vault.engine import QueryEngine
from lab.vault.errors import LedgerError
from lab.vault.ledger import Ledger
from lab.vault.ledger_records import BudgetStatus, Reservation
from lab.vault.query_quota import DailyLimit, DailyQuota
from lab.vault.query_spec import QuerySpec, ValidatedQuery, parse_spec, validate_spec
from lab.vault.service import access
from lab.vault.service.auth import Caller
from lab.vault.service.builds import BuildStore
from lab.vault.service.catalog import catalog_entry
from lab.vault.service.errors import AdminOnly, BadParameter, DailyQueryLimitReached
from lab.vault.service.twins import TwinStore

if TYPE_CHECKING:  # imported in from_settings: lab.vault.hackathon imports this package's errors
    from lab.vault.hackathon import HackathonDesk

log = logging.getLogger(__name__)

#: How much a ledger entry says about a query (the ledger refuses descriptions over 4000 characters).
_MAX_LISTED_VALUES = 20
_MAX_DESCRIPTION = 3000


class VaultService:
    """The vault's routes as methods; each takes the authenticated caller first.

    Args:
        policies: every dataset's validated policy, by name.
        engine: prices, releases and previews queries.
        ledger: the privacy-loss ledger (its budgets already synced from ``policies``).
        twins: the released twins, for previews and the catalog.
        builds: every twin build, released or rejected, for the dashboard (default: the
            released ones under ``twins``' directory).
        hackathon: the hackathon events' submissions and leaderboards (None: no events).
        limits: the most one preview or query may cost (default: the settings' defaults).
    """

    def __init__(self, policies: Mapping[str, Policy], engine: QueryEngine, ledger: Ledger,
                 twins: TwinStore, builds: BuildStore | None = None, hackathon: HackathonDesk | None = None,
                 limits: CostLimits | None = None) -> None:
        self.policies = dict(policies)
        self.engine = engine
        self.ledger = ledger
        self.twins = twins
        self.builds = builds if builds is not None else BuildStore(twins.twins_dir)
        self.hackathon = hackathon
        self.limits = limits or CostLimits()
        self.quota = DailyQuota(ledger)

    @classmethod
    def from_settings(cls, settings: LabSettings) -> VaultService:
        """Open everything the settings name and apply the policies' budgets to the ledger.

        Raises:
            PolicyError: a policy file is invalid (nothing is served).
            LedgerError: the ledger cannot be opened or prepared.
        """
        policies = load_policies(settings.policies_dir)
        events = load_events(settings.policies_dir, policies)  # policies/events/*.yaml; all valid or none
        ledger = Ledger(settings.ledger_url)
        try:
            ledger.ensure_schema()
            for change in ledger.sync_policies(with_team_budgets(policies, events)):
                log.info("policy: %s", change)
        except BaseException:
            ledger.close()
            raise
        from lab.vault.hackathon import HackathonDesk

        desk = HackathonDesk(events, policies, ledger, settings.data_dir, settings.vault_dir / "hackathon")
        return cls(policies, QueryEngine(policies, settings.data_dir), ledger, TwinStore(settings.twins_dir),
                   BuildStore(settings.twins_dir, settings.staging_dir), desk, CostLimits.from_settings(settings))

    def close(self) -> None:
        """Close the ledger's connections."""
        self.ledger.close()

    # -- reading ---------------------------------------------------------------------

    def catalog(self, caller: Caller) -> dict[str, Any]:
        """``GET api/catalog``: the datasets the caller may see, with their public metadata."""
        return {"datasets": [catalog_entry(policy, can_query=access.can_query(policy, caller),
                                           twin=self.twins.latest(name))
                             for name, policy in access.visible(self.policies, caller).items()]}

    def budgets(self, caller: Caller, dataset: str | None = None) -> dict[str, Any]:
        """``GET api/budgets``: the budgets that apply to the caller, on the datasets they may see."""
        if dataset is not None:
            access.policy_for(self.policies, caller, dataset, query=False)
        return {"user": caller.name, "budgets": self._budget_items(caller, dataset)}

    def history(self, caller: Caller, dataset: str | None = None) -> dict[str, Any]:
        """``GET api/history``: the caller's own ledger entries, oldest first."""
        entries = self.ledger.history(user=caller.name, dataset=dataset)
        return {"user": caller.name, "entries": [entry.to_dict() for entry in entries]}

    def ledger_export(self, caller: Caller, fmt: str = "json", *, dataset: str | None = None,
                      user: str | None = None) -> str:
        """``GET api/ledger`` (admins only): the journal as versioned JSON or CSV text."""
        if not caller.admin:
            raise AdminOnly(f"the whole ledger is for vault administrators; you ({caller.name}) are not one. "
                            "Your own entries are at api/history.")
        if fmt not in ("json", "csv"):
            raise BadParameter(f"format={fmt!r} is not an export format.", "Use format=json or format=csv.")
        out = io.StringIO()
        write = self.ledger.export_json if fmt == "json" else self.ledger.export_csv
        write(out, dataset=dataset, user=user)
        return out.getvalue()

    # -- answering -------------------------------------------------------------------

    def query(self, caller: Caller, payload: Any) -> dict[str, Any]:
        """``POST api/query``: a DP answer from the real data, charged to the caller.

        Raises:
            QueryError: the spec is invalid (nothing charged); ReleaseFailed after the charge.
            NoAccess: the caller may not query the dataset (nothing charged).
            QueryTooCostly: the query is over a cost limit (nothing charged).
            BudgetRefused: a budget cannot pay (nothing charged).
            DailyQueryLimitReached: the caller's queries of the day are used up (nothing charged).
            LedgerUnavailable: the ledger could not reserve (nothing charged).
        """
        spec, query = self._validated(caller, payload, for_query=True)
        budgets = self.policies[query.dataset].budgets
        check_epsilon_floor(query.epsilon, budgets.query_epsilon_min)
        costs.check(costs.estimate(query, self.engine.rows(query)), self.limits, rows_public=False)
        price = self.engine.price(query)
        try:
            reservation = self.quota.reserve(
                caller.name, query.dataset, budgets.queries_per_user_per_day,
                lambda: self.ledger.reserve(user=caller.name, groups=caller.groups, dataset=query.dataset,
                                            epsilon=price, kind="dp_query", description=describe(spec)))
        except DailyLimit as limit:
            raise DailyQueryLimitReached(
                f"you ({caller.name}) have made {limit.limit} DP queries on '{query.dataset}' today (UTC), the "
                "most its policy allows in a day (budgets.queries_per_user_per_day). Nothing was charged.",
                retry_after=limit.seconds_left) from None
        try:
            answer = self.engine.release(query, reservation.epsilon)
        except BaseException as exc:
            self._record(reservation, "failed", {"error": getattr(exc, "code", type(exc).__name__)})
            raise
        self._record(reservation, "released", {})
        try:
            budgets = self._budget_items(caller, query.dataset)
        except LedgerError:  # the answer is paid for: deliver it even if the totals cannot be read now
            log.exception("could not read budgets after reservation %d", reservation.id)
            budgets = []
        return {"answer": answer.to_dict(), "charge": {"epsilon": _eps(reservation.epsilon),
                                                       "entry_id": reservation.id}, "budgets": budgets}

    def preview(self, caller: Caller, payload: Any) -> dict[str, Any]:
        """``POST api/preview``: the same statistic computed exactly on the latest twin; free.

        A preview spends nothing, so its epsilon may be left out (the spec needs one to validate).
        """
        if isinstance(payload, dict) and "epsilon" not in payload:
            payload = {**payload, "epsilon": PREVIEW_EPSILON}
        _, query = self._validated(caller, payload, for_query=False)
        twin, frame, rows = self.twins.scan(query.dataset, query.table)
        costs.check(costs.estimate(query, rows), self.limits, rows_public=True)
        answer = self.engine.preview(query, frame)
        return {"answer": answer.to_dict(), "source": "twin", "twin_version": twin.version, "charge": None}

    # -- internals ---------------------------------------------------------------------

    def _validated(self, caller: Caller, payload: Any, *, for_query: bool) -> tuple[QuerySpec, ValidatedQuery]:
        # Access is checked before the policy-specific validation, whose messages name columns.
        spec = parse_spec(payload)
        policy = access.policy_for(self.policies, caller, spec.dataset, query=for_query)
        return spec, validate_spec(spec, policy)

    def _budget_items(self, caller: Caller, dataset: str | None) -> list[dict[str, Any]]:
        visible = access.visible(self.policies, caller)
        statuses = self.ledger.budgets(dataset=dataset, user=caller.name, groups=caller.groups)
        return [budget_item(s) for s in statuses if s.dataset in visible]

    def _record(self, reservation: Reservation, outcome: str, detail: dict[str, Any]) -> None:
        try:
            self.ledger.record(reservation.id, outcome, detail)  # type: ignore[arg-type]
        except LedgerError:
            # The charge stands either way; without an outcome the entry reads "kept".
            log.exception("could not record outcome %r of reservation %d", outcome, reservation.id)


#: Stands in for a preview's missing epsilon: previews run on the twin and are never charged.
PREVIEW_EPSILON = "0.000000000001"


def check_epsilon_floor(epsilon: Decimal, floor: Decimal) -> None:
    """Refuse a DP query below the policy's floor: its answer is noise, and it would still cost a ledger row.

    Raises:
        BadPrivacyLoss: ``epsilon`` is below ``floor`` (nothing charged).
    """
    if epsilon < floor:
        raise qe.QueryError.from_problems([qe.QueryProblem(
            qe.BadPrivacyLoss, "epsilon", f"epsilon={epsilon} is below this dataset's minimum of {_eps(floor)} per "
            "query (budgets.query_epsilon_min): the answer would be almost all noise",
            f"ask for at least {_eps(floor)}, or use a free preview on the twin")])


def budget_item(status: BudgetStatus) -> dict[str, Any]:
    """One budget as the API shows it (amounts as exact decimal strings)."""
    return {"dataset": status.dataset, "scope": status.scope, "holder": status.holder,
            "limit": _eps(status.limit), "spent": _eps(status.spent), "remaining": _eps(status.remaining),
            "frozen": status.frozen}


def describe(spec: QuerySpec) -> dict[str, Any]:
    """What the ledger records about a query: the caller's own spec, long value lists shortened."""
    filters = []
    for f in spec.filters:
        value: Any = list(f.value) if isinstance(f.value, tuple) else f.value
        if isinstance(value, list) and len(value) > _MAX_LISTED_VALUES:
            value = f"({len(value)} values)"
        filters.append([f.column, f.op, value])
    described = {"statistic": spec.statistic, "table": spec.table, "column": spec.column, "q": spec.q,
                 "bounds": list(spec.bounds) if spec.bounds else None,
                 "bins": len(spec.bins) if spec.bins else spec.bin_count,
                 "filters": filters, "group_by": list(spec.group_by), "confidence": spec.confidence,
                 "epsilon": _eps(spec.epsilon), "via": "vault-service"}
    described = {key: value for key, value in described.items() if value not in (None, [], ())}
    if len(json.dumps(described, default=str)) > _MAX_DESCRIPTION:
        described["filters"] = [[column, op, "(omitted: too long)"] for column, op, _ in filters]
    return described


def _eps(value: Decimal) -> str:
    return format(value, "f")
