"""Fixtures every test folder can use: database URLs for SQLite and PostgreSQL.

PostgreSQL comes from conveyor.testing.postgres: CONVEYOR_TEST_DATABASE_URL, else the server on
127.0.0.1:5432, else a throwaway cluster. A test that needs it fails (never skips) when none can
be had, with a message that says how to get one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import make_url

import flows  # noqa: F401  (sets Prefect's offline defaults before any test imports Prefect)
from conveyor.testing.postgres import (
    PostgresUnavailable,
    create_test_database,
    find_or_start_postgres,
)

# Hypothesis's timing checks measure the machine's load, not our code: on 2 busy cores a
# strategy can take "too long" to generate, or an example outrun its deadline, at random.
settings.register_profile("conveyor", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("conveyor")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """SQLAlchemy URL of a fresh PostgreSQL database for this test run, dropped at the end."""
    try:
        server = find_or_start_postgres()
        url, drop = create_test_database(server)
    except (PostgresUnavailable, psycopg.Error) as exc:
        pytest.fail(f"PostgreSQL is needed for this test: {exc}", pytrace=False)
    yield url
    drop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy URL of a new SQLite database file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def pg_empty_url(pg_url: str) -> Iterator[str]:
    """The ``pg_url`` database for one test: its public schema is emptied afterwards."""
    yield pg_url
    _empty_public_schema(pg_url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each dialect in turn (sqlite_url, then pg_empty_url)."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_empty_url"
    url: str = request.getfixturevalue(name)
    return url


def _empty_public_schema(url: str) -> None:
    parsed = make_url(url)
    with psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password or None,
        dbname=parsed.database,
        autocommit=True,
    ) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
