"""Tax demo data: one income tax record per taxpayer for the tax year 2023-24.

A stand-in for individual tax records (UK, 6 April 2023 to 5 April 2024). What makes it
hard to synthesize: incomes with a heavy right tail (a Pareto top, dividends spanning
six orders of magnitude); self-employment, property and dividend income that are mostly
zero, with self-employment losses; tax computed exactly from the published 2023-24 rates,
with separate Scottish bands; student loan plans that follow age and nation (Plan 4 only
in Scotland, Plan 2 only for those who started university from 2012); and a filing date
that piles up in the last days before the 31 January deadline, with a tail of late
filers. No row describes a real person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.demo.census import REGION_SHARES, REGIONS, draw_ages, draw_rowwise
from lab.demo.welfare import AGE_BANDS, SEXES, fake_names, ni_numbers, postcodes

TAX_YEAR_END = pd.Timestamp("2024-04-05")
#: The online filing deadline for 2023-24 self-assessment returns.
FILING_DEADLINE = pd.Timestamp("2025-01-31")
SECTORS = (
    "agriculture_forestry_fishing", "mining_energy_water", "manufacturing", "construction", "wholesale_retail",
    "transport_storage", "accommodation_food", "information_communication", "finance_insurance", "real_estate",
    "professional_scientific_technical", "administrative_support", "public_administration_defence", "education",
    "health_social_work", "arts_entertainment_recreation", "other_services",
)
TAX_BANDS = ("none", "starter", "basic", "intermediate", "higher", "additional", "top")
STUDENT_LOAN_PLANS = ("none", "plan_1", "plan_2", "plan_4", "postgraduate")

_SCOTLAND = REGIONS.index("scotland")
_NORTHERN_IRELAND = REGIONS.index("northern_ireland")
_EMPLOYEE_SECTORS = np.array([.01, .015, .08, .05, .14, .05, .07, .045, .035, .015, .075, .08, .05, .09, .14, .025,
                              .025])
_SELF_EMPLOYED_SECTORS = np.array([.05, .005, .03, .22, .08, .09, .03, .07, .02, .03, .14, .07, .005, .03, .05, .06,
                                   .05])
_WOMEN_IN_SECTOR = np.array([0.5, 0.3, 0.5, 0.15, 1.0, 0.4, 1.1, 0.6, 1.0, 1.0, 1.0, 1.0, 1.1, 1.9, 2.0, 1.1, 1.3])
_SECTOR_LOG_PAY = np.array([-.25, .35, .10, .05, -.15, 0, -.45, .35, .45, .10, .25, -.20, .15, .05, -.05, -.20,
                            -.20])
# Non-savings income bands above the personal allowance, 2023-24: (width, rate) in order.
_UK_BANDS = ((37_700, 0.20), (87_440, 0.40), (np.inf, 0.45))
_SCOTTISH_BANDS = ((2_162, 0.19), (10_956, 0.20), (17_974, 0.21), (94_048, 0.42), (np.inf, 0.47))
_DIVIDEND_RATES = (0.0875, 0.3375, 0.3935)
_DIVIDEND_ALLOWANCE = 1_000
_PERSONAL_ALLOWANCE = 12_570
# Student loan repayment: (threshold per year, rate), by STUDENT_LOAN_PLANS.
_LOAN_TERMS = ((np.inf, 0.0), (22_015, 0.09), (27_295, 0.09), (27_660, 0.09), (21_000, 0.06))


def generate_tax(rows: int, seed: int = 0) -> pd.DataFrame:
    """Generate the tax demo: ``rows`` taxpayers, one row each.

    Args:
        rows: number of taxpayers.
        seed: the same seed always gives the same frame.

    >>> returns = generate_tax(300, seed=1)
    >>> len(returns), bool((returns["tax_paid"] >= 0).all())
    (300, True)
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    rng = np.random.default_rng(seed)
    n = rows
    age = draw_ages(rng, n, [(16, 24, .08), (25, 34, .19), (35, 44, .19), (45, 54, .19), (55, 64, .17),
                             (65, 74, .11), (75, 84, .05), (85, 104, .02)])
    female = rng.random(n) < 0.47
    region = rng.choice(len(REGIONS), size=n, p=np.array(REGION_SHARES) / sum(REGION_SHARES))
    income = _incomes(rng, age, female)
    non_savings = income["employment"] + income["self_employment"] + income["pension"] + income["property"]
    total = non_savings + income["dividend"]
    tax, taxable, band = _income_tax(np.maximum(non_savings, 0), income["dividend"], region == _SCOTLAND)
    plan, repayment = _student_loans(rng, age, region, income["employment"] + np.maximum(income["self_employment"], 0))
    files = ((income["self_employment"] != 0) | (income["property"] > 0) | (income["dividend"] > 10_000)
             | (total > 150_000) | ((income["employment"] > 50_000) & (rng.random(n) < 0.12)) | (rng.random(n) < 0.02))
    first, last = fake_names(rng, female, seed)
    return pd.DataFrame({
        "taxpayer_id": np.arange(1, n + 1, dtype=np.int64),
        "full_name": np.strings.add(np.strings.add(first, " "), last).astype(object),
        "ni_number": ni_numbers(rng, n),
        "utr": (rng.choice(9_000_000_000, size=n, replace=False) + 1_000_000_000).astype("U10").astype(object),
        "postcode": postcodes(rng, region),
        "age": age,
        "age_band": _labels(AGE_BANDS, np.clip((age - 5) // 10 - 1, 0, 7)),
        "sex": _labels(SEXES, (~female).astype(np.int64)),
        "region": _labels(REGIONS, region),
        "sector": _labels(SECTORS, income["sector"]),
        "employment_income": income["employment"],
        "self_employment_income": income["self_employment"],
        "pension_income": income["pension"],
        "property_income": income["property"],
        "dividend_income": income["dividend"],
        "total_income": total,
        "taxable_income": taxable,
        "tax_paid": np.round(tax, 2),
        "tax_band": _labels(TAX_BANDS, band),
        "student_loan_plan": _labels(STUDENT_LOAN_PLANS, plan),
        "student_loan_repayment": np.round(repayment, 2),
        "files_self_assessment": files,
        "filing_date": _filing_dates(rng, files),
    })


def _incomes(rng: np.random.Generator, age: np.ndarray, female: np.ndarray) -> dict[str, np.ndarray]:
    """Income by source in whole pounds, and the sector of the main work (-1 when none).

    Each source is clipped to the public bound its policy declares (policies/tax.yaml).
    """
    n = len(age)
    working_age = age < 66
    # Sources: employee only, self-employed only, both, neither (pensions, property, investments).
    source = draw_rowwise(rng, np.where(working_age[:, None], [0.80, 0.09, 0.05, 0.06], [0.08, 0.04, 0.01, 0.87]))
    employed, self_employed = np.isin(source, (0, 2)), np.isin(source, (1, 2))
    weights = np.where((source == 1)[:, None], _SELF_EMPLOYED_SECTORS, _EMPLOYEE_SECTORS)
    weights = weights * np.where(female[:, None], _WOMEN_IN_SECTOR, 1.0)
    sector = draw_rowwise(rng, weights)
    part_time = rng.random(n) < np.where(female, 0.35, 0.12) + 0.3 * (age < 22) + 0.4 * ~working_age
    log_pay = (np.log(31_000) + _SECTOR_LOG_PAY[sector] - 0.0009 * (age - 48) ** 2 - 0.12 * female
               - 0.75 * part_time + rng.normal(0, 0.5, n))
    top = rng.random(n) < np.where((age >= 30) & working_age, 0.015, 0.003)
    pay = np.where(top, 100_000 * (1 + rng.pareto(1.9, n)), np.exp(log_pay))
    employment = np.where(employed, pay, 0.0)

    profit = np.where(source == 2, 4_000, 14_000) * np.exp(rng.normal(0, 1.0, n))
    profit = np.where(rng.random(n) < 0.01, 100_000 * (1 + rng.pareto(1.6, n)), profit)
    profit = np.where(rng.random(n) < 0.08, -3_000 * np.exp(rng.normal(0, 1.0, n)), profit)  # trading losses
    self_employment = np.where(self_employed, profit, 0.0)

    state = np.where(age >= 66, rng.uniform(7_500, 10_600, n), 0.0)
    private = np.where(rng.random(n) < np.select([age >= 66, age >= 55], [0.75, 0.2], 0.0),
                       8_000 * np.exp(rng.normal(0, 0.9, n)), 0.0)
    earnings = employment + np.maximum(self_employment, 0)
    wealthy = (earnings > 80_000) | (rng.random(n) < 0.05)
    landlord = rng.random(n) < np.select([age >= 65, age >= 45], [0.12, 0.09], 0.05) * np.where(wealthy, 2.5, 1.0)
    property_income = np.where(landlord, 7_000 * np.exp(rng.normal(0, 0.9, n)), 0.0)
    p_dividend = 0.05 + 0.25 * self_employed + 0.15 * wealthy + 0.10 * (age >= 65)
    dividend = np.where(rng.random(n) < p_dividend, 1_500 * np.exp(rng.normal(0, 1.9, n)), 0.0)
    return {
        "employment": np.round(np.clip(employment, 0, 10_000_000)),
        "self_employment": np.round(np.clip(self_employment, -1_000_000, 10_000_000)),
        "pension": np.round(np.clip(state + private, 0, 2_000_000)),
        "property": np.round(np.clip(property_income, 0, 10_000_000)),
        "dividend": np.round(np.clip(dividend, 0, 50_000_000)),
        "sector": np.where(employed | self_employed, sector, -1),
    }


def _income_tax(non_savings: np.ndarray, dividend: np.ndarray,
                scottish: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Income tax for 2023-24, taxable income, and the band of the highest taxable pound."""
    adjusted = non_savings + dividend
    allowance = np.maximum(_PERSONAL_ALLOWANCE - np.floor(np.maximum(adjusted - 100_000, 0) / 2), 0)  # £1 per £2
    taxable_main = np.maximum(non_savings - allowance, 0)
    taxable_dividend = np.maximum(dividend - np.maximum(allowance - non_savings, 0), 0)
    taxable = taxable_main + taxable_dividend

    tax = np.zeros(len(non_savings))
    for bands, where in ((_UK_BANDS, ~scottish), (_SCOTTISH_BANDS, scottish)):
        lower = 0.0
        for width, rate in bands:
            tax += where * rate * _overlap(taxable_main, 0, lower, lower + width)
            lower += width
    # Dividends sit on top of other income in the UK bands; the first £1,000 is taxed at 0%.
    start = taxable_main + np.minimum(taxable_dividend, _DIVIDEND_ALLOWANCE)
    end = taxable_main + taxable_dividend
    for (low, high), rate in zip(((0, 37_700), (37_700, 125_140), (125_140, np.inf)), _DIVIDEND_RATES):
        tax += rate * _overlap(end, start, low, high)

    uk_band = np.digitize(taxable, (37_700, 125_140), right=True)  # basic, higher, additional
    scottish_band = np.digitize(taxable, (2_162, 13_118, 31_092, 125_140), right=True)
    band = np.where(scottish, np.array([1, 2, 3, 4, 6])[scottish_band], np.array([2, 4, 5])[uk_band])
    return tax, taxable, np.where(taxable > 0, band, 0)


def _overlap(end: np.ndarray, start: np.ndarray | float, low: float, high: float) -> np.ndarray:
    """How much of each interval [start, end] lies within [low, high]."""
    return np.clip(np.minimum(end, high) - np.maximum(start, low), 0, None)


def _student_loans(rng: np.random.Generator, age: np.ndarray, region: np.ndarray,
                   earnings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plan by age and nation, and the year's repayment from earnings above the plan's threshold."""
    n = len(age)
    has_loan = rng.random(n) < np.select([age < 21, age <= 30, age <= 40, age <= 50, age <= 60],
                                         [0.15, 0.45, 0.30, 0.10, 0.02], 0.0)
    # Plan 2 began for courses from September 2012; Scotland lends under Plan 4, Northern Ireland Plan 1.
    plan = np.select([region == _SCOTLAND, region == _NORTHERN_IRELAND, age <= 30], [3, 1, 2], 1)
    plan = np.where((age >= 22) & (age <= 40) & (rng.random(n) < 0.04), 4, plan)
    plan = np.where(has_loan, plan, 0)
    threshold = np.array([t for t, _ in _LOAN_TERMS])[plan]
    rate = np.array([r for _, r in _LOAN_TERMS])[plan]
    return plan, np.where(has_loan, rate * np.maximum(earnings - threshold, 0), 0.0)


def _filing_dates(rng: np.random.Generator, files: np.ndarray) -> np.ndarray:
    """Self-assessment filing dates: early filers, a crowd in the last days of January, then late filers."""
    n = len(files)
    day = np.timedelta64(1, "D")
    deadline = FILING_DEADLINE.to_datetime64()
    opened = (TAX_YEAR_END + pd.Timedelta(days=1)).to_datetime64()
    kind = rng.choice(4, size=n, p=[0.37, 0.31, 0.25, 0.07])
    early = np.minimum(rng.exponential(60, n), 207).astype(np.int64)  # 6 April to 31 October
    winter = rng.integers(0, 85, n)  # 1 November to 24 January
    last_week = rng.choice(7, size=n, p=np.array([1, 1, 2, 2, 3, 4, 8]) / 21)
    late = np.minimum(rng.exponential(45, n), 364).astype(np.int64) + 1
    offset = np.choose(kind, [early * day + (opened - deadline), (winter - 91) * day, (last_week - 6) * day,
                              late * day])
    return np.where(files, deadline + offset, np.datetime64("NaT")).astype("datetime64[ns]")


def _labels(names: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    table = np.array([*names, None], dtype=object)
    return table[np.where(codes < 0, len(names), codes)]
