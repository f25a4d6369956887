"""The login lockout's rules, on the authenticator itself (no hub, no root): per name and
address, with back-off, and a page that says what happened and until when.

tests/hub/test_access_control.py checks the same through a real hub's login form.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest

from lab.hub.authenticator import LockedOut, PasswordFileAuthenticator
from lab.hub.passwords import set_password
from tests.support.event_loop import run as run_coroutine


def _from(address: str) -> SimpleNamespace:
    return SimpleNamespace(request=SimpleNamespace(remote_ip=address))


@pytest.fixture
def authenticator(tmp_path: Path) -> PasswordFileAuthenticator:
    set_password(tmp_path / "passwords.json", "gail", "gails-own-password")
    (tmp_path / "people.yaml").write_text("people_version: 1\nusers: [gail]\n")
    return PasswordFileAuthenticator(password_file=str(tmp_path / "passwords.json"), max_failures=3,
                                     lockout_seconds=10, max_lockout_seconds=25,
                                     people_file=str(tmp_path / "people.yaml"))


def _login(authenticator: PasswordFileAuthenticator, password: str, address: str = "10.0.0.9"):
    return run_coroutine(authenticator.authenticate(_from(address), {"username": "gail", "password": password}))


def test_lockout_is_per_address_and_backs_off(authenticator: PasswordFileAuthenticator):
    clock = [1000.0]
    with mock.patch("lab.hub.authenticator.time.monotonic", lambda: clock[0]):
        assert authenticator.check_allowed("gail")
        assert _login(authenticator, "wrong") is None and _login(authenticator, "wrong") is None
        with pytest.raises(LockedOut) as first:
            _login(authenticator, "wrong")
        assert first.value.status_code == 429 and "3 failed logins in a row" in first.value.jupyterhub_message
        assert "try again in 10 seconds" in first.value.jupyterhub_message
        with pytest.raises(LockedOut) as still:
            _login(authenticator, "gails-own-password")
        assert "password was not checked" in still.value.jupyterhub_message
        assert _login(authenticator, "gails-own-password", address="10.0.0.1") == "gail"  # her own address
        clock[0] += 11
        for _ in range(2):
            assert _login(authenticator, "wrong") is None
        with pytest.raises(LockedOut) as second:
            _login(authenticator, "wrong")
        assert "try again in 20 seconds" in second.value.jupyterhub_message  # doubled
        clock[0] += 21
        for _ in range(2):
            assert _login(authenticator, "wrong") is None
        with pytest.raises(LockedOut) as third:
            _login(authenticator, "wrong")
        assert "try again in 25 seconds" in third.value.jupyterhub_message  # capped
        clock[0] += 26
        assert _login(authenticator, "gails-own-password") == "gail"  # a success clears the slate


def test_unknown_names_do_not_fill_the_table(authenticator: PasswordFileAuthenticator):
    for _ in range(10):
        assert run_coroutine(authenticator.authenticate(_from("10.0.0.9"), {"username": "nobody", "password": "x"})) \
            is None
    assert authenticator._failures == {}


def test_the_people_file_is_read_at_each_login(authenticator: PasswordFileAuthenticator, tmp_path: Path):
    assert authenticator.check_allowed("gail") and not authenticator.check_allowed("mallory")
    (tmp_path / "people.yaml").write_text("people_version: 1\nusers: [mallory]\n")
    assert authenticator.check_allowed("mallory") and not authenticator.check_allowed("gail")
    (tmp_path / "people.yaml").write_text("people_version: 1\nusers: [Bad Name]\n")  # invalid: last valid one
    assert authenticator.check_allowed("mallory") and not authenticator.check_allowed("gail")
