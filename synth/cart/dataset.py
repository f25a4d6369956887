"""Sequential trees for a whole dataset: one table, or parent and child tables.

For related tables this is the tree method carried across keys: each parent row gets, as
its last synthesized columns, how many children it has in each child table; each child
table is then synthesized row by row with its parent's columns (and the child's position
in its family) as a fixed context that every tree may split on. A household's size, its
number of person rows and each person's relationship to the reference person are drawn
together, and a family is sampled in one vectorised pass rather than parent by parent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth.cart.storage import load_model, save_model
from synth.cart.table import DEFAULT_MAX_FIT_ROWS, DEFAULT_MIN_LEAF, CARTSynthesizer
from synth.errors import SynthesisError
from synth.schema import ColumnSchema, DatasetSchema, Relationship, TableSchema

#: Public bound of a "children per parent" column: far above any real family, never from the data.
_MAX_CHILDREN = 100_000


class CARTDatasetSynthesizer:
    """Fit and sample every table of a dataset with sequential trees.

    Args:
        schema: the dataset's public schema.
        visit_order: a list (single table) or a mapping of table name to list.
        min_leaf, smoothing, protect_uniques, max_fit_rows, seed, verbose: as for
            ``CARTSynthesizer``, applied to every table.
    """

    def __init__(self, schema: DatasetSchema, *, visit_order: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
                 min_leaf: int = DEFAULT_MIN_LEAF, smoothing: bool = True, protect_uniques: bool = True,
                 max_fit_rows: int | None = DEFAULT_MAX_FIT_ROWS, seed: int = 0, verbose: bool = False) -> None:
        self.schema = schema
        self.root = _root(schema)
        self.children = _children(schema)
        orders = _orders(visit_order, schema, self.root)
        options = dict(min_leaf=min_leaf, smoothing=smoothing, protect_uniques=protect_uniques,
                       max_fit_rows=max_fit_rows, verbose=verbose)
        self.models: dict[str, CARTSynthesizer] = {}
        for offset, table in enumerate(schema.tables):
            augmented = _with_child_counts(table, self.children.get(table.name, []))
            order = orders.get(table.name)
            if order is not None:
                order = list(order) + [c.name for c in augmented.columns if c.name.startswith("__children_")]
            self.models[table.name] = CARTSynthesizer(augmented, visit_order=order, seed=seed + 1009 * offset,
                                                      **options)  # type: ignore[arg-type]
        self.seed = seed
        self._training_rows: dict[str, int] = {}
        self._context_edges: dict[str, list[np.ndarray | None]] = {}

    def fit(self, tables: Mapping[str, pd.DataFrame]) -> CARTDatasetSynthesizer:
        """Fit every table; a child table's trees see its parent's columns."""
        self._fit_table(self.root, tables, context=None)
        self._training_rows = {name: len(frame) for name, frame in tables.items()}
        return self

    def sample(self, num_rows: int | None = None, *, seed: int | None = None) -> dict[str, pd.DataFrame]:
        """Sample ``num_rows`` rows of the root table (default: as many as fitted) with their children."""
        seed = self.seed if seed is None else seed
        rows = self._training_rows.get(self.root) if num_rows is None else num_rows
        frames: dict[str, pd.DataFrame] = {}
        root = self.models[self.root].sample(rows, seed=seed)
        self._sample_children(self.root, root, frames, seed)
        return frames

    # ---------------------------------------------------------------- fit
    def _fit_table(self, name: str, tables: Mapping[str, pd.DataFrame], context: np.ndarray | None) -> None:
        frame = tables[name]
        relations = self.children.get(name, [])
        for relation in relations:
            frame = frame.assign(**{_count_column(relation.child): _children_per_row(
                frame, tables[relation.child], relation)})
        model = self.models[name]
        model.fit(frame, context=context)
        if not relations:
            return
        codes = model._encode(frame)
        self._context_edges[name] = _decile_edges(codes, model)
        codes = _coarsened(codes, self._context_edges[name])
        for relation in relations:
            child = tables[relation.child]
            parent_rows, positions = _parent_rows(frame[relation.parent_key], child[relation.child_key])
            self._fit_table(relation.child, tables, context=_family_context(codes, parent_rows, positions))

    # ------------------------------------------------------------- sample
    def _sample_children(self, name: str, frame: pd.DataFrame, out: dict[str, pd.DataFrame], seed: int) -> None:
        table = self.schema.table(name)
        if table.primary_key is not None:
            frame.insert(0, table.primary_key, np.arange(1, len(frame) + 1, dtype=np.int64))
        model = self.models[name]
        codes = _coarsened(model._encode(frame), self._context_edges[name]) if self.children.get(name) else None
        for offset, relation in enumerate(self.children.get(name, []), start=1):
            counts = frame[_count_column(relation.child)].fillna(0).to_numpy(dtype=np.int64).clip(0)
            parent_rows = np.repeat(np.arange(len(frame)), counts)
            positions = _positions(counts)
            child_model = self.models[relation.child]
            child, kept = child_model.sample_for_context(_family_context(codes, parent_rows, positions),
                                                         seed=seed + 7 * offset)
            child.insert(0, relation.child_key, frame[relation.parent_key].to_numpy()[parent_rows[kept]])
            self._sample_children(relation.child, child, out, seed + 7 * offset)
        out[name] = frame.drop(columns=[c for c in frame.columns if c.startswith("__children_")])
        out[name] = out[name][[c for c in table.column_names if c in out[name].columns]]

    # ---------------------------------------------------------- save/load
    def save(self, path: str | Path) -> None:
        """Write the fitted model, readable by its owner only (it holds real values)."""
        save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> CARTDatasetSynthesizer:
        """Read what ``save`` wrote: only ever a file the vault wrote itself (it is a pickle)."""
        return load_model(cls, path)

    def get_parameters(self) -> dict[str, Any]:
        return {name: model.get_parameters() for name, model in self.models.items()}


def _root(schema: DatasetSchema) -> str:
    children = {rel.child for rel in schema.relationships}
    roots = [t.name for t in schema.tables if t.name not in children]
    if len(roots) != 1:
        raise SynthesisError("the cart synthesizer needs exactly one table without a parent "
                             f"(found {', '.join(roots) or 'none'}). Fix: relate the tables in the policy, or use hma.")
    return roots[0]


def _children(schema: DatasetSchema) -> dict[str, list[Relationship]]:
    children: dict[str, list[Relationship]] = {}
    parents_of: dict[str, str] = {}
    for relation in schema.relationships:
        if relation.child in parents_of:
            raise SynthesisError(f"table '{relation.child}' has two parents ({parents_of[relation.child]}, "
                                 f"{relation.parent}); the cart synthesizer follows one. Fix: use hma.")
        parents_of[relation.child] = relation.parent
        children.setdefault(relation.parent, []).append(relation)
    return children


def _orders(visit_order: Sequence[str] | Mapping[str, Sequence[str]] | None, schema: DatasetSchema,
            root: str) -> dict[str, Sequence[str]]:
    if visit_order is None:
        return {}
    if isinstance(visit_order, Mapping):
        unknown = [name for name in visit_order if name not in schema.table_names]
        if unknown:
            raise SynthesisError(f"visit_order names unknown table(s) {', '.join(unknown)}. "
                                 f"Fix: use table names from the policy: {', '.join(schema.table_names)}.")
        return dict(visit_order)
    if schema.is_multi_table:
        raise SynthesisError("visit_order must map each table to its column list for related tables, "
                             f"e.g. {{{root}: [...]}}. Fix: write it as a mapping.")
    return {root: visit_order}


def _count_column(child: str) -> str:
    return f"__children_{child}"


def _with_child_counts(table: TableSchema, relations: list[Relationship]) -> TableSchema:
    counts = tuple(ColumnSchema(_count_column(r.child), "integer", bounds=(0.0, float(_MAX_CHILDREN)))
                   for r in relations)
    return TableSchema(table.name, table.columns + counts, table.primary_key)


def _children_per_row(parent: pd.DataFrame, child: pd.DataFrame, relation: Relationship) -> np.ndarray:
    counts = child[relation.child_key].value_counts()
    return parent[relation.parent_key].map(counts).fillna(0).to_numpy(dtype=np.int64)


def _parent_rows(parent_keys: pd.Series, child_keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each child row's parent row number and its 1-based position in its family (in file order)."""
    lookup = pd.Series(np.arange(len(parent_keys)), index=parent_keys.to_numpy())
    rows = lookup.reindex(child_keys.to_numpy()).to_numpy()
    if np.isnan(rows.astype("float64")).any():
        raise SynthesisError("some child rows point to no parent row. Fix: check the dataset's foreign keys.")
    rows = rows.astype(np.int64)
    positions = pd.Series(rows).groupby(rows).cumcount().to_numpy() + 1
    return rows, positions


