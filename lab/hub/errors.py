"""Errors of the hub integration. Each has a stable ``code`` and a message that says what is
wrong, where, and how to fix it; none carries a password or a token."""

from __future__ import annotations

from lab.errors import LabError, PolicyProblem


class HubError(LabError):
    """Base class for the hub integration's errors."""

    code = "hub_error"


class PeopleError(HubError):
    """The hub's people file is invalid. Nothing from it has been applied.

    Attributes:
        problems: every problem found, each with the file, the key, what is wrong and the fix.
    """

    code = "people_error"

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p.describe()}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the hub's people file; "
                         f"nothing was applied:\n{lines}")


class HostSetupError(HubError):
    """The machine cannot host isolated users as configured (not root, unreachable files...)."""

    code = "host_setup_error"


class AccountError(HubError):
    """A Unix account or group could not be created or changed."""

    code = "account_error"


class PasswordError(HubError):
    """The hub's password file is unreadable, or a password is unacceptable."""

    code = "password_error"
