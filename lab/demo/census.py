"""Census demo data: households, and the persons who live in them.

A stand-in for census microdata with the structure that makes census twins hard: two
related tables; households of one to a dozen people whose ages and relationships fit
together (children live with adults, a parent is at least 16 years older than a child);
a skewed household income that follows its members' work, education and a shared
household "circumstances" factor; and rare groups a twin can visibly lose (households
of 8 or more, centenarians, Gypsy, Irish Traveller and Roma people, same-sex couples,
caravans). Rates follow the 2021 Census of England and Wales in broad strokes; no row
describes a real person.

The regions and the two small sampling helpers are shared by the other demo generators.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

REGIONS = (
    "north_east", "north_west", "yorkshire_and_the_humber", "east_midlands", "west_midlands",
    "east_of_england", "london", "south_east", "south_west", "wales", "scotland", "northern_ireland",
)
#: Shares of the UK population, in the order of REGIONS.
REGION_SHARES = (0.039, 0.111, 0.082, 0.073, 0.089, 0.094, 0.132, 0.138, 0.085, 0.047, 0.082, 0.028)
URBAN_RURAL = ("urban", "rural")
HOUSEHOLD_TYPES = ("one_person", "couple_no_children", "couple_with_children", "lone_parent",
                   "multi_generation", "other_household")
TENURES = ("owned_outright", "owned_with_mortgage", "shared_ownership", "social_rent", "private_rent", "rent_free")
ACCOMMODATION_TYPES = ("detached", "semi_detached", "terraced", "flat", "caravan_or_mobile")
RELATIONSHIPS = ("reference_person", "spouse_or_partner", "child", "stepchild", "grandchild", "parent",
                 "sibling", "other_relative", "unrelated")
SEXES = ("female", "male")
MARITAL_STATUSES = ("never_married", "married_or_civil_partnership", "separated", "divorced", "widowed")
ETHNIC_GROUPS = (
    "white_british", "white_irish", "white_gypsy_or_irish_traveller", "white_roma", "white_other", "mixed",
    "indian", "pakistani", "bangladeshi", "chinese", "other_asian", "black_african", "black_caribbean",
    "other_black", "arab", "any_other",
)
QUALIFICATIONS = ("no_qualifications", "level_1", "level_2", "level_3", "level_4_plus", "apprenticeship",
                  "other_qualifications")
GENERAL_HEALTH = ("very_good", "good", "fair", "bad", "very_bad")
DISABILITY = ("not_disabled", "disabled_limited_a_little", "disabled_limited_a_lot")
ECONOMIC_ACTIVITIES = ("employee", "self_employed", "unemployed", "student", "retired", "looking_after_home",
                       "long_term_sick_or_disabled", "other_inactive", "does_not_apply")
OCCUPATION_GROUPS = ("managers_directors", "professional", "associate_professional", "administrative_secretarial",
                     "skilled_trades", "caring_leisure_service", "sales_customer_service", "process_plant_machine",
                     "elementary")

_TYPE_SHARES = (0.30, 0.26, 0.23, 0.11, 0.04, 0.06)
_PARTNER, _CHILD, _PARENT, _GRANDCHILD, _OTHER = 1, 2, 3, 4, 5  # member roles; 0 is the reference person
# Shares of ethnic groups in England and Wales, and how much more (or less) common the
# groups other than white_british are in each region (order of REGIONS).
_ETHNIC_SHARES = (0.745, 0.009, 0.001, 0.002, 0.062, 0.03, 0.031, 0.027, 0.011, 0.007, 0.016, 0.025, 0.010,
                  0.005, 0.006, 0.013)
_MINORITY_FACTOR = (0.4, 0.9, 1.0, 1.0, 1.4, 0.9, 2.5, 0.8, 0.35, 0.35, 0.4, 0.15)
_URBAN_SHARE = (0.8, 0.85, 0.8, 0.7, 0.8, 0.7, 1.0, 0.78, 0.6, 0.65, 0.8, 0.65)
_AGE_GROUP_EDGES = (16, 18, 25, 35, 50, 65, 75)  # groups: <16, 16-17, 18-24, 25-34, 35-49, 50-64, 65-74, 75+
# Economic activity of people aged 16+ by age group (columns: ECONOMIC_ACTIVITIES[:8]).
_ACTIVITY_BY_AGE = np.array([
    [0.18, 0.005, 0.03, 0.77, 0.0, 0.005, 0.005, 0.005],
    [0.50, 0.03, 0.06, 0.33, 0.0, 0.03, 0.02, 0.03],
    [0.74, 0.08, 0.04, 0.04, 0.0, 0.05, 0.03, 0.02],
    [0.71, 0.12, 0.03, 0.01, 0.003, 0.06, 0.045, 0.02],
    [0.56, 0.12, 0.025, 0.003, 0.13, 0.05, 0.08, 0.03],
    [0.10, 0.06, 0.005, 0.001, 0.80, 0.015, 0.01, 0.01],
    [0.015, 0.015, 0.0, 0.0, 0.96, 0.005, 0.0, 0.005],
])
# Occupation by highest qualification (rows: QUALIFICATIONS; columns: OCCUPATION_GROUPS).
_OCCUPATION_BY_QUALIFICATION = np.array([
    [0.05, 0.01, 0.04, 0.08, 0.16, 0.13, 0.11, 0.17, 0.25],
    [0.07, 0.03, 0.07, 0.12, 0.15, 0.13, 0.13, 0.12, 0.18],
    [0.09, 0.05, 0.10, 0.14, 0.14, 0.13, 0.12, 0.09, 0.14],
    [0.10, 0.09, 0.14, 0.13, 0.12, 0.11, 0.10, 0.07, 0.14],
    [0.14, 0.38, 0.17, 0.09, 0.04, 0.05, 0.04, 0.02, 0.07],
    [0.09, 0.04, 0.09, 0.07, 0.35, 0.07, 0.05, 0.13, 0.11],
    [0.08, 0.08, 0.10, 0.10, 0.13, 0.12, 0.10, 0.10, 0.19],
])
#: Log of the median full-time annual pay of each occupation group (about £19k to £57k).
_OCCUPATION_LOG_PAY = np.array([10.95, 10.75, 10.45, 10.15, 10.25, 9.95, 9.9, 10.15, 9.85])


def generate_census(households: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Generate the census demo: ``households`` households and about 2.4 persons per household.

    Args:
        households: number of households (the persons table has roughly 2.4 times as many rows).
        seed: the same seed always gives the same tables.

    Returns:
        ``{"households": ..., "persons": ...}``; ``persons.household_id`` refers to
        ``households.household_id``.

    >>> tables = generate_census(100, seed=1)
    >>> persons, households = tables["persons"], tables["households"]
    >>> len(households), bool(persons["household_id"].isin(households["household_id"]).all())
    (100, True)
    """
    if households < 1:
        raise ValueError(f"households must be at least 1, not {households}")
    rng = np.random.default_rng(seed)
    home = _homes(rng, households)
    people = _members(rng, home)
    _ages(rng, home, people)
    _personal(rng, home, people)
    _work(rng, home, people)
    _dwellings(rng, home, people)
    return {"households": _households_frame(home), "persons": _persons_frame(people)}


