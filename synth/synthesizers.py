"""Make, fit and sample synthesizers, named as in policies: the lab's sequential trees
(``cart``, synth.cart) and SDV's.

The trees are seeded throughout. SDV's fitting is not seedable (SDV issue 2398), so we seed numpy and torch before fitting
to make refits as repeatable as the library allows, and seed sampling exactly.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
from sdv.metadata import Metadata

from synth.cart import CARTDatasetSynthesizer
from synth.errors import SynthesisError
from synth.schema import DatasetSchema
from synth.spec import MULTI_TABLE_SYNTHESIZERS, SINGLE_TABLE_SYNTHESIZERS

# Real minima and maxima must not shape the twin: we clip to the policy's public bounds
# instead (synth.postprocess), so SDV's own min/max enforcement is off unless a policy asks.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "gaussian_copula": {"enforce_min_max_values": False},
    "ctgan": {"enforce_min_max_values": False},
    "tvae": {"enforce_min_max_values": False},
    "copula_gan": {"enforce_min_max_values": False},
    "hma": {"verbose": False},  # the pipeline shows its own progress
}


def make_synthesizer(name: str, metadata: Metadata, parameters: dict[str, Any] | None = None, *,
                     schema: DatasetSchema | None = None, seed: int = 0, progress: bool = False) -> Any:
    """An unfitted synthesizer.

    Args:
        schema: the public schema (the trees need it; SDV reads ``metadata``).
        seed: seeds the trees' fitting (SDV's fitting is seeded in ``fit``).
        progress: show the trees' progress per column.

    Raises:
        SynthesisError: the name is unknown, or the synthesizer refuses the parameters.
    """
    if name == "cart":
        return _make_trees(schema, parameters or {}, seed, progress)
    from sdv.multi_table import HMASynthesizer
    from sdv.single_table import (
        CopulaGANSynthesizer,
        CTGANSynthesizer,
        GaussianCopulaSynthesizer,
        TVAESynthesizer,
    )

    classes = {
        "gaussian_copula": GaussianCopulaSynthesizer,
        "ctgan": CTGANSynthesizer,
        "tvae": TVAESynthesizer,
        "copula_gan": CopulaGANSynthesizer,
        "hma": HMASynthesizer,
    }
    if name not in classes:
        known = ", ".join(SINGLE_TABLE_SYNTHESIZERS + MULTI_TABLE_SYNTHESIZERS)
        raise SynthesisError(f"unknown synthesizer '{name}'. Fix: use one of {known}.")
    options = {**_DEFAULTS[name], **(parameters or {})}
    try:
        return classes[name](metadata, **options)
    except (TypeError, ValueError) as exc:
        raise SynthesisError(f"synthesizer '{name}' refused its parameters ({exc}). "
                             "Fix: correct synthesis.parameters in the policy (see SDV's documentation).") from None


def fit(synthesizer: Any, tables: dict[str, pd.DataFrame], seed: int) -> None:
    """Fit on the given tables (identifiers already removed)."""
    if isinstance(synthesizer, CARTDatasetSynthesizer):
        synthesizer.fit(tables)  # seeded at construction; its errors already say what to fix
        return
    _seed_libraries(seed)
    try:
        synthesizer.fit(tables)
    except (ValueError, TypeError, KeyError) as exc:
        raise SynthesisError(f"the synthesizer could not be fitted ({type(exc).__name__}). "
                             "Fix: check the policy's column types against the data.") from exc


def sample(synthesizer: Any, rows: int | None, main_table: str, seed: int,
           training_rows: dict[str, int]) -> dict[str, pd.DataFrame]:
    """Sample a twin, reproducibly: the same fitted synthesizer and seed give the same rows.

    Args:
        rows: rows of ``main_table`` to sample; None samples as many as were trained on.
        training_rows: rows per table in the training data, to size multi-table samples.
    """
    target = rows if rows is not None else training_rows[main_table]
    if isinstance(synthesizer, CARTDatasetSynthesizer):
        return synthesizer.sample(target, seed=seed)
    _seed_libraries(seed)
    _seed_sampling(synthesizer, seed)
    if hasattr(synthesizer, "sample_scale"):  # multi-table
        return synthesizer.sample_scale(scale=target / training_rows[main_table])
    return synthesizer.sample(num_rows=target)


#: What a policy may set for ``cart`` (see synth.cart.CARTSynthesizer).
CART_PARAMETERS = ("visit_order", "min_leaf", "smoothing", "protect_uniques", "max_fit_rows")


def _make_trees(schema: DatasetSchema | None, parameters: dict[str, Any], seed: int,
                progress: bool) -> CARTDatasetSynthesizer:
    if schema is None:
        raise SynthesisError("the cart synthesizer needs the dataset's schema.")
    unknown = sorted(set(parameters) - set(CART_PARAMETERS))
    if unknown:
        raise SynthesisError(f"synthesizer 'cart' has no parameter(s) {', '.join(unknown)}. "
                             f"Fix: use only {', '.join(CART_PARAMETERS)} in synthesis.parameters.")
    return CARTDatasetSynthesizer(schema, seed=seed, verbose=progress, **parameters)


def _seed_libraries(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    import torch

    torch.manual_seed(seed)


def _seed_sampling(synthesizer: Any, seed: int) -> None:
    # SDV samples from a fixed internal seed and has no public way to choose it; these two
    # attributes are what its reset_sampling() sets (checked against SDV 2.0.0).
    synthesizer.reset_sampling()
    if hasattr(synthesizer, "_table_synthesizers"):
        synthesizer._numpy_seed = seed % 2**32
        for index, table_synthesizer in enumerate(synthesizer._table_synthesizers.values()):
            table_synthesizer._set_random_state((seed + index) % 2**32)
    else:
        synthesizer._set_random_state(seed % 2**32)
