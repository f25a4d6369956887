"""The idle culler, a managed service of the hub, stops a server nobody uses.

A second hub over the same lab, with a 10-second idle timeout (the session's hub keeps
the default hour, so its servers survive the tests). Its own ports and state directory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub import RunningHub, free_port, start_hub
from tests.support.hub_person import HubPerson


@pytest.fixture(scope="module")
def impatient_hub(settings: dict[str, str], passwords: dict[str, str], lab_root: Path,
                  hub: RunningHub) -> Iterator[RunningHub]:
    state = lab_root / "impatient-hub"
    values = {**settings, "LAB_HUB_STATE_DIR": str(state), "LAB_HUB_IDLE_TIMEOUT": "10",
              "LAB_HUB_IDLE_CULL_EVERY": "3", "LAB_HUB_PORT": str(free_port()),
              "LAB_HUB_INTERNAL_PORT": str(free_port()), "LAB_HUB_PROXY_API_PORT": str(free_port()),
              "LAB_HUB_VAULT_PORT": str(free_port())}
    state.mkdir()
    # Same people and passwords as the session's hub: the password file is per state directory.
    (state / "passwords.json").write_bytes((Path(settings["LAB_ROOT"]) / "hub" / "passwords.json").read_bytes())
    running = start_hub(values, lab_root / "impatient-hub.log")
    try:
        yield running
    finally:
        running.stop()


def test_an_idle_server_is_stopped(impatient_hub: RunningHub, passwords: dict[str, str]):
    gail = HubPerson(impatient_hub.url, "gail")
    assert gail.login(passwords["gail"]).status_code == 302
    gail.make_token()
    gail.start_server()
    gail.wait_ready()
    deadline = time.monotonic() + 90
    while gail.server() is not None:
        assert time.monotonic() < deadline, f"the idle server was not culled; hub log:\n{impatient_hub.log_tail()}"
        time.sleep(1)
    assert "idle-culler" in impatient_hub.log.read_text()
