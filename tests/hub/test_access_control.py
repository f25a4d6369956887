"""Logging in, and what nobody can do to someone else's server (and so to their budget).

A server's token spends its owner's privacy budget, so whoever can run code in a server,
or get a token for its owner, can spend that budget. The hub grants neither: no role has
the ``shares`` scope (server sharing), and lab admins have neither ``access:servers``
nor ``tokens``.
"""

from __future__ import annotations

from tests.support.hub import RunningHub
from tests.support.hub_person import HubPerson


def test_only_the_right_password_logs_in(hub: RunningHub, passwords: dict[str, str]):
    assert HubPerson(hub.url, "alice").login(passwords["alice"]).status_code == 302
    assert HubPerson(hub.url, "alice").login(passwords["bob"]).status_code == 403  # bob's password is bob's
    assert HubPerson(hub.url, "zoe").login("any password at all").status_code == 403  # allowed, no password set
    assert HubPerson(hub.url, "mallory").login(passwords["bob"]).status_code == 403  # not in the people file


def test_the_owner_cannot_share_a_server(servers: dict[str, HubPerson]):
    alice = servers["alice"]
    shared = alice.api("POST", "hub/api/shares/alice/", json={"user": "bob"})
    assert shared.status_code == 403, shared.text
    code = alice.api("POST", "hub/api/share-codes/alice/", json={})
    assert code.status_code == 403, code.text
    assert alice.api("GET", "hub/api/shares/alice/").json()["items"] == []


def test_a_guest_cannot_use_someone_elses_server(servers: dict[str, HubPerson]):
    for guest in ("bob", "ada"):  # another user, and a lab admin
        attempt = servers[guest].api("POST", "user/alice/api/kernels", json={"name": "python3"})
        assert attempt.status_code == 403, (guest, attempt.status_code, attempt.text[:200])


def test_an_admin_manages_servers_but_cannot_act_as_a_user(servers: dict[str, HubPerson]):
    ada = servers["ada"]
    users = ada.api("GET", "hub/api/users")
    assert users.status_code == 200 and "alice" in {u["name"] for u in users.json()}
    assert ada.api("POST", "hub/api/users/alice/tokens", json={}).status_code == 403
    whoami = ada.api("GET", "services/vault/api/whoami").json()["user"]
    assert whoami == {"name": "ada", "groups": ["admins"], "admin": True}


def test_repeated_failures_lock_the_name_from_that_address_only(hub: RunningHub, passwords: dict[str, str]):
    attacker = "127.0.0.2"  # another address, as the hub sees it (the proxy passes it on)
    for _ in range(4):
        wrong = HubPerson(hub.url, "gail", source=attacker).login("not-gails-password")
        assert wrong.status_code == 403 and "Invalid username or password" in wrong.text
    fifth = HubPerson(hub.url, "gail", source=attacker).login("not-gails-password")
    assert fifth.status_code == 429, fifth.status_code
    assert "5 failed logins in a row" in fifth.text and "try again in 60 seconds" in fifth.text
    locked = HubPerson(hub.url, "gail", source=attacker).login(passwords["gail"])  # even the right one: paused
    assert locked.status_code == 429 and "try again in" in locked.text and "Invalid username" not in locked.text
    # gail herself, from her own address, is not locked out by someone else's guesses.
    assert HubPerson(hub.url, "gail").login(passwords["gail"]).status_code == 302
    assert "Login refused for 'gail' from 127.0.0.2" in hub.log.read_text()
