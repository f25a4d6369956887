"""Errors the twin pipeline raises. Each has a stable ``code`` and a message that says
what is wrong, where, and how to fix it. Messages never contain data values."""

from __future__ import annotations

from dataclasses import dataclass


class SynthError(Exception):
    """Base class for the twin pipeline's errors."""

    code = "synth_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DataLoadError(SynthError):
    """A source file is missing, unreadable or malformed."""

    code = "data_load_error"


@dataclass(frozen=True)
class Violation:
    """One way the data breaks the schema. ``rows`` lists a few 1-based row numbers
    (never values) so the data owner can find the problem in the source file."""

    table: str
    column: str | None
    problem: str
    fix: str
    count: int | None = None
    rows: tuple[int, ...] = ()

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        count = f" ({self.count} rows" if self.count is not None else ""
        if count:
            count += f", e.g. rows {', '.join(map(str, self.rows))})" if self.rows else ")"
        return f"{where}: {self.problem}{count}. Fix: {self.fix}"


class DataValidationError(SynthError):
    """The data does not match its schema. Carries every violation found, not just the first."""

    code = "data_validation_error"

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = list(violations)
        lines = "\n".join(f"  - {v.describe()}" for v in self.violations)
        super().__init__(
            f"The data does not match the policy ({len(self.violations)} problem"
            f"{'s' if len(self.violations) != 1 else ''}):\n{lines}"
        )


class SynthesisError(SynthError):
    """The synthesizer could not be built, fitted or sampled."""

    code = "synthesis_error"


class BundleError(SynthError):
    """A twin bundle could not be written or read."""

    code = "bundle_error"


class ReleaseRefused(SynthError):
    """The twin failed one or more release gates and was not released."""

    code = "release_refused"

    def __init__(self, dataset: str, failed: list[str], kept_at: str | None = None) -> None:
        self.dataset = dataset
        self.failed = failed
        self.kept_at = kept_at
        lines = "\n".join(f"  - {line}" for line in failed)
        where = f"\nThe rejected bundle is kept for review at {kept_at}." if kept_at else ""
        super().__init__(
            f"The twin of '{dataset}' was not released: {len(failed)} release gate"
            f"{'s' if len(failed) != 1 else ''} failed:\n{lines}{where}"
        )
