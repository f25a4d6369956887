"""The vault's DP query engine: price a validated query, release it, or preview it on a twin.

The engine has no HTTP and no ledger; the service around it does, in this order::

    query = validate_query(payload, policies)    # lab.vault.query_spec: refusals cost nothing
    price = engine.price(query)                  # OpenDP's map, before any data is read
    reservation = ledger.reserve(user, dataset, price)
    answer = engine.release(query, price)        # one-shot OpenDP context sized to the price
    ledger.record(reservation, ...)

Pricing builds OpenDP's measurement for the query's epsilon on an empty frame (so
nothing about the data can reach the price) and reads its privacy map for the privacy
unit, ``dp.unit_of(contributions=max_rows_per_person)``. The float loss is rounded *up* to
the ledger's 12 decimal places, so the ledger never charges less than OpenDP says; since
the measurement is calibrated to the largest float not above the requested epsilon, the
price is the requested epsilon whenever OpenDP's map lands within 1e-12 of it (for every
statistic here, it does).

Each release runs through a fresh OpenDP context with a single query slot of exactly the
reserved epsilon (OpenDP's adaptive composition, which refuses an over-budget query
before running it). The engine never uses a privacy filter: a filter that receives an
over-budget query runs the mechanism first and then locks for good.

Tables are opened lazily with ``pl.scan_parquet`` (or ``pl.scan_csv``), typed from the
policy, and cached per table with their OpenDP domain until the file changes; measurements
are cached per query, so pricing then releasing the same query builds it once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import opendp.prelude as dp
import polars as pl

from lab.policies.model import ColumnPolicy, Policy
from lab.vault import query_errors as qe
from lab.vault.answers import Answer, read_preview, read_release
from lab.vault.dp_plan import (
    MAX_ROWS,
    DPPlan,
    calibrate,
    decimal_at_least,
    dp_plan,
    exact_plan,
    float_at_most,
    polars_dtype,
    typed_frame,
)
from lab.vault.query_spec import ValidatedQuery, validate_query

log = logging.getLogger(__name__)

#: How many priced queries the engine keeps ready for their release.
PRICED_CACHE_SIZE = 256


@dataclass(frozen=True)
class _Table:
    """A table opened for queries: its typed scan, OpenDP domain, an empty frame to plan on, its rows."""

    frame: pl.LazyFrame
    domain: Any
    empty: pl.LazyFrame
    stamp: tuple[int, int]
    rows: int = 0


@dataclass(frozen=True)
class _Priced:
    """A query's calibrated measurement and what it costs; built before any data is read."""

    plan: DPPlan
    measurement: Any
    loss: float
    price: Decimal
    summary: pl.DataFrame
    summary_half: pl.DataFrame | None
    stamp: tuple[int, int]


