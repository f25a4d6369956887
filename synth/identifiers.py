"""Direct identifiers: dropped before fitting, and replaced in the twin by fake values.

Identifiers are never modelled, so nothing about them reaches the synthesizer. Fake values
are drawn from seeded pools (fast at a million rows), and any fake value that happens to
equal a real one is drawn again, so a twin never repeats a real identifier by chance.
"""

from __future__ import annotations

from collections.abc import Collection

import datetime as dt

import numpy as np
import pandas as pd
from faker import Faker

from synth.schema import ColumnSchema, TableSchema

_POOL_SIZE = 4000
_LETTERS = np.array(list("ABCEGHJKLMNPRSTWXYZ"))  # letters valid in NI number prefixes
_POSTCODE_AREAS = np.array(["AB", "B", "BS", "CF", "CR", "E", "EH", "G", "L", "LS", "M", "N", "NE", "NG",
                            "NW", "OX", "PL", "S", "SE", "SW", "W", "YO"])
_INWARD_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
#: Providers whose values single a person out, so a fake must never equal a real value.
#: (Dates of birth and first or last names are shared by many people.)
SINGLING_OUT_PROVIDERS = frozenset(
    {"name", "email", "phone_number", "postcode", "address", "national_insurance_number", "ssn", "uuid"}
)


def strip_identifiers(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The table without its direct identifier columns (what the synthesizer may see)."""
    return frame.drop(columns=[c.name for c in schema.columns if c.is_identifier and c.name in frame.columns])


def add_fake_identifiers(twin: pd.DataFrame, schema: TableSchema, real: pd.DataFrame | None,
                         seed: int) -> pd.DataFrame:
    """Insert fake values for the schema's ``identifier: fake`` columns, in schema order.

    Args:
        twin: the sampled rows, without identifier columns.
        schema: the table's schema.
        real: the real table, used only to make sure no fake value equals a real one.
        seed: seeds the fakes, so a twin is reproducible.
    """
    rng = np.random.default_rng(seed)
    out = twin.copy()
    for column in schema.columns:
        if column.identifier != "fake":
            continue
        forbidden: Collection[str] = ()
        if real is not None and column.name in real and column.fake_as in SINGLING_OUT_PROVIDERS:
            forbidden = pd.unique(real[column.name].dropna().astype(str))
        out[column.name] = fake_values(column, len(out), rng, forbidden)
    order = [c.name for c in schema.columns if c.name in out.columns]
    return out[order]


def fake_values(column: ColumnSchema, n: int, rng: np.random.Generator, forbidden: Collection[str] = ()) -> pd.Series:
    """``n`` fake values for one identifier column, none of them in ``forbidden`` (distinct values)."""
    values = _draw(column, n, rng)
    if not len(forbidden):
        return values
    real_values = pd.Index(list(forbidden) if isinstance(forbidden, (set, frozenset)) else forbidden)  # hashed once; each retry checks only the redrawn values
    clashing = np.flatnonzero(real_values.get_indexer(values.astype(str)) >= 0)
    for _ in range(20):
        if not len(clashing):
            return values
        redrawn = _draw(column, len(clashing), rng)
        values.iloc[clashing] = redrawn.to_numpy()
        clashing = clashing[real_values.get_indexer(redrawn.astype(str)) >= 0]
    # A provider with so few possible values that it keeps hitting real ones is not an identifier fake.
    values.iloc[clashing] = None
    return values


def _draw(column: ColumnSchema, n: int, rng: np.random.Generator) -> pd.Series:
    provider = column.fake_as
    faker = Faker("en_GB")
    faker.seed_instance(int(rng.integers(2**31)))
    if provider == "national_insurance_number":
        prefix = rng.choice(_LETTERS, (n, 2))
        digits = rng.integers(0, 1_000_000, n)
        suffix = rng.choice(np.array(list("ABCD")), n)
        return pd.Series([f"{a}{b}{d:06d}{s}" for (a, b), d, s in zip(prefix, digits, suffix)], dtype=object)
    if provider == "ssn":
        area, group, serial = rng.integers(1, 900, n), rng.integers(1, 100, n), rng.integers(1, 10000, n)
        return pd.Series([f"{a:03d}-{g:02d}-{s:04d}" for a, g, s in zip(area, group, serial)], dtype=object)
    if provider == "phone_number":
        return pd.Series([f"07{d:09d}" for d in rng.integers(0, 10**9, n)], dtype=object)
    if provider == "postcode":
        area = rng.choice(_POSTCODE_AREAS, n)
        district, sector = rng.integers(1, 30, n), rng.integers(0, 10, n)
        inward = rng.choice(_INWARD_LETTERS, (n, 2))
        return pd.Series([f"{a}{d} {s}{x}{y}" for a, d, s, (x, y) in zip(area, district, sector, inward)],
                         dtype=object)
    if provider == "date_of_birth":
        lower, upper = column.bounds or (dt.date(1920, 1, 1), dt.date(2008, 12, 31))
        start, stop = pd.Timestamp(lower).value // 86_400_000_000_000, pd.Timestamp(upper).value // 86_400_000_000_000
        days = rng.integers(start, stop + 1, n)
        return pd.Series(pd.to_datetime(days, unit="D"))
    if provider == "uuid":
        return pd.Series([f"{a:016x}{b:016x}" for a, b in rng.integers(0, 2**63, (n, 2))], dtype=object)
    first = np.array([faker.first_name() for _ in range(_POOL_SIZE // 4)])
    last = np.array([faker.last_name() for _ in range(_POOL_SIZE // 4)])
    if provider == "first_name":
        return pd.Series(rng.choice(first, n), dtype=object)
    if provider == "last_name":
        return pd.Series(rng.choice(last, n), dtype=object)
    if provider == "name":
        # A middle initial makes 26 times more names, so fewer fakes equal a real name and are redrawn.
        middle = np.char.add(rng.choice(_LETTERS, n), ". ")
        return pd.Series(np.char.add(np.char.add(np.char.add(rng.choice(first, n), " "), middle), rng.choice(last, n)),
                         dtype=object)
    if provider == "email":
        users = np.char.lower(np.char.add(np.char.add(rng.choice(first, n), "."), rng.choice(last, n)))
        numbers = rng.integers(1, 1000, n).astype(str)
        return pd.Series(np.char.add(np.char.add(users, numbers), "@example.org"), dtype=object)
    if provider == "address":
        streets = np.array([faker.street_address().replace("\n", ", ") for _ in range(_POOL_SIZE // 4)])
        return pd.Series(rng.choice(streets, n), dtype=object)
    raise ValueError(f"unknown fake provider {provider!r}")  # the policy checks make this unreachable
