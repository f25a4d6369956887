"""Hackathon events: their definition files, validation, and the public prediction grid.

Nothing here reads data: the vault's scoring lives in lab.vault.hackathon.
"""

from lab.hackathon.grid import cell_id, feature_values, grid_cells
from lab.hackathon.loader import EVENTS_SUBDIR, load_event, load_events
from lab.hackathon.model import METRICS, Event, HoldoutSpec, ScoringSpec, TaskSpec

__all__ = ["EVENTS_SUBDIR", "METRICS", "Event", "HoldoutSpec", "ScoringSpec", "TaskSpec", "cell_id",
           "feature_values", "grid_cells", "load_event", "load_events"]
