"""Small helpers the subcommands share for talking to the person at the terminal."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from lab.errors import LabError
from synth.errors import SynthError

if TYPE_CHECKING:
    from lab.twins import TwinSummary  # not at run time: lab.twins loads the SDV pipeline


def fail(error: LabError | SynthError) -> int:
    """Print a user error to stderr and return the input-error exit code."""
    print(f"error: {error.message}", file=sys.stderr)
    return 1


def quality_cell(twin: TwinSummary) -> str:
    """A twin's SDMetrics quality; a DP twin's is a real-data figure, for its owner only."""
    if twin.quality is not None:
        return f"{twin.quality:.3f}"
    return "owner only" if twin.epsilon is not None else "-"


def fidelity_cell(twin: TwinSummary) -> str:
    """The 3-way "× floor" (1.0× is as good as real data); for a DP twin a real-data figure, owner only."""
    if twin.fidelity is not None:
        return f"{twin.fidelity:.1f}×"
    return "owner only" if twin.epsilon is not None else "-"


def privacy_cell(twin: TwinSummary) -> str:
    return f"DP, ε={twin.epsilon:.3g}" if twin.epsilon is not None else "not DP"


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain text table with aligned columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
