"""Debian's Chromium, driven by Playwright, for the tests of web pages."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")  # installed by deploy/ensure-browser.sh
#: Headless as root on a machine without network: no sandbox, no GPU, no background calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
