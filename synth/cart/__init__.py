"""Sequential-tree twins (synthpop's CART method): the lab's default synthesizer.

``CARTSynthesizer`` synthesizes one table; ``CARTDatasetSynthesizer`` a dataset of one
table or of parent and child tables. Both read like SDV's synthesizers: ``fit``,
``sample``, ``save``, ``load``. See docs/twins.md for the method and its disclosure control.
"""

from synth.cart.dataset import CARTDatasetSynthesizer
from synth.cart.table import CARTSynthesizer, check_visit_order, default_visit_order

__all__ = ["CARTDatasetSynthesizer", "CARTSynthesizer", "check_visit_order", "default_visit_order"]
