"""Small helpers the subcommands share for talking to the person at the terminal."""

from __future__ import annotations

import sys

from lab.errors import LabError
from synth.errors import SynthError


def fail(error: LabError | SynthError) -> int:
    """Print a user error to stderr and return the input-error exit code."""
    print(f"error: {error.message}", file=sys.stderr)
    return 1


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain text table with aligned columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
