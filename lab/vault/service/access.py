"""Who may do what with a dataset: the policy's ``access`` groups, applied to a caller.

Seeing a dataset (its catalog entry, budgets and free twin previews) needs one of the
policy's ``twin_groups`` or ``query_groups``; querying the real data needs one of its
``query_groups``. Vault admins may do both everywhere. These checks run before a query
is validated against the policy, so a caller without access learns nothing about the
dataset's columns from validation errors. The caller's groups are the hub's, asked on every
request (cached at most ``auth.HUB_CACHE_SECONDS``, 30 s), so a removal from a group in the
people file (applied to the hub by ``lab.hub.sync``) ends access within that.
"""

from __future__ import annotations

from collections.abc import Mapping

from lab.policies.model import Policy
from lab.vault import query_errors as qe
from lab.vault.service.auth import Caller
from lab.vault.service.errors import NoAccess


def can_see(policy: Policy, caller: Caller) -> bool:
    """The caller may see the dataset's catalog entry, budgets and twin previews."""
    allowed = set(policy.access.twin_groups) | set(policy.access.query_groups)
    return caller.admin or bool(allowed.intersection(caller.groups))


def can_query(policy: Policy, caller: Caller) -> bool:
    """The caller may spend privacy budget on the dataset's real data."""
    return caller.admin or bool(set(policy.access.query_groups).intersection(caller.groups))


def visible(policies: Mapping[str, Policy], caller: Caller) -> dict[str, Policy]:
    """The policies of the datasets the caller may see, by name."""
    return {name: policy for name, policy in sorted(policies.items()) if can_see(policy, caller)}


def policy_for(policies: Mapping[str, Policy], caller: Caller, dataset: str, *, query: bool) -> Policy:
    """The dataset's policy, if the caller may see it (``query``: and query it).

    Raises:
        UnknownDataset: no such dataset (the fix lists only datasets the caller may see).
        NoAccess: the caller's groups do not give the access asked for.
    """
    policy = policies.get(dataset)
    if policy is None:
        names = ", ".join(visible(policies, caller)) or "(none you may see)"
        raise qe.UnknownDataset(f"dataset: '{dataset}' is not a dataset of this vault. Fix: use one of: {names}.")
    if query and not can_query(policy, caller):
        groups = ", ".join(policy.access.query_groups) or "(none)"
        raise NoAccess(f"you ({caller.name}) are not in a group that may query the real data of '{dataset}' "
                       "(nothing was charged).",
                       f"Work on the twin (preview is free), or ask the data owner ({policy.owner}) to add you to "
                       f"one of the groups: {groups}.")
    if not query and not can_see(policy, caller):
        raise NoAccess(f"you ({caller.name}) are not in a group that may see dataset '{dataset}'.",
                       f"Ask the data owner ({policy.owner}) for access.")
    return policy
