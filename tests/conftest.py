"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright: one for the whole session.

    One only: Playwright's sync API keeps an event loop running in the main thread while it
    is open, and a second ``sync_playwright()`` in the same session would refuse to start.
    """
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed. Fix: bash deploy/ensure-browser.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
