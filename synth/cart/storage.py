"""Saving and loading fitted tree models.

A fitted model holds real values in its leaves, so it is as sensitive as the data: it is
written readable by its owner only, and read back only from files the vault wrote itself
(a model file is a pickle, and a pickle from anyone else can run code).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import TypeVar

from synth.errors import SynthesisError

M = TypeVar("M")


def save_model(model: object, path: str | Path) -> None:
    """Write ``model`` to ``path`` with mode 0600."""
    descriptor = os.open(Path(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)


def load_model(kind: type[M], path: str | Path) -> M:
    """Read a model of class ``kind`` that ``save_model`` wrote."""
    with open(path, "rb") as handle:
        model = pickle.load(handle)
    if not isinstance(model, kind):
        raise SynthesisError(f"'{path}' does not hold a {kind.__name__}.")
    return model
