"""Stopping the servers that tests start."""

from __future__ import annotations

import signal
import subprocess


def stop(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM (a hub then stops its servers, services and proxy), wait; SIGKILL if it is stuck."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
