"""Who may see what: a person's groups, datasets, cohorts and teams, from the people file and
the dataset policies. Pure functions, so the spawn hook, ``lab hub check`` and the tests
compute access the same way, and the vault (lab.vault.service.access) agrees with them:
a dataset is visible to the groups in its ``twin_groups`` or ``query_groups``, and to admins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lab.hub.people import ADMINS_GROUP, People
from lab.policies.model import Policy


@dataclass(frozen=True)
class Access:
    """What one person gets in their server.

    Attributes:
        name: the hub user.
        groups: their hub groups (``admins`` for admins).
        twins: datasets whose twins they may read.
        queries: datasets they may ask DP questions of.
        cohorts: their cohort groups (course folders).
        teams: their team groups (shared folders).
    """

    name: str
    groups: tuple[str, ...]
    twins: tuple[str, ...]
    queries: tuple[str, ...]
    cohorts: tuple[str, ...]
    teams: tuple[str, ...]

    @property
    def admin(self) -> bool:
        return ADMINS_GROUP in self.groups


def access_of(name: str, people: People, policies: Mapping[str, Policy]) -> Access:
    """Compute a person's access (someone not in the people file gets nothing).

    >>> from pathlib import Path
    >>> from lab.hub.people import GroupSpec
    >>> people = People(Path("people.yaml"), {"staff": GroupSpec(members=["bob"])}, frozenset(), (), frozenset())
    >>> access_of("bob", people, {}).groups
    ('staff',)
    """
    groups = tuple(people.groups_of(name))
    return Access(
        name=name,
        groups=groups,
        twins=tuple(visible_datasets(groups, policies)),
        queries=tuple(sorted(d for d, p in policies.items()
                             if ADMINS_GROUP in groups or set(groups) & set(p.access.query_groups))),
        cohorts=tuple(people.groups_of_kind(name, "cohort")),
        teams=tuple(people.groups_of_kind(name, "team")),
    )


def visible_datasets(groups: tuple[str, ...] | list[str], policies: Mapping[str, Policy]) -> list[str]:
    """Datasets whose twins these groups may see: twin or query groups, or admins (all)."""
    mine = set(groups)
    if ADMINS_GROUP in mine:
        return sorted(policies)
    return sorted(dataset for dataset, policy in policies.items()
                  if mine & (set(policy.access.twin_groups) | set(policy.access.query_groups)))


def readers_of(dataset: str, people: People, policies: Mapping[str, Policy]) -> list[str]:
    """Everyone who may read ``dataset``'s twin (for ``lab hub check`` and docs)."""
    return sorted(name for name in people.names if dataset in access_of(name, people, policies).twins)
