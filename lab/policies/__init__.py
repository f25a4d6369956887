"""Dataset policies: the file format, its validation, and its translation for the pipeline."""

from lab.policies.convert import dataset_schema, release_gates, synthesis_spec
from lab.policies.loader import load_policies, load_policy
from lab.policies.model import POLICY_VERSION, Policy

__all__ = [
    "POLICY_VERSION",
    "Policy",
    "dataset_schema",
    "load_policies",
    "load_policy",
    "release_gates",
    "synthesis_spec",
]
