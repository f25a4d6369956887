"""The public prediction grid of a task: one cell per combination of its features' categories.

The grid is computed from the dataset's policy alone (public categories), never from
data, so it can be handed to every team. A team predicts the target for each cell;
the vault scores a held-out real row with the prediction of the cell it falls in.

>>> from lab.policies.model import ColumnPolicy
>>> cells = grid_cells({"sex": ColumnPolicy(type="categorical", categories=["f", "m"], public=True),
...                     "couple": ColumnPolicy(type="boolean", public=True)}, ["sex", "couple"])
>>> cells[0], len(cells)
(('cell-0001', {'sex': 'f', 'couple': False}), 4)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from lab.policies.model import ColumnPolicy


def feature_values(column: ColumnPolicy) -> list[Any]:
    """The public values of a feature column, in the policy's order (None if nullable)."""
    values: list[Any] = [False, True] if column.type == "boolean" else list(column.categories or ())
    return values + [None] if column.nullable else values


def grid_cells(columns: Mapping[str, ColumnPolicy], features: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """Every cell as (id, {feature: value}); ids are ``cell-0001`` upwards in a fixed order."""
    combos = itertools.product(*(feature_values(columns[name]) for name in features))
    return [(cell_id(i), dict(zip(features, combo))) for i, combo in enumerate(combos)]


def cell_id(index: int) -> str:
    """The id of the ``index``-th cell (0-based)."""
    return f"cell-{index + 1:04d}"