class QueryEngine:
    """Prices and releases DP queries on the real data of the datasets in ``policies``.

    Args:
        policies: the validated policies, keyed by dataset name.
        data_dir: the vault's data directory (``settings.data_dir``); each table's file is
            ``data_dir / table.path``.

    >>> engine = QueryEngine(policies, data_dir)                       # doctest: +SKIP
    >>> query = engine.validate({"dataset": "welfare", "statistic": "count",
    ...                          "epsilon": "0.1"})                    # doctest: +SKIP
    >>> engine.price(query)                                            # doctest: +SKIP
    Decimal('0.100000000000')
    >>> engine.release(query, Decimal("0.1")).value                    # doctest: +SKIP
    ...
    """

    def __init__(self, policies: Mapping[str, Policy], data_dir: Path | str) -> None:
        dp.enable_features("contrib")
        _register_polars_dispatch()
        self.policies = dict(policies)
        self.data_dir = Path(data_dir)
        self._tables: dict[tuple[str, str], _Table] = {}
        self._priced: OrderedDict[ValidatedQuery, _Priced] = OrderedDict()
        self._lock = threading.Lock()

    def validate(self, payload: Any) -> ValidatedQuery:
        """Parse and validate a JSON query against its dataset's policy (see ``validate_query``)."""
        return validate_query(payload, self.policies)

    def price(self, query: ValidatedQuery) -> Decimal:
        """The privacy loss (epsilon) releasing ``query`` costs, as OpenDP's privacy map says.

        Reads no data: the measurement is built on an empty frame with the table's schema.

        Raises:
            DatasetUnavailable: the table's file is missing or does not match the policy.
            QueryNotSupported: OpenDP cannot build a private plan for the query.
        """
        return self._price(query).price

    def rows(self, query: ValidatedQuery) -> int:
        """How many rows a release of ``query`` scans (for the cost estimate; never shown to users).

        Raises:
            DatasetUnavailable: the table's file is missing or does not match the policy.
        """
        return self._table(query.dataset, query.table).rows

    def measurement(self, query: ValidatedQuery) -> Any:
        """The OpenDP measurement :meth:`release` runs for ``query`` (for audits and tests).

        Its ``map(query.contributions)`` is the float loss that :meth:`price` rounds up.
        """
        return self._price(query).measurement

    def release(self, query: ValidatedQuery, epsilon: Decimal | str | int) -> Answer:
        """Release ``query`` on the real data through a one-shot context of ``epsilon``.

        ``epsilon`` is what the ledger reserved; it must cover :meth:`price`. The noise is
        calibrated to the query's own epsilon.

        Raises:
            ReservationTooSmall: ``epsilon`` is below the price; nothing was released.
            ReleaseFailed: the computation failed after the data was touched (keep the charge).
        """
        reserved = _as_decimal(epsilon)
        priced = self._price(query)
        if priced.price > reserved:
            raise qe.ReservationTooSmall(
                f"epsilon: the reservation of {reserved} is below the query's price of {priced.price}. "
                "Fix: reserve the amount engine.price() returns.")
        table = self._table(query.dataset, query.table)
        budget = float_at_most(reserved)
        d_in = query.contributions
        if not priced.measurement.check(d_in, budget):
            raise qe.ReservationTooSmall(f"epsilon: OpenDP does not accept the query within {reserved}. "
                                         "Fix: reserve the amount engine.price() returns.")
        accountant = dp.c.make_adaptive_composition(table.domain, dp.symmetric_distance(), dp.max_divergence(),
                                                    d_in=d_in, d_mids=[budget])
        try:
            context = dp.Context(accountant=accountant, queryable=accountant(table.frame), d_in=d_in,
                                 d_mids=[budget])
            released = context(priced.measurement).collect()
        except Exception as exc:  # noqa: BLE001 - Polars/OpenDP errors may quote data: log the type only
            log.error("release failed: dataset=%r table=%r statistic=%r error=%s",
                      query.dataset, query.table, query.statistic, type(exc).__name__)
            raise qe.ReleaseFailed("The vault could not compute this release; an administrator can see why in "
                                   "the vault's log. Privacy loss may have been incurred.") from None
        log.info("released dataset=%r statistic=%r column=%r groups=%d epsilon=%s",
                 query.dataset, query.statistic, query.column, query.cells, priced.price)
        return read_release(query, priced.plan, released, priced.summary, priced.summary_half, priced.price)

    def preview(self, query: ValidatedQuery, twin_frame: Any) -> Answer:
        """The same statistic computed exactly on a twin (a free, noiseless preview).

        ``twin_frame`` is the twin's table as a Polars or pandas data frame, or a lazy scan:
        the plan runs on Polars' streaming engine, so its memory stays bounded by the
        batches, not the table.
        """
        if not isinstance(twin_frame, (pl.DataFrame, pl.LazyFrame)):
            twin_frame = pl.from_pandas(twin_frame)
        frame = twin_frame.lazy()
        columns = self._columns(query.dataset, query.table)
        present = set(frame.collect_schema().names())
        typed = typed_frame(frame, {n: c for n, c in columns.items() if n in present}, strict=False)
        return read_preview(query, exact_plan(typed, query).collect(engine="streaming"))

    # --- tables ----------------------------------------------------------------------

    def _columns(self, dataset: str, table: str) -> dict[str, ColumnPolicy]:
        policy = self.policies.get(dataset)
        if policy is None or table not in policy.tables:
            raise qe.UnknownDataset(f"dataset: '{dataset}' is not a dataset of this vault. "
                                    f"Fix: use one of: {', '.join(sorted(self.policies)) or '(none)'}.")
        return {name: column for name, column in policy.tables[table].columns.items()
                if column.identifier is None and column.type not in ("id", "text")}

    def _table(self, dataset: str, table: str) -> _Table:
        columns = self._columns(dataset, table)
        path = self.data_dir / self.policies[dataset].tables[table].path
        try:
            stat = path.stat()
        except OSError:
            log.error("dataset %r table %r: cannot read %s", dataset, table, path)
            raise _unavailable(dataset) from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._tables.get((dataset, table))
        if cached is not None and cached.stamp == stamp:
            return cached
        opened = self._open(dataset, table, path, columns, stamp)
        with self._lock:
            self._tables[(dataset, table)] = opened
        return opened

    def _open(self, dataset: str, table: str, path: Path, columns: dict[str, ColumnPolicy],
              stamp: tuple[int, int]) -> _Table:
        declared = self.policies[dataset].tables[table].format
        fmt = declared or ("csv" if path.suffix.lower() == ".csv" else "parquet")
        try:
            if fmt == "csv":
                raw = pl.scan_csv(path, schema_overrides={n: polars_dtype(c) for n, c in columns.items()})
            else:
                raw = pl.scan_parquet(path)
            schema = raw.collect_schema()
            problems = [f"{name}: {problem}" for name, column in columns.items()
                        if (problem := _dtype_problem(schema.get(name), column)) is not None]
            rows = raw.select(pl.len()).collect().item() if not problems else 0
        except Exception as exc:  # noqa: BLE001 - the reader's message may quote the file: log the type only
            log.error("dataset %r table %r: cannot open %s (%s)", dataset, table, path, type(exc).__name__)
            raise _unavailable(dataset) from None
        if problems:
            log.error("dataset %r table %r: the file does not match the policy: %s", dataset, table,
                      "; ".join(problems))
            raise _unavailable(dataset)
        if rows > MAX_ROWS:
            log.error("dataset %r table %r: more rows than the engine's public bound of %d", dataset, table,
                      MAX_ROWS)
            raise _unavailable(dataset)
        frame = typed_frame(raw, columns)
        domain = dp.with_margin(dp.domain_of(frame, infer=True), dp.polars.Margin(by=[], max_length=MAX_ROWS))
        return _Table(frame=frame, domain=domain, empty=pl.LazyFrame(schema=frame.collect_schema()), stamp=stamp,
                      rows=rows)

    # --- pricing ---------------------------------------------------------------------

    def _price(self, query: ValidatedQuery) -> _Priced:
        table = self._table(query.dataset, query.table)
        with self._lock:
            cached = self._priced.get(query)
            if cached is not None and cached.stamp == table.stamp:
                self._priced.move_to_end(query)
                return cached
        priced = self._build(query, table)
        with self._lock:
            self._priced[query] = priced
            while len(self._priced) > PRICED_CACHE_SIZE:
                self._priced.popitem(last=False)
        return priced

    def _build(self, query: ValidatedQuery, table: _Table) -> _Priced:
        try:
            plan = dp_plan(table.empty, query)
            measurement, loss = calibrate(table.domain, plan.plan, query.contributions,
                                          float_at_most(query.epsilon))
            summary = dp.summarize_polars_measurement(measurement, query.alpha)
            half = dp.summarize_polars_measurement(measurement, query.alpha / 2) if query.statistic == "mean" else None
        except (dp.OpenDPException, ArithmeticError, pl.exceptions.PolarsError) as exc:
            # Built on an empty frame: the message cannot carry data.
            log.warning("cannot plan dataset=%r statistic=%r: %s", query.dataset, query.statistic, exc)
            raise qe.QueryNotSupported(f"statistic: OpenDP cannot build a private plan for this query "
                                       f"({_first_line(exc)}). Fix: simplify the filters or grouping.") from None
        price = decimal_at_least(loss)
        if price > query.epsilon:  # cannot happen: loss <= the largest float <= epsilon
            raise AssertionError("priced above the requested epsilon")
        return _Priced(plan=plan, measurement=measurement, loss=loss, price=price, summary=summary,
                       summary_half=half, stamp=table.stamp)


