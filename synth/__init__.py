"""synth: the twin pipeline, from real tables and a public schema to a released twin bundle.

It knows nothing of JupyterHub, users or budgets, so it can be tested, benchmarked and
reused on its own.
"""

from synth.errors import (
    BundleError,
    DataLoadError,
    DataValidationError,
    ReleaseRefused,
    SynthError,
    SynthesisError,
    Violation,
)
from synth.schema import ColumnSchema, DatasetSchema, Relationship, TableSchema
from synth.spec import GateOutcome, ReleaseGates, SynthesisSpec

__all__ = [
    "BundleError",
    "ColumnSchema",
    "DataLoadError",
    "DataValidationError",
    "DatasetSchema",
    "GateOutcome",
    "Relationship",
    "ReleaseGates",
    "ReleaseRefused",
    "SynthError",
    "SynthesisError",
    "SynthesisSpec",
    "TableSchema",
    "Violation",
]