def _positions(counts: np.ndarray) -> np.ndarray:
    """1..k for each family of k children, families one after another."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts + 1


def _decile_edges(codes: np.ndarray, model: CARTSynthesizer) -> list[np.ndarray | None]:
    """Cut points that coarsen a parent's numbers and dates into tenths for its children's trees.

    Children see their parent's categories as they are, but its continuous values only by
    tenth: with exact incomes as context, a leaf of five persons could be one family, and
    the twin would redraw that family.
    """
    edges: list[np.ndarray | None] = []
    for position, name in enumerate(model.visit_order):
        column = next(c for c in model.columns if c.name == name)
        present = codes[:, position][~np.isnan(codes[:, position])]
        if column.kind in ("categorical", "boolean") or name.startswith("__children_") or not len(present):
            edges.append(None)
        else:
            edges.append(np.unique(np.quantile(present, np.linspace(0.1, 0.9, 9))))
    return edges


def _coarsened(codes: np.ndarray, edges: list[np.ndarray | None]) -> np.ndarray:
    out = codes.copy()
    for position, cuts in enumerate(edges):
        if cuts is not None:
            column = codes[:, position]
            out[:, position] = np.where(np.isnan(column), np.nan, np.searchsorted(cuts, column, side="right"))
    return out


def _family_context(parent_codes: np.ndarray | None, parent_rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
    parent = parent_codes[parent_rows] if parent_codes is not None else np.empty((len(parent_rows), 0))
    return np.column_stack([parent, positions.astype(np.float64)])
