"""Keep the schema's rules in a finished twin: derive what can be derived, replace the rest.

``bands`` and ``birth_date`` are written from their source column (synth.rules.enforce). A
row of the main (root) table that breaks an ``order``, ``forbidden`` or ``implies`` rule is
dropped, with its children, and replaced by rows sampled from the same fitted model with
other seeds, so the twin keeps its size. A row of a child table that breaks a rule is
dropped (with its own children) and not replaced: its parent keeps its other children.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from synth.errors import SynthesisError
from synth.postprocess import renumber_keys
from synth.rules import DERIVED_KINDS, describe, enforce, violation_mask, violations
from synth.schema import DatasetSchema, Rule

#: Rounds of resampling before giving up, and how many rows each round draws per row missing.
MAX_ROUNDS = 10
OVERSAMPLE = 2
_MIN_DRAW = 20
_SEED_STEP = 104_729  # a prime: round seeds never meet the build's other seeds by accident

#: ``draw(root_rows, seed)``: newly sampled and finished tables from the same fitted model.
Draw = Callable[[int, int], dict[str, pd.DataFrame]]


def keep_rules(twin: dict[str, pd.DataFrame], schema: DatasetSchema, draw: Draw,
               seed: int) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """The twin with zero violations of every rule, and per rule what it took.

    Raises:
        SynthesisError: the model still samples too few rows keeping a rule after
            ``MAX_ROUNDS`` rounds (the error names the rule).
    """
    if not schema.rules:
        return twin, []
    root = schema.root_table
    target = len(twin[root])
    first: dict[int, int] = {}
    kept = _valid(enforce_all(twin, schema, seed), schema, first)
    last: dict[int, int] = dict(first)
    for round_ in range(1, MAX_ROUNDS + 1):
        short = target - len(kept[root])
        if short <= 0:
            break
        batch_seed = seed + _SEED_STEP * round_
        last = {}
        batch = _valid(enforce_all(draw(max(OVERSAMPLE * short, _MIN_DRAW), batch_seed), schema, batch_seed),
                       schema, last)
        kept = _append(kept, _first_rows(batch, schema, root, short), schema)
    short = target - len(kept[root])
    if short > 0:
        raise _too_few(schema, root, short, last or first)
    renumber_keys(kept, schema)
    return kept, _summary(kept, schema, root, first)


def enforce_all(tables: dict[str, pd.DataFrame], schema: DatasetSchema, seed: int) -> dict[str, pd.DataFrame]:
    """Every table with its derivable rules (bands, birth_date) written from their sources."""
    return {name: enforce(frame, schema.rules_for(name), seed + 7 * offset) if schema.rules_for(name) else frame
            for offset, (name, frame) in enumerate(tables.items())}


def _valid(tables: dict[str, pd.DataFrame], schema: DatasetSchema, counts: dict[int, int]) -> dict[str, pd.DataFrame]:
    """The tables without rows breaking a rule (and their children); ``counts`` gets rows broken per rule."""
    tables = dict(tables)
    for name in _parents_first(schema):
        for index, rule in enumerate(schema.rules):
            if rule.table != name:
                continue
            broken = violation_mask(tables[name], rule)
            counts[index] = counts.get(index, 0) + int(broken.sum())
            if broken.any():
                _drop(tables, schema, name, broken)
    return tables


def _drop(tables: dict[str, pd.DataFrame], schema: DatasetSchema, name: str, rows: np.ndarray) -> None:
    """Remove rows of ``name`` and, following the relationships, every row that refers to them."""
    frame = tables[name]
    key = schema.table(name).primary_key
    gone = frame.loc[rows, key] if key is not None else pd.Series([], dtype=object)
    tables[name] = frame.loc[~rows].reset_index(drop=True)
    for rel in schema.relationships:
        if rel.parent == name and rel.child in tables and len(gone):
            _drop(tables, schema, rel.child, tables[rel.child][rel.child_key].isin(gone).to_numpy(dtype=bool))


def _first_rows(tables: dict[str, pd.DataFrame], schema: DatasetSchema, root: str, n: int) -> dict[str, pd.DataFrame]:
    tables = dict(tables)
    extra = np.arange(len(tables[root])) >= n
    if extra.any():
        _drop(tables, schema, root, extra)
    return tables


def _append(kept: dict[str, pd.DataFrame], batch: dict[str, pd.DataFrame],
            schema: DatasetSchema) -> dict[str, pd.DataFrame]:
    """``batch`` after ``kept``, its keys shifted past kept's so that no two rows share a key."""
    offsets = {}
    for table in schema.tables:
        key = table.primary_key
        if key is not None and table.name in kept and len(kept[table.name]):
            offsets[table.name] = int(pd.to_numeric(kept[table.name][key]).max())
    shifted = {name: frame.copy() for name, frame in batch.items()}
    for name, offset in offsets.items():
        shifted[name][schema.table(name).primary_key] += offset
    for rel in schema.relationships:
        if rel.parent in offsets and rel.child in shifted:
            shifted[rel.child][rel.child_key] += offsets[rel.parent]
    return {name: pd.concat([kept[name], shifted[name]], ignore_index=True) for name in kept}


def _summary(twin: dict[str, pd.DataFrame], schema: DatasetSchema, root: str, first: dict[int, int]) -> list[dict]:
    summary = []
    for index, rule in enumerate(schema.rules):
        count = violations(twin[rule.table], [rule])[0].count
        derived = rule.kind in DERIVED_KINDS
        in_root = rule.table == root
        summary.append({
            "rule": describe(rule), "kind": rule.kind, "table": rule.table, "columns": list(rule.columns),
            "kept_by": "derived from its source" if derived else "resampling" if in_root else "dropping rows",
            "violations": count, "twin_rows": len(twin[rule.table]),
            "rows_resampled": 0 if derived or not in_root else first.get(index, 0),
            "rows_dropped": 0 if derived or in_root else first.get(index, 0),
        })
    return summary


def _too_few(schema: DatasetSchema, root: str, short: int, broken: dict[int, int]) -> SynthesisError:
    index = max(broken, key=lambda i: broken[i]) if broken else 0
    rule: Rule = schema.rules[index]
    return SynthesisError(
        f"the twin of '{schema.name}' is {short} rows of table '{root}' short after {MAX_ROUNDS} rounds of "
        f"resampling: the model rarely samples rows keeping the rule {describe(rule)} (table '{rule.table}', "
        f"columns {', '.join(rule.columns)}). Fix: use the 'cart' synthesizer, which learns such rules from the "
        "data, or check that the rule is meant to hold.")


def _parents_first(schema: DatasetSchema) -> list[str]:
    root = schema.root_table
    order, pending = [root], [t.name for t in schema.tables if t.name != root]
    while pending:
        ready = [n for n in pending if all(r.parent in order for r in schema.relationships if r.child == n)]
        if not ready:
            return order + pending  # a cycle cannot come from a valid policy; check what remains anyway
        order += ready
        pending = [n for n in pending if n not in ready]
    return order
