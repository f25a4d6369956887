"""Errors of the academy workflow."""

from __future__ import annotations

from lab.errors import LabError


class AcademyError(LabError):
    """A cohort, lesson or nbgrader step could not be done; the message says how to fix it."""

    code = "academy_error"
