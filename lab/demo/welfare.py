"""Welfare demo data: one row per benefit claimant, with direct identifiers.

A stand-in for a benefits extract (Great Britain, claims live at some point in the five
financial years to 31 March 2025). It has what makes such data hard to synthesize:
identifiers that must never reach a twin (name, National Insurance number, date of
birth, postcode, email, phone); awards that follow the published 2024/25 rates, so some
take only a handful of exact values (PIP, Carer's Allowance) or pile up at the benefit
cap; ages that follow each benefit's rules (Pension Credit from state pension age, no
new PIP claims after it, working-age Housing Benefit closed to new claims in 2019);
zero-inflated sanctions that only conditional benefits can have; income missing mostly
where the benefit is not means-tested; and rare groups (16-17-year-old claimants,
centenarians, families of eight or more). No row describes a real person: names come
from Faker, emails use example domains, and National Insurance numbers are random.

The identifier helpers (names, National Insurance numbers, postcodes) are shared by the
tax demo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from faker import Faker

from lab.demo.census import REGION_SHARES, REGIONS, draw_ages, draw_rowwise

REFERENCE_DATE = pd.Timestamp("2025-03-31")
#: Claims in the extract were live at some point from this date to REFERENCE_DATE.
WINDOW_START = pd.Timestamp("2020-04-01")
#: The earliest claim start held on the (fictional) payment systems.
EARLIEST_CLAIM = pd.Timestamp("1990-01-01")
WELFARE_REGIONS = REGIONS[:11]  # DWP benefits cover Great Britain; Northern Ireland runs its own.
BENEFIT_TYPES = ("universal_credit", "pip", "pension_credit", "housing_benefit", "esa", "carers_allowance", "jsa")
#: The date each benefit opened to new claims (Carer's Allowance and Housing Benefit are older than the extract).
SCHEME_STARTS = ("2013-04-29", "2013-04-08", "2003-10-06", "1990-01-01", "2008-10-27", "1990-01-01", "1996-10-07")
DISABILITY_TYPES = ("mental_health", "musculoskeletal", "neurological", "learning_disability", "respiratory",
                    "cardiovascular", "sensory", "other")
TENURES = ("owner_occupier", "social_rent", "private_rent", "living_with_family", "temporary_accommodation")
SEXES = ("female", "male")
AGE_BANDS = ("16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-84", "85+")

_SHARES = (0.45, 0.20, 0.09, 0.10, 0.06, 0.07, 0.03)
_AGES = (
    [(16, 17, 0.003), (18, 24, 0.17), (25, 34, 0.28), (35, 44, 0.24), (45, 54, 0.18), (55, 65, 0.127)],
    [(16, 24, 0.09), (25, 34, 0.11), (35, 44, 0.14), (45, 54, 0.19), (55, 65, 0.30), (66, 76, 0.17)],
    [(66, 74, 0.40), (75, 84, 0.37), (85, 94, 0.20), (95, 99, 0.025), (100, 106, 0.005)],
    [(18, 34, 0.08), (35, 49, 0.13), (50, 65, 0.21), (66, 79, 0.33), (80, 99, 0.25)],
    [(18, 24, 0.03), (25, 34, 0.12), (35, 44, 0.18), (45, 54, 0.28), (55, 65, 0.39)],
    [(16, 24, 0.09), (25, 34, 0.16), (35, 44, 0.20), (45, 54, 0.25), (55, 65, 0.25), (66, 90, 0.05)],
    [(18, 24, 0.25), (25, 34, 0.27), (35, 44, 0.18), (45, 54, 0.16), (55, 65, 0.14)],
)
_FEMALE = np.array([0.55, 0.54, 0.62, 0.58, 0.48, 0.70, 0.38])
_DISABLED = np.array([0.33, 1.0, 0.42, 0.45, 1.0, 0.14, 0.06])
_COUPLE = np.array([0.28, 0.45, 0.25, 0.18, 0.22, 0.52, 0.25])
_WITH_CHILDREN = np.array([0.48, 0.18, 0.02, 0.22, 0.15, 0.45, 0.18])
_ENDED = np.array([0.35, 0.15, 0.20, 0.35, 0.45, 0.30, 0.75])
_MEAN_YEARS = np.array([2.3, 5.0, 7.0, 8.0, 6.0, 5.0, 0.5])
_TENURE = np.array([[0.12, 0.38, 0.36, 0.12, 0.02], [0.45, 0.30, 0.15, 0.09, 0.01], [0.30, 0.52, 0.14, 0.03, 0.01],
                    [0.0, 0.70, 0.27, 0.0, 0.03], [0.20, 0.45, 0.20, 0.13, 0.02], [0.50, 0.25, 0.17, 0.07, 0.01],
                    [0.22, 0.20, 0.30, 0.27, 0.01]])
# More claimants per head in the north and in Wales (order of WELFARE_REGIONS).
_CLAIM_RATE = (1.3, 1.2, 1.1, 1.0, 1.1, 0.85, 1.05, 0.8, 0.9, 1.15, 1.0)
_WEEKS_PER_MONTH = 52 / 12
_POSTCODE_AREAS = (
    ("NE", "SR", "DH", "DL", "TS"), ("M", "L", "BL", "OL", "SK", "WA", "WN", "PR", "BB", "FY", "LA", "CA", "CH"),
    ("LS", "BD", "HX", "HD", "WF", "S", "DN", "HU", "YO", "HG"), ("NG", "DE", "LE", "LN", "NN"),
    ("B", "CV", "WV", "WS", "DY", "ST", "TF", "WR", "HR"), ("CB", "CM", "CO", "IP", "NR", "PE", "SG", "AL", "LU"),
    ("E", "EC", "N", "NW", "SE", "SW", "W", "WC"), ("BN", "RH", "GU", "OX", "RG", "SL", "HP", "TN", "CT", "ME", "PO"),
    ("BS", "BA", "EX", "PL", "TQ", "TR", "TA", "GL", "SN", "BH", "DT"), ("CF", "SA", "NP", "LL", "LD"),
    ("G", "EH", "AB", "DD", "KA", "ML", "PA", "FK", "KY", "IV", "PH", "DG", "TD"), ("BT",),
)
_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_PREFIXES = np.array([a + b for a in _NINO_FIRST for b in _NINO_SECOND
                           if a + b not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")])
_EMAIL_DOMAINS = np.array(["example.com", "example.org", "example.net", "mail.example.com", "post.example.org"])


def generate_welfare(rows: int, seed: int = 0) -> pd.DataFrame:
    """Generate the welfare demo: ``rows`` claimants, one row each.

    Args:
        rows: number of claimants.
        seed: the same seed always gives the same frame.

    >>> claims = generate_welfare(200, seed=1)
    >>> pip = claims["benefit_type"] == "pip"
    >>> len(claims), claims["claimant_id"].is_unique, bool(claims.loc[pip, "disabled"].all())
    (200, True, True)
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    rng = np.random.default_rng(seed)
    benefit = rng.choice(len(BENEFIT_TYPES), size=rows, p=_SHARES)
    age = np.zeros(rows, dtype=np.int64)
    for code, bands in enumerate(_AGES):
        mask = benefit == code
        age[mask] = draw_ages(rng, int(mask.sum()), bands)
    born = _dates_of_birth(rng, age)
    age = _age_on(born, REFERENCE_DATE)
    female = rng.random(rows) < _FEMALE[benefit]
    rate = np.array(REGION_SHARES[:11]) * np.array(_CLAIM_RATE)
    region = rng.choice(len(WELFARE_REGIONS), size=rows, p=rate / rate.sum())
    c = _circumstances(rng, benefit, age, region)
    award, lcwra, wrag = _awards(rng, benefit, age, region, c)
    start, end = _claim_dates(rng, benefit, born, age)
    years = (np.where(np.isnat(end), REFERENCE_DATE.to_datetime64(), end) - start) / np.timedelta64(365, "D")
    sanctions = _sanctions(rng, benefit, age, female, lcwra, wrag, c["earnings"], years)
    income = np.where(rng.random(rows) < np.select([benefit == 1, benefit == 5], [0.30, 0.20], 0.03),
                      np.nan, np.round(c["income"]))
    first, last = fake_names(rng, female, seed)
    no_email = np.select([age >= 75, age >= 65], [0.55, 0.3], 0.05)
    return pd.DataFrame({
        "claimant_id": np.arange(1, rows + 1, dtype=np.int64),
        "full_name": np.strings.add(np.strings.add(first, " "), last).astype(object),
        "ni_number": ni_numbers(rng, rows),
        "date_of_birth": born,
        "postcode": postcodes(rng, region),
        "email": _missing(_emails(rng, first, last), rng.random(rows) < no_email),
        "phone_number": _missing(_phones(rng, rows), rng.random(rows) < 0.04),
        "age": age,
        "age_band": _labels(AGE_BANDS, np.clip((age - 5) // 10 - 1, 0, 7)),
        "sex": _labels(SEXES, (~female).astype(np.int64)),
        "region": _labels(WELFARE_REGIONS, region),
        "couple": c["couple"],
        "dependants": c["dependants"],
        "tenure": _labels(TENURES, c["tenure"]),
        "disabled": c["disabled"],
        "disability_type": _labels(DISABILITY_TYPES, c["disability_type"]),
        "household_income": income,
        "benefit_type": _labels(BENEFIT_TYPES, benefit),
        "claim_start_date": start.astype("datetime64[ns]"),
        "claim_end_date": end.astype("datetime64[ns]"),
        "monthly_award": np.round(award, 2),
        "sanctions_count": sanctions,
    })


def fake_names(rng: np.random.Generator, female: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """First names (matching sex) and last names, sampled from pools drawn once from a seeded Faker."""
    faker = Faker("en_GB")
    faker.seed_instance(seed)
    women = np.array([faker.first_name_female() for _ in range(1500)])
    men = np.array([faker.first_name_male() for _ in range(1500)])
    surnames = np.array([faker.last_name() for _ in range(3000)])
    n = len(female)
    first = np.where(female, women[rng.integers(0, len(women), n)], men[rng.integers(0, len(men), n)])
    return first, surnames[rng.integers(0, len(surnames), n)]


def ni_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct National Insurance numbers in the UK format (``AB123456C``), as objects."""
    index = rng.choice(len(_NINO_PREFIXES) * 1_000_000, size=n, replace=False)
    digits = np.strings.zfill((index % 1_000_000).astype("U6"), 6)
    suffix = np.array(list("ABCD"))[rng.integers(0, 4, n)]
    return np.strings.add(np.strings.add(_NINO_PREFIXES[index // 1_000_000], digits), suffix).astype(object)


def postcodes(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    """UK-style postcodes (``LS12 4QX``) in a postcode area of each row's region (codes into REGIONS)."""
    n = len(region)
    area = np.empty(n, dtype="U2")
    for code, areas in enumerate(_POSTCODE_AREAS):
        mask = region == code
        area[mask] = np.array(areas)[rng.integers(0, len(areas), int(mask.sum()))]
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    district = rng.integers(1, 30, n).astype("U2")
    inward = np.strings.add(rng.integers(1, 10, n).astype("U1"), letters[rng.integers(0, 20, n)])
    outward = np.strings.add(area, district)
    return np.strings.add(np.strings.add(outward, " "), np.strings.add(inward, letters[rng.integers(0, 20, n)])) \
        .astype(object)


def _dates_of_birth(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Dates of birth that give exactly ``age`` on REFERENCE_DATE."""
    last_birthday = pd.DatetimeIndex(REFERENCE_DATE - pd.to_timedelta(rng.integers(0, 365, len(age)), unit="D"))
    return _shift_years(last_birthday, -age)


def _shift_years(dates: pd.DatetimeIndex | np.ndarray, years: np.ndarray) -> np.ndarray:
    """The same calendar day ``years`` later (29 February becomes the 28th in other years)."""
    dates = pd.DatetimeIndex(dates)
    year = dates.year.to_numpy() + years
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    day = np.where((dates.month == 2) & (dates.day == 29) & ~leap, 28, dates.day)
    parts = pd.DataFrame({"year": year, "month": dates.month, "day": day})
    return pd.to_datetime(parts).to_numpy(dtype="datetime64[ns]")


def _age_on(born: np.ndarray, when: pd.Timestamp) -> np.ndarray:
    birth = pd.DatetimeIndex(born)
    before_birthday = (birth.month > when.month) | ((birth.month == when.month) & (birth.day > when.day))
    return (when.year - birth.year.to_numpy() - before_birthday).astype(np.int64)


def _circumstances(rng: np.random.Generator, benefit: np.ndarray, age: np.ndarray,
                   region: np.ndarray) -> dict[str, np.ndarray]:
    """Disability, household, housing and (true, before non-response) income."""
    n = len(benefit)
    disabled = rng.random(n) < _DISABLED[benefit]
    kinds = np.select([benefit == 1, benefit == 4], [1, 2], 0)
    weights = np.array([[0.30, 0.33, 0.10, 0.04, 0.07, 0.08, 0.04, 0.04], [0.37, 0.32, 0.13, 0.05, 0.04, 0.03, 0.03,
                        0.03], [0.50, 0.20, 0.10, 0.06, 0.04, 0.04, 0.02, 0.04]])[kinds]
    weights[:, 3] *= np.where(age < 30, 4.0, 1.0)  # learning disabilities are reported young
    weights[:, 5] *= np.where(age >= 60, 2.0, 0.5)
    disability_type = np.where(disabled, draw_rowwise(rng, weights), -1)

    couple = (rng.random(n) < _COUPLE[benefit]) & (age >= 18)
    p_children = _WITH_CHILDREN[benefit] * np.select([age < 18, age < 20, age <= 55, age < 66], [1.0, 0.5, 1.0, 0.3],
                                                     0.05)
    p_children = np.where(age < 18, np.where(benefit == 0, 0.5, 0.0), p_children)
    family_sizes = np.array([.42, .35, .14, .05, .02, .01, .005, .003, .0015, .0005])
    sizes = rng.choice(np.arange(1, 11), size=n, p=family_sizes / family_sizes.sum())
    dependants = np.where(rng.random(n) < p_children, np.where(age < 20, 1, sizes), 0).astype(np.int64)

    weights = _TENURE[benefit].copy()
    weights *= np.where((region == 6)[:, None], [0.6, 1.0, 1.3, 1.0, 1.5], 1.0)
    weights[:, 3] *= np.where(age < 25, 2.5, 1.0)
    tenure = draw_rowwise(rng, weights)
    median_rent = np.select([tenure == 1, tenure == 2, tenure == 4], [np.where(region == 6, 620, 420),
                            np.select([region == 6, region == 7], [1350, 950], 700), 900], 0)
    rent = np.round(median_rent * np.exp(rng.normal(0, 0.22, n)), 2)

    pensioner = age >= 66
    in_work = rng.random(n) < np.where(benefit == 0, np.where(couple, 0.55, 0.36), 0.0)
    work = np.exp(rng.normal(np.log(np.where(couple, 21_000, 13_000)), 0.5))
    guarantee = np.where(couple, 332.95, 218.15) * 52
    lognormal = np.exp(rng.normal(0, 1, n))
    income = np.select(
        [benefit == 0, benefit == 1, benefit == 2, (benefit == 3) & pensioner, benefit == 3, benefit == 4,
         benefit == 5],
        [np.where(in_work, work, np.where(rng.random(n) < 0.15, 2000 * lognormal ** 0.6, 0.0)),
         np.where(rng.random(n) < 0.12, 0.0, np.where(couple, 26_000, 16_000) * lognormal ** 0.75),
         guarantee * rng.beta(3, 1.6, n),
         np.clip(rng.normal(9_500, 1_500, n), 3_000, None),
         np.where(rng.random(n) < 0.4, 11_000 * lognormal ** 0.5, 0.0),
         np.where(rng.random(n) < 0.25, 6_000 * lognormal ** 0.6, 0.0),
         np.where(rng.random(n) < 0.25, 0.0, 14_000 * lognormal ** 0.6)],
        np.where(rng.random(n) < 0.35, 9_000 * lognormal ** 0.6, 0.0),
    )
    return {"disabled": disabled, "disability_type": disability_type, "couple": couple, "dependants": dependants,
            "tenure": tenure, "rent": rent, "income": np.clip(income, 0, 2_000_000),
            "earnings": np.where(in_work, income / 12, 0.0)}


def _awards(rng: np.random.Generator, benefit: np.ndarray, age: np.ndarray, region: np.ndarray,
            c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monthly awards at 2024/25 rates; also which claimants are in the LCWRA and ESA work-related groups."""
    n = len(benefit)
    couple, dependants, disabled, tenure = c["couple"], c["dependants"], c["disabled"], c["tenure"]
    young = age < 25
    london = region == 6
    # Universal Credit: standard allowance, child elements (two-child limit), LCWRA, housing, 55% taper, cap.
    standard = np.where(couple, np.where(young, 489.23, 617.60), np.where(young, 311.68, 393.45))
    first_child = np.where(rng.random(n) < 0.4, 333.33, 287.92)
    exempt = rng.random(n) < 0.25  # born before April 2017, or a multiple birth
    children = np.where(dependants >= 1, first_child, 0) + np.where(dependants >= 2, 287.92, 0) \
        + np.where(exempt, np.maximum(dependants - 2, 0) * 287.92, 0)
    lcwra = (benefit == 0) & disabled & (rng.random(n) < 0.55)
    local_housing_allowance = np.array([650, 650, 650, 650, 650, 900, 1600, 1000, 850, 650, 650])[region]
    housing = np.select([tenure == 2, (tenure == 1) | (tenure == 4)], [np.minimum(c["rent"],
                        local_housing_allowance), c["rent"]], 0.0)
    work_allowance = np.where((dependants > 0) | lcwra, np.where(housing > 0, 404.0, 673.0), 0.0)
    uc = standard + children + 416.19 * lcwra + housing - 0.55 * np.maximum(c["earnings"] - work_allowance, 0)
    family = couple | (dependants > 0)
    cap = np.where(london, np.where(family, 2110.25, 1413.92), np.where(family, 1835.00, 1229.42))
    capped = (c["earnings"] < 846) & ~lcwra
    uc = np.maximum(np.where(capped, np.minimum(uc, cap), uc), 0)
    # PIP: daily living and mobility components, at least one of them.
    daily = rng.choice([0.0, 72.65, 108.55], size=n, p=[0.10, 0.45, 0.45])
    mobility = rng.choice([0.0, 28.70, 75.75], size=n, p=[0.35, 0.30, 0.35])
    mobility = np.where((daily == 0) & (mobility == 0), 75.75, mobility)
    pip = (daily + mobility) * _WEEKS_PER_MONTH
    # Pension Credit: guarantee credit tops income up, plus the severe disability addition.
    guarantee = np.where(couple, 332.95, 218.15)
    severe = disabled & ~couple & (rng.random(n) < 0.3)
    pension_credit = (np.maximum(guarantee - c["income"] / 52, 0) + 81.50 * severe) * _WEEKS_PER_MONTH
    # Housing Benefit: eligible rent less 65% of income above the applicable amount.
    applicable = np.where(age >= 66, guarantee, 90.50 + 51.60 * couple + 70.0 * dependants)
    eligible_rent = np.where(tenure == 2, np.minimum(c["rent"], local_housing_allowance), c["rent"])
    housing_benefit = np.maximum(eligible_rent - 0.65 * np.maximum(c["income"] / 52 - applicable, 0)
                                 * _WEEKS_PER_MONTH, 0)
    personal = np.where(young, 71.70, 90.50)
    esa_group = rng.choice(3, size=n, p=[0.15, 0.25, 0.60])  # assessment, work-related activity, support
    esa = (np.where(esa_group == 2, 90.50 + 47.70 + 21.20 * (rng.random(n) < 0.5),
                    np.where(esa_group == 1, 90.50, personal))) * _WEEKS_PER_MONTH
    carers = np.where(rng.random(n) < np.where(age >= 66, 0.85, 0.02), 0.0, 81.90 * _WEEKS_PER_MONTH)
    jsa = personal * np.where(rng.random(n) < 0.12, rng.uniform(0.1, 0.9, n), 1.0) * _WEEKS_PER_MONTH
    award = np.choose(benefit, [uc, pip, pension_credit, housing_benefit, esa, carers, jsa])
    return np.clip(award, 0, 5000), lcwra, (benefit == 4) & (esa_group == 1)


def _claim_dates(rng: np.random.Generator, benefit: np.ndarray, born: np.ndarray,
                 age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (NaT while ongoing) of each claim, within each benefit's rules."""
    n = len(benefit)
    day = np.timedelta64(1, "D")
    reference, window = REFERENCE_DATE.to_datetime64(), WINDOW_START.to_datetime64()
    scheme = np.array(SCHEME_STARTS, dtype="datetime64[ns]")[benefit]
    born_index = pd.DatetimeIndex(born)
    pension_age = np.select([born < np.datetime64("1950-04-06"), born < np.datetime64("1954-10-06")], [60, 65], 66)
    min_age = np.select([benefit == 2, benefit == 3, np.isin(benefit, (0, 4, 6))], [pension_age, 18, 18], 16)
    min_age = np.where((benefit == 0) & (age < 18), 16, min_age)
    eligible = _shift_years(born_index, min_age)
    lower = np.maximum(np.maximum(scheme, eligible), EARLIEST_CLAIM.to_datetime64())

    ended = rng.random(n) < _ENDED[benefit]
    earliest_end = np.maximum(lower, window)
    span = ((reference - earliest_end) / day).astype(np.int64)
    end = np.where(ended, earliest_end + (rng.random(n) * (span + 1)).astype(np.int64) * day, np.datetime64("NaT"))
    last = np.where(ended, end, reference)
    # No new PIP claims from state pension age; no new working-age Housing Benefit claims after 2018
    # (bar supported and temporary housing).
    upper = np.where(benefit == 1, np.minimum(last, _shift_years(born_index, np.full(n, 66)) - day), last)
    closed = (benefit == 3) & (age < 66) & (rng.random(n) >= 0.08) & (lower <= np.datetime64("2018-12-31"))
    upper = np.where(closed, np.minimum(upper, np.datetime64("2018-12-31")), upper)
    duration = rng.gamma(1.5, _MEAN_YEARS[benefit] / 1.5) * 365.25
    room = ((upper - lower) / day).astype(np.int64) + 1
    start = upper - (duration.astype(np.int64) % np.maximum(room, 1)) * day
    return start.astype("datetime64[ns]"), end.astype("datetime64[ns]")


def _sanctions(rng: np.random.Generator, benefit: np.ndarray, age: np.ndarray, female: np.ndarray,
               lcwra: np.ndarray, wrag: np.ndarray, earnings: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Sanctions over the claim: only claimants with work conditions can have them."""
    n = len(benefit)
    base = np.select([benefit == 6, (benefit == 0) & ~lcwra & (age < 66), wrag], [0.16, 0.07, 0.03], 0.0)
    base = base * np.where(age < 25, 1.8, 1.0) * np.where(female, 0.8, 1.3) * np.where(earnings > 846, 0.3, 1.0)
    chance = np.clip(base * np.clip(0.5 + years / 3, 0.5, 1.5), 0, 0.9)
    count = 1 + rng.negative_binomial(1, 0.45, n)
    return np.where(rng.random(n) < chance, np.minimum(count, 40), 0).astype(np.int64)


def _emails(rng: np.random.Generator, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    n = len(first)
    first = np.strings.lower(np.strings.replace(first, " ", ""))
    last = np.strings.lower(np.strings.replace(np.strings.replace(last, "'", ""), " ", ""))
    number = rng.integers(1, 100, n).astype("U2")
    style = rng.integers(0, 3, n)
    user = np.where(style == 0, np.strings.add(np.strings.add(first, "."), last),
                    np.where(style == 1, np.strings.add(np.strings.add(first, last), number),
                             np.strings.add(np.strings.add(np.strings.slice(first, 1), last), number)))
    return np.strings.add(np.strings.add(user, "@"), _EMAIL_DOMAINS[rng.integers(0, len(_EMAIL_DOMAINS), n)])


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """UK mobile numbers written as ``07xxx xxxxxx``."""
    head = np.strings.add("07", rng.integers(400, 1000, n).astype("U3"))
    return np.strings.add(np.strings.add(head, " "), np.strings.zfill(rng.integers(0, 10**6, n).astype("U6"), 6))


def _missing(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    out = values.astype(object)
    out[missing] = None
    return out


def _labels(names: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    table = np.array([*names, None], dtype=object)
    return table[np.where(codes < 0, len(names), codes)]