def draw_rowwise(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """For each row of a weight matrix, the index of one column drawn in proportion to the weights."""
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cumulative[:, -1]
    return (cumulative <= u[:, None]).sum(axis=1)


def draw_ages(rng: np.random.Generator, n: int, bands: Sequence[tuple[int, int, float]]) -> np.ndarray:
    """``n`` whole ages: a band ``(lowest, highest, weight)`` by weight, then an age uniformly in it."""
    low, high, weight = (np.array(column) for column in zip(*bands))
    band = rng.choice(len(bands), size=n, p=weight / weight.sum())
    return rng.integers(low[band], high[band] + 1).astype(np.int64)


def _homes(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Region, household type, circumstances and the number of members in each role."""
    region = rng.choice(len(REGIONS), size=n, p=np.array(REGION_SHARES) / sum(REGION_SHARES))
    kind = rng.choice(len(HOUSEHOLD_TYPES), size=n, p=_TYPE_SHARES)
    # One latent factor per household drives income, education, health and housing together.
    circumstances = rng.normal(0.0, 1.0, n) + np.where(np.isin(region, (6, 7)), 0.2, 0.0) \
        - np.where(np.isin(region, (0, 9)), 0.15, 0.0)
    counts = np.zeros((n, 6), dtype=np.int64)
    counts[:, 0] = 1
    children_couple = np.arange(1, 9), (0.42, 0.39, 0.13, 0.04, 0.013, 0.005, 0.0015, 0.0005)
    children_lone = np.arange(1, 8), (0.52, 0.32, 0.11, 0.035, 0.01, 0.004, 0.001)
    for code, (values, p) in ((2, children_couple), (3, children_lone)):
        mask = kind == code
        counts[mask, _CHILD] = rng.choice(values, size=mask.sum(), p=np.array(p) / sum(p))
    counts[np.isin(kind, (1, 2)), _PARTNER] = 1
    multi = kind == 4
    m = int(multi.sum())
    counts[multi, _PARTNER] = rng.random(m) < 0.75
    counts[multi, _PARENT] = rng.choice(3, size=m, p=(0.4, 0.45, 0.15))
    grandchildren = rng.choice(5, size=m, p=(0.4, 0.3, 0.18, 0.08, 0.04))
    # Four generations under one roof are rare: a parent of the reference person or grandchildren.
    counts[multi, _PARENT] *= (grandchildren == 0) | (rng.random(m) < 0.1)
    grandchildren = np.where(counts[multi, _PARENT] == 0, np.maximum(grandchildren, 1), grandchildren)
    counts[multi, _GRANDCHILD] = grandchildren
    children = rng.choice(5, size=m, p=(0.15, 0.35, 0.3, 0.15, 0.05))
    counts[multi, _CHILD] = np.where(grandchildren > 0, np.maximum(children, 1), children)
    sharers = kind == 5
    counts[sharers, _OTHER] = rng.choice(np.arange(1, 6), size=sharers.sum(), p=(0.55, 0.25, 0.12, 0.05, 0.03))
    return {"region": region, "kind": kind, "circumstances": circumstances, "counts": counts,
            "size": counts.sum(axis=1)}


def _members(rng: np.random.Generator, home: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One entry per person, ordered by household and role, with the rank within the role."""
    counts = home["counts"]
    n = len(counts)
    household = np.repeat(np.arange(n), home["size"])
    role = np.repeat(np.tile(np.arange(6), n), counts.ravel())
    key = household * 6 + role
    new_group = np.r_[True, key[1:] != key[:-1]]
    starts = np.flatnonzero(new_group)
    rank = np.arange(len(key)) - starts[np.cumsum(new_group) - 1]
    home["first_member"] = np.r_[0, np.cumsum(home["size"])[:-1]]
    number = np.arange(len(key)) - home["first_member"][household] + 1
    return {"household": household, "role": role, "rank": rank, "number": number}


def _ages(rng: np.random.Generator, home: dict[str, np.ndarray], people: dict[str, np.ndarray]) -> None:
    """Ages that fit the relationships: parents at least 16 years older than their children."""
    kind, counts = home["kind"], home["counts"]
    n = len(kind)
    has_children = counts[:, _CHILD] > 0
    has_grandchildren = counts[:, _GRANDCHILD] > 0
    # The eldest child's age sets the reference person's age through the parents' age at birth.
    eldest = np.where(rng.random(n) < 0.82, rng.integers(0, 18, n), rng.integers(18, 33, n))
    eldest = np.where(has_grandchildren, rng.integers(19, 41, n), eldest)
    eldest = np.maximum(eldest, counts[:, _CHILD] - 1 + rng.integers(0, 3, n))
    gap = np.where(kind == 3, rng.normal(28, 6.5, n), rng.normal(30, 5.5, n))
    gap = np.where(has_grandchildren, rng.normal(27, 5, n), gap)
    gap = np.round(np.clip(gap, 16, 47)).astype(np.int64)
    # Someone whose own parent lives with them is rarely over 65 (the parent would be over 90).
    with_parent = (counts[:, _PARENT] > 0) & ~has_grandchildren
    eldest = np.where(with_parent, np.minimum(eldest, np.maximum(62 - gap, 0)), eldest)
    ref = np.where(has_children, eldest + gap, 0)
    single = kind == 0
    ref[single] = draw_ages(rng, int(single.sum()), [(18, 24, 0.03), (25, 34, 0.10), (35, 49, 0.15),
                                                      (50, 64, 0.24), (65, 74, 0.19), (75, 84, 0.18),
                                                      (85, 94, 0.10), (95, 99, 0.008), (100, 105, 0.0015)])
    couple = (kind == 1) | ((kind == 4) & ~has_children)
    ref[couple] = draw_ages(rng, int(couple.sum()), [(18, 24, 0.04), (25, 34, 0.17), (35, 49, 0.13),
                                                      (50, 64, 0.26), (65, 74, 0.22), (75, 84, 0.14),
                                                      (85, 99, 0.04)])
    ref = np.where((kind == 4) & ~has_children, np.minimum(ref, 62), ref)
    sharing = kind == 5
    ref[sharing] = draw_ages(rng, int(sharing.sum()), [(18, 29, 0.7), (30, 64, 0.3)])

    household, role, rank = people["household"], people["role"], people["rank"]
    size = len(household)
    age = np.zeros(size, dtype=np.int64)
    age[role == 0] = ref
    partner = role == _PARTNER
    floor = np.maximum(18, np.where(has_children, eldest + 16, 18))[household[partner]]
    partner_age = np.round(ref[household[partner]] + rng.normal(-1.5, 4.5, int(partner.sum())))
    age[partner] = np.clip(partner_age, floor, 99).astype(np.int64)  # centenarian couples: vanishingly rare
    # Younger children follow the eldest at gaps of one year or more (3% are twins).
    child = role == _CHILD
    spacing = np.where(rank[child] == 0, 0, rng.geometric(0.45, int(child.sum())))
    spacing = np.where(rng.random(int(child.sum())) < 0.03, 0, spacing)
    cumulative = np.cumsum(spacing)
    first = np.r_[True, household[child][1:] != household[child][:-1]]
    cumulative -= np.maximum.accumulate(np.where(first, cumulative, 0))
    age[child] = np.maximum(eldest[household[child]] - cumulative, 0)
    grandchild = role == _GRANDCHILD
    top = np.maximum(eldest[household[grandchild]] - 17, 1)
    age[grandchild] = np.floor(rng.random(int(grandchild.sum())) * top).astype(np.int64)
    parent = role == _PARENT
    parent_age = ref[household[parent]] + np.round(rng.normal(29, 5, int(parent.sum())))
    age[parent] = np.clip(parent_age, ref[household[parent]] + 16, 100).astype(np.int64)
    other = role == _OTHER
    other_age = np.round(ref[household[other]] + rng.normal(0, 5, int(other.sum())))
    age[other] = np.clip(other_age, 18, 90).astype(np.int64)
    people["age"] = age


def _personal(rng: np.random.Generator, home: dict[str, np.ndarray], people: dict[str, np.ndarray]) -> None:
    """Relationship, sex, marital status, ethnic group, qualification, health and disability."""
    household, role, age = people["household"], people["role"], people["age"]
    kind, counts = home["kind"], home["counts"]
    size = len(role)
    u = rng.random(size)
    relationship = np.select(
        [role == 0, role == _PARTNER, role == _CHILD, role == _GRANDCHILD, role == _PARENT],
        [0, 1, np.where((counts[household, _PARTNER] == 1) & (u < 0.1), 3, 2), 4, 5],
        default=np.where(u < 0.2, 6, np.where(u < 0.25, 7, 8)),
    )
    people["relationship"] = relationship

    p_female = np.full(size, 0.49)
    ref_kind = kind[household]
    p_female[role == 0] = np.select([ref_kind == 0, ref_kind == 3], [np.where(age < 65, 0.42, 0.62), 0.88],
                                    0.45)[role == 0]
    p_female[role == _PARENT] = 0.62
    female = rng.random(size) < p_female
    same_sex = rng.random(size) < 0.015  # about 1.5% of couples
    partner = role == _PARTNER
    ref_female = female[home["first_member"]][household]
    female[partner] = np.where(same_sex, ref_female, ~ref_female)[partner]
    people["female"] = female

    # Couples who are married are married to each other; everyone else by age.
    in_couple = ((role == 0) | partner) & (counts[household, _PARTNER] == 1)
    married_couple = rng.random(len(kind)) < 0.88 / (1 + np.exp(-(age[home["first_member"]] - 33) / 6))
    by_age = np.array([[0.97, 0.015, 0.005, 0.01, 0.0], [0.70, 0.05, 0.07, 0.17, 0.01], [0.40, 0.06, 0.08, 0.38, 0.08],
                       [0.12, 0.06, 0.03, 0.34, 0.45], [0.06, 0.04, 0.01, 0.14, 0.75]])
    single_status = draw_rowwise(rng, by_age[np.digitize(age, (30, 45, 65, 80))])
    cohabiting = draw_rowwise(rng, np.tile([0.8, 0.0, 0.02, 0.15, 0.03], (size, 1)))
    status = np.where(in_couple, np.where(married_couple[household], 1, cohabiting), single_status)
    people["marital"] = np.where(age < 16, -1, status)

    region = home["region"]
    minority = np.array(_ETHNIC_SHARES) * np.array(_MINORITY_FACTOR)[:, None]
    minority[:, 0] = 1 - minority[:, 1:].sum(axis=1)
    household_group = draw_rowwise(rng, minority[region])
    own_group = draw_rowwise(rng, minority[region[household]])
    # Partners and unrelated sharers sometimes differ; children of such couples are mostly 'mixed'.
    v = rng.random(size)
    differs = (partner & (v < 0.08)) | ((relationship == 8) & (v < 0.7))
    group = np.where(differs, own_group, household_group[household])
    mixed_couple = np.zeros(len(kind), dtype=bool)
    mixed_couple[household[partner]] = group[partner] != household_group[household[partner]]
    offspring = np.isin(role, (_CHILD, _GRANDCHILD)) & mixed_couple[household] & (rng.random(size) < 0.8)
    people["ethnic"] = np.where(offspring, 5, group)

    circumstances = home["circumstances"][household]
    cohort = np.select([age < 25, age < 35, age < 50, age < 65, age < 75], [0.3, 0.55, 0.35, 0.0, -0.45], -0.85)
    latent = 0.6 * circumstances + cohort + rng.normal(0, 0.9, size)
    level = np.digitize(latent, (-1.1, -0.65, -0.1, 0.4))  # no_qualifications .. level_4_plus
    level = np.where(age < 18, np.minimum(level, 2), np.where(age < 21, np.minimum(level, 3), level))
    extra = rng.random(size)
    apprenticeship = (age >= 19) & (level >= 1) & (level <= 3) & (extra < np.where(female, 0.04, 0.09))
    other_qualification = (age >= 19) & (extra > 0.97)
    level = np.where(apprenticeship, 5, np.where(other_qualification, 6, level))
    people["qualification"] = np.where(age < 16, -1, level)

    schooling = np.array([-1.0, -0.5, 0.0, 0.4, 0.9, 0.1, 0.0])[level]
    health = -0.035 * (age - 45) + 0.25 * schooling + 0.3 * circumstances + rng.normal(0, 1, size)
    people["health"] = 4 - np.digitize(health, (-2.85, -1.9, -0.8, 0.4))
    limitation = -health + rng.normal(0, 0.6, size)
    people["disability"] = np.digitize(limitation, (1.05, 1.85))


def _work(rng: np.random.Generator, home: dict[str, np.ndarray], people: dict[str, np.ndarray]) -> None:
    """Economic activity, occupation, hours and (unpublished) personal income."""
    age, female, level = people["age"], people["female"], people["qualification"]
    disability, household = people["disability"], people["household"]
    size = len(age)
    weights = _ACTIVITY_BY_AGE[np.clip(np.digitize(age, _AGE_GROUP_EDGES) - 1, 0, 6)].copy()
    weights *= np.array([[1, 1, 1, 1, 1, 1, 1, 1], [0.8, 0.9, 1.2, 0.9, 1.1, 1.1, 3.0, 1.2],
                         [0.3, 0.45, 0.8, 0.6, 1.3, 1.0, 9.0, 1.5]])[disability]
    weights *= np.where((level == 4)[:, None], [1.15, 1.2, 0.6, 1.1, 0.9, 0.8, 0.5, 0.8], 1.0)
    weights *= np.where((level == 0)[:, None], [0.7, 0.8, 1.6, 0.6, 1.2, 1.5, 1.7, 1.3], 1.0)
    weights *= np.where(female[:, None], [1, 0.55, 0.8, 1, 1, 1, 1, 1], [1, 1.4, 1, 1, 1, 0.3, 1, 1])
    weights[:, 5] *= np.where(female & (age < 65), 2.5, 1.0)
    lone_parent = (people["role"] == 0) & (home["kind"][household] == 3)
    weights[lone_parent] *= [0.85, 1, 1, 1, 1, 2.5, 1, 1]
    activity = np.where(age < 16, 8, draw_rowwise(rng, weights))
    people["activity"] = activity

    working = activity <= 1
    occupation_weights = _OCCUPATION_BY_QUALIFICATION[np.maximum(level, 0)]
    occupation_weights = occupation_weights * np.where(
        female[:, None], [0.8, 1.0, 1.0, 1.9, 0.2, 2.6, 1.4, 0.3, 0.9], [1.2, 1.0, 1.0, 0.45, 2.2, 0.35, 0.7, 1.8, 1.1])
    occupation_weights *= np.where((activity == 1)[:, None], [1.5, 1.0, 1.1, 0.4, 2.5, 1.2, 0.5, 0.9, 0.6], 1.0)
    occupation = draw_rowwise(rng, occupation_weights)
    people["occupation"] = np.where(working, occupation, -1)

    part_time_rate = np.select([age < 25, age >= 65], [0.5, 0.6], np.where(female, 0.37, 0.12))
    part_time = rng.random(size) < part_time_rate
    full = rng.normal(40 + 4 * (activity == 1) + 3 * (occupation == 0), 4.5, size)
    full = np.where(rng.random(size) < 0.05, rng.normal(55, 8, size), full)
    hours = np.where(part_time, rng.integers(4, 30, size), np.clip(np.round(full), 30, 90))
    people["hours"] = np.where(working, np.clip(hours, 1, 99), -1).astype(np.int64)

    circumstances = home["circumstances"][household]
    schooling = np.array([-1.0, -0.5, 0.0, 0.4, 0.9, 0.1, 0.0])[np.maximum(level, 0)]
    log_pay = (_OCCUPATION_LOG_PAY[occupation] + 0.9 * np.log(np.maximum(hours, 1) / 38) - 0.0008 * (age - 48) ** 2
               + 0.12 * schooling + 0.2 * circumstances + rng.normal(0, 0.35, size))
    log_pay = np.where(activity == 1, log_pay - 0.15 + rng.normal(0, 0.6, size), log_pay)
    pension = rng.normal(9.55 + 0.12 * schooling + 0.2 * circumstances, 0.45)
    benefits = np.where(rng.random(size) < 0.8, rng.normal(8.6, 0.5, size), -np.inf)
    study = np.where(rng.random(size) < 0.3, rng.normal(8.3, 0.6, size), -np.inf)
    log_income = np.select([working, activity == 4, activity == 3, activity == 8], [log_pay, pension, study, -np.inf],
                           benefits)
    people["income"] = np.exp(log_income)


def _dwellings(rng: np.random.Generator, home: dict[str, np.ndarray], people: dict[str, np.ndarray]) -> None:
    """Household income, then tenure, accommodation, rooms and cars, which follow it."""
    n = len(home["kind"])
    household = people["household"]
    income = np.bincount(household, weights=people["income"], minlength=n)
    home["income"] = np.clip(np.round(income), 0, 5_000_000)
    adults = np.bincount(household, weights=people["age"] >= 18, minlength=n)
    log_income = np.log(np.maximum(income, 1000.0))
    position = (log_income - np.median(log_income)) / max(float(np.std(log_income)), 1e-9)
    ref_age = people["age"][home["first_member"]]
    region, kind, size = home["region"], home["kind"], home["size"]
    london = region == 6
    rural = rng.random(n) > np.array(_URBAN_SHARE)[region]
    home["rural"] = rural

    weights = np.array([[0.03, 0.32, 0.01, 0.12, 0.48, 0.01], [0.20, 0.48, 0.006, 0.11, 0.19, 0.004],
                        [0.76, 0.05, 0.002, 0.12, 0.065, 0.003]])[np.digitize(ref_age, (35, 65))]
    weights = weights * np.exp(np.outer(position, [0.5, 0.5, 0.0, -0.9, -0.1, 0.0]))
    weights *= np.where(london[:, None], [0.7, 0.85, 1, 1.3, 1.5, 1], 1.0)
    weights *= np.where((kind == 3)[:, None], [0.4, 0.6, 1, 2.3, 1.3, 1], 1.0)
    weights *= np.where((kind == 5)[:, None], [0.5, 0.5, 1, 1, 2.5, 1], 1.0)
    tenure = draw_rowwise(rng, weights)
    home["tenure"] = tenure

    weights = np.tile([0.23, 0.31, 0.26, 0.20, 0.005], (n, 1))
    weights *= np.where(london[:, None], [0.2, 0.5, 1.1, 3.5, 0.2], 1.0)
    weights *= np.where(rural[:, None], [2.6, 1.0, 0.6, 0.35, 3.0], 1.0)
    weights *= np.array([[1.5, 1.1, 0.85, 0.5, 1.5], [1.1, 1.1, 1, 0.8, 0.6], [1, 1, 1, 1, 1],
                         [0.15, 0.8, 1.1, 1.9, 0.5], [0.4, 0.8, 1.1, 1.7, 1.5], [1, 1, 1, 1, 2]])[tenure]
    weights *= np.where((size >= 5)[:, None], [1.4, 1.2, 1.0, 0.4, 0.5], 1.0)
    weights[:, 0] *= np.exp(0.4 * position)
    accommodation = draw_rowwise(rng, weights)
    home["accommodation"] = accommodation

    base = np.array([3.7, 3.0, 2.7, 1.6, 1.8])[accommodation]
    bedrooms = np.round(base + 0.22 * (size - 2.4) + 0.25 * position + rng.normal(0, 0.65, n))
    home["bedrooms"] = np.clip(bedrooms, np.where(accommodation == 3, 0, 1), 12).astype(np.int64)
    living = 1 + rng.binomial(2, np.clip(0.3 + 0.1 * position + 0.2 * (accommodation == 0), 0.05, 0.95))
    home["rooms"] = np.clip(home["bedrooms"] + np.where(home["bedrooms"] == 0, 1, living), 1, 25).astype(np.int64)
    rate = np.exp(0.5 + 0.3 * position + 0.2 * (adults - 1) - 0.9 * london - 0.2 * ~rural)
    home["cars"] = np.clip(rng.poisson(np.minimum(rate, 3.0)), 0, 9).astype(np.int64)
    home["income_missing"] = rng.random(n) < 0.05  # item non-response


def _households_frame(home: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({
        "household_id": np.arange(1, len(home["kind"]) + 1, dtype=np.int64),
        "region": _labels(REGIONS, home["region"]),
        "urban_rural": _labels(URBAN_RURAL, home["rural"].astype(np.int64)),
        "household_type": _labels(HOUSEHOLD_TYPES, home["kind"]),
        "household_size": home["size"].astype(np.int64),
        "tenure": _labels(TENURES, home["tenure"]),
        "accommodation_type": _labels(ACCOMMODATION_TYPES, home["accommodation"]),
        "rooms": home["rooms"],
        "bedrooms": home["bedrooms"],
        "cars": home["cars"],
        "household_income": np.where(home["income_missing"], np.nan, home["income"]),
    })


def _persons_frame(people: dict[str, np.ndarray]) -> pd.DataFrame:
    hours = pd.array(people["hours"], dtype="Int64")
    hours[people["hours"] < 0] = pd.NA
    return pd.DataFrame({
        "person_id": np.arange(1, len(people["age"]) + 1, dtype=np.int64),
        "household_id": people["household"].astype(np.int64) + 1,
        "person_number": people["number"].astype(np.int64),
        "relationship": _labels(RELATIONSHIPS, people["relationship"]),
        "age": people["age"],
        "sex": _labels(SEXES, (~people["female"]).astype(np.int64)),
        "marital_status": _labels(MARITAL_STATUSES, people["marital"]),
        "ethnic_group": _labels(ETHNIC_GROUPS, people["ethnic"]),
        "highest_qualification": _labels(QUALIFICATIONS, people["qualification"]),
        "general_health": _labels(GENERAL_HEALTH, people["health"]),
        "disability": _labels(DISABILITY, people["disability"]),
        "economic_activity": _labels(ECONOMIC_ACTIVITIES, people["activity"]),
        "occupation_group": _labels(OCCUPATION_GROUPS, people["occupation"]),
        "hours_worked": hours,
    })


def _labels(names: Sequence[str], codes: np.ndarray) -> np.ndarray:
    """Category names for codes, as an object array; code -1 becomes None (missing)."""
    table = np.array([*names, None], dtype=object)
    return table[np.where(codes < 0, len(names), codes)]
