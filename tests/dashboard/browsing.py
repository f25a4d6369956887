"""A person looking at the dashboard in Chromium: opens pages, checks their status, takes
screenshots, and notes every console error, script error and failed sub-resource."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


class Visitor:
    """One browser context (its own cookies) on the vault service at ``base`` (ending in ``/``)."""

    def __init__(self, context: Any, base: str, shots: Path) -> None:
        self.context, self.base, self.shots = context, base, shots
        self.page = context.new_page()
        self.problems: list[str] = []
        self._expected: tuple[str, int] | None = None
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("requestfailed", lambda request: self.problems.append(
            f"request failed: {request.url} ({request.failure})"))
        self.page.on("response", self._response)

    def login(self, token: str) -> None:
        """The standalone login link: ``dash/login?token=...`` sets the cookie and lands on ``dash/``."""
        response = self.page.goto(f"{self.base}dash/login?token={token}")
        assert response is not None and response.status == 200, response and response.status
        assert self.page.url == f"{self.base}dash/"

    def open(self, path: str, *, status: int = 200, shot: str | None = None) -> Any:
        """Open ``base + path``, expect ``status``; the page's own error status is not a problem."""
        url = self.base + path
        self._expected = (url, status) if status >= 400 else None
        response = self.page.goto(url)
        assert response is not None, url
        assert response.status == status, f"{path}: HTTP {response.status}, expected {status}"
        self.page.wait_for_load_state("load")
        if shot:
            self.screenshot(shot)
        return response

    def expect_error(self, path: str, status: int) -> None:
        """The next page at ``path`` is expected to answer ``status`` (say, a form posted with a bad value)."""
        self._expected = (self.base + path, status)

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def text(self, selector: str = "body") -> str:
        return self.page.locator(selector).inner_text()

    def close(self) -> None:
        self.context.close()

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        # Chromium reports a page served with an error status as a failed resource: expected there.
        location = (message.location or {}).get("url", "")
        if self._expected and location == self._expected[0] and \
                re.search(rf"status of {self._expected[1]}\b", message.text):
            return
        self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.url}: HTTP {response.status}")
