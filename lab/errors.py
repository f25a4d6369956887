"""Errors the lab raises. Each has a stable ``code`` and a user-safe message that says
what is wrong, where, and how to fix it. Messages never carry data values."""

from __future__ import annotations

from dataclasses import dataclass


class LabError(Exception):
    """Base class for the lab's errors."""

    code = "lab_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PolicyProblem:
    """One problem in one policy file: the file, the dotted key, what is wrong, the fix."""

    file: str
    key: str
    problem: str
    fix: str
    line: int | None = None  # 1-based, where the file's reader knows it

    def describe(self) -> str:
        key = self.key or "(top level)"
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {key}: {self.problem}. Fix: {self.fix}"


class PolicyError(LabError):
    """One or more policy files are invalid. Nothing from any of them has been applied."""

    code = "policy_error"

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = list(problems)
        files = sorted({p.file for p in self.problems})
        lines = "\n".join(f"  - {p.describe()}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''} in "
            f"{len(files)} policy file{'s' if len(files) != 1 else ''}; nothing was applied:\n{lines}"
        )


class DatasetNotFound(LabError):
    """No policy declares the requested dataset."""

    code = "dataset_not_found"


class TwinNotFound(LabError):
    """No released twin exists for the requested dataset or version."""

    code = "twin_not_found"


class SettingsError(LabError):
    """The lab's settings file or environment is invalid."""

    code = "settings_error"
