"""The twin's SDV metadata, built from the public schema alone.

SDV's own detection (``Metadata.detect_from_dataframes``) is never used: it reads the real
data. SDV 2.0's metadata has no field for bounds or category sets; those travel beside
it in the bundle's ``schema.json`` (see synth.bundle), taken from the policy.
"""

from __future__ import annotations

from typing import Any

from sdv.metadata import Metadata

from synth.schema import ColumnSchema, DatasetSchema

_SDTYPES = {
    "id": "id",
    "integer": "numerical",
    "float": "numerical",
    "categorical": "categorical",
    "boolean": "boolean",
    "date": "datetime",
    "datetime": "datetime",
}


def metadata_dict(schema: DatasetSchema) -> dict[str, Any]:
    """SDV (spec V2) metadata for the modelled columns of every table."""
    tables: dict[str, Any] = {}
    for table in schema.tables:
        columns = {c.name: _column(c) for c in table.modelled_columns}
        entry: dict[str, Any] = {"columns": columns}
        if table.primary_key is not None:
            entry["primary_key"] = table.primary_key
        tables[table.name] = entry
    relationships = [
        {
            "parent_table_name": rel.parent,
            "parent_primary_key": rel.parent_key,
            "child_table_name": rel.child,
            "child_foreign_key": rel.child_key,
        }
        for rel in schema.relationships
    ]
    return {"tables": tables, "relationships": relationships, "METADATA_SPEC_VERSION": "V2"}


def sdv_metadata(schema: DatasetSchema) -> Metadata:
    """The SDV ``Metadata`` object for a schema, validated."""
    metadata = Metadata.load_from_dict(metadata_dict(schema))
    metadata.validate()
    return metadata


def _column(column: ColumnSchema) -> dict[str, Any]:
    # No datetime_format: the tables hold real datetimes, not strings (synth.checks).
    return {"sdtype": _SDTYPES[column.kind]}
