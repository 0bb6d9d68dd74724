"""conveyor.testing.postgres: every way of getting a server, the throwaway cluster included."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from conveyor.testing.postgres import (
    ENV_VAR,
    PostgresUnavailable,
    create_test_database,
    find_or_start_postgres,
    start_throwaway_cluster,
)


def test_configured_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "postgresql://someone@db.example:6543/x")
    assert find_or_start_postgres() == "postgresql://someone@db.example:6543/x"


@pytest.mark.postgres
def test_throwaway_cluster_starts_serves_and_stops() -> None:
    cluster = start_throwaway_cluster()
    try:
        url, drop = create_test_database(cluster.url)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            name = conn.exec_driver_sql("SELECT current_database()").scalar()
            assert name == url.rsplit("/", 1)[1]
            assert str(name).startswith("conveyor_test_")
        engine.dispose()
        drop()
        with psycopg.connect(cluster.url.replace("+psycopg", ""), autocommit=True) as admin:
            found = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchall()
        assert found == []
    finally:
        cluster.stop()
    assert not cluster.folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url.replace("+psycopg", ""), connect_timeout=2)


def test_no_server_and_no_programs_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PostgresUnavailable) as caught:
        start_throwaway_cluster(search=())
    message = str(caught.value)
    assert "initdb/pg_ctl were not found" in message
    assert ENV_VAR in message and "apt-get install postgresql" in message


@pytest.mark.postgres
def test_each_test_database_is_new(pg_url: str) -> None:
    server = pg_url.rsplit("/", 1)[0] + "/postgres"
    first, drop_first = create_test_database(server)
    second, drop_second = create_test_database(server)
    assert first != second
    drop_first()
    drop_second()