def _register_polars_dispatch() -> None:
    """Build one frame from a list of Series, so that Polars registers that case now.

    Polars 1.36 registers a ``singledispatch`` case for ``pl.DataFrame([series, ...])`` the
    first time a process builds one, and OpenDP builds every summary and release that way.
    Registering while another thread dispatches raises ``RuntimeError: dictionary changed
    size during iteration``: two queries priced at once right after the service started
    failed with a 500 (and a release failing so would keep its charge). Doing it here, before
    any thread of the service runs a query, removes the race.
    """
    pl.DataFrame([pl.Series("warm_up", [0])])


def _dtype_problem(dtype: pl.DataType | None, column: ColumnPolicy) -> str | None:
    """Why a file's column cannot serve as the policy's column (None if it can)."""
    if dtype is None:
        return "missing from the file"
    kind = column.type
    ok = {
        "integer": dtype.is_integer(),
        "float": dtype.is_numeric(),
        "boolean": dtype == pl.Boolean,
        "date": dtype in (pl.Date, pl.Datetime) or isinstance(dtype, pl.Datetime),
        "datetime": isinstance(dtype, pl.Datetime) or dtype == pl.Date,
        "categorical": dtype == polars_dtype(column) or (polars_dtype(column) == pl.String
                                                        and isinstance(dtype, (pl.Categorical, pl.Enum))),
    }.get(kind, True)
    return None if ok else f"has type {dtype}, the policy says {kind}"


def _as_decimal(epsilon: Decimal | str | int) -> Decimal:
    if isinstance(epsilon, float) or isinstance(epsilon, bool):
        raise qe.BadPrivacyLoss("epsilon: floats are not exact. Fix: pass a Decimal or a string, e.g. '0.1'.")
    value = Decimal(epsilon)
    if not value.is_finite() or value <= 0:
        raise qe.BadPrivacyLoss(f"epsilon: {epsilon} is not a positive finite amount. Fix: pass the reserved amount.")
    return value


def _unavailable(dataset: str) -> qe.DatasetUnavailable:
    return qe.DatasetUnavailable(f"dataset: '{dataset}' cannot be queried right now. Fix: try again later, or "
                                 "ask an administrator (the vault's log says why).")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = next((t.strip() for t in text if t.strip()), type(exc).__name__)
    return line if len(line) <= 200 else line[:197] + "..."
