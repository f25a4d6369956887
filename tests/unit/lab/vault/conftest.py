"""A real PostgreSQL server for the vault's tests, started once per test session.

Tests that need it take ``postgres_url`` (one database for the session) or
``postgres_server`` (to create a fresh database per test). Without PostgreSQL's server
binaries these tests are skipped with the command that installs them; `deploy/test.sh`
installs them first, so CI always runs them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, PostgresUnavailable, find_pg_bin


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        find_pg_bin()
    except PostgresUnavailable as missing:
        pytest.skip(str(missing))
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database("lab_test")
