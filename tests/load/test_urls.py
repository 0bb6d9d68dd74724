"""Target URLs, connection failures, and passwords that never show."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from conveyor.errors import ConfigError, TransientError
from conveyor.load import PostgresTarget, SqliteTarget, open_target
from conveyor.load.urls import create_engine, parse_url, redact, translate_error
from conveyor.schema import Column, TableSchema
from tests.load.support import batch

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:pw@db.example:5433/app",
        "postgres://u:pw@db.example:5433/app",
        "postgresql+psycopg://u:pw@db.example:5433/app",
    ],
)
def test_postgresql_urls_use_psycopg_3(url: str) -> None:
    parsed = parse_url(url)
    assert parsed.render_as_string(hide_password=False) == (
        "postgresql+psycopg://u:pw@db.example:5433/app"
    )


def test_unsupported_scheme_lists_the_supported_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_url(f"mysql://root:{SECRET}@localhost/app")
    message = str(caught.value)
    assert message.startswith("unsupported database URL scheme 'mysql' in mysql://root:***@")
    assert "sqlite:///PATH.db, postgresql://USER@HOST:PORT/DB" in message
    assert SECRET not in message


def test_unparseable_url_hides_credentials() -> None:
    with pytest.raises(ConfigError, match="cannot parse database URL") as caught:
        parse_url(f"nonsense://user:{SECRET}@host:port:port/db")
    assert SECRET not in str(caught.value)


def test_relative_sqlite_path_is_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = open_target("sqlite:///data.db")
    assert isinstance(target, SqliteTarget)
    assert target.url == f"sqlite+pysqlite:///{tmp_path / 'data.db'}"
    target.close()
    assert (tmp_path / "data.db").exists()


def test_sqlite_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        open_target(f"sqlite:///{tmp_path}/missing/data.db")
    assert str(caught.value) == (
        f"folder {tmp_path}/missing of SQLite database "
        f"sqlite+pysqlite:///{tmp_path}/missing/data.db does not exist: create it or fix the path"
    )


def test_refused_connection_is_transient_and_hides_the_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(TransientError) as caught:
            open_target(f"postgresql://postgres:{SECRET}@127.0.0.1:{port}/app")
    message = str(caught.value)
    assert message.startswith(
        f"cannot connect to postgresql+psycopg://postgres:***@127.0.0.1:{port}"
    )
    assert "Connection refused" in message
    assert SECRET not in message


@pytest.mark.postgres
def test_unknown_database_is_a_config_error(pg_url: str) -> None:
    url = make_url(pg_url).set(database="no_such_db_here", password=SECRET)
    with pytest.raises(ConfigError) as caught:
        open_target(url.render_as_string(hide_password=False))
    message = str(caught.value)
    assert 'database "no_such_db_here" does not exist' in message
    assert SECRET not in message and ":***@" in message


@pytest.mark.postgres
def test_postgres_target_shows_a_redacted_url(pg_url: str) -> None:
    url = make_url(pg_url).set(password=SECRET)
    target = open_target(url.render_as_string(hide_password=False))
    assert isinstance(target, PostgresTarget)
    assert target.url == url.render_as_string(hide_password=True)
    target.close()


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (
            psycopg.OperationalError('FATAL:  password authentication failed for user "u"'),
            ConfigError,
        ),
        (psycopg.OperationalError('FATAL:  role "u" does not exist'), ConfigError),
        (psycopg.OperationalError("no pg_hba.conf entry for host"), ConfigError),
        (psycopg.OperationalError("failed to resolve host 'db.example'"), ConfigError),
        (psycopg.OperationalError("FATAL:  the database system is starting up"), TransientError),
        (psycopg.OperationalError("FATAL:  sorry, too many clients already"), TransientError),
        (psycopg.OperationalError("connection timeout expired"), TransientError),
        (psycopg.errors.SerializationFailure("could not serialize access"), TransientError),
        (psycopg.errors.DeadlockDetected("deadlock detected"), TransientError),
        (psycopg.errors.AdminShutdown("terminating connection"), TransientError),
        (psycopg.errors.UniqueViolation("duplicate key value"), ConfigError),
        (psycopg.errors.InvalidTextRepresentation("invalid input syntax"), ConfigError),
        (sqlite3.OperationalError("database is locked"), TransientError),
        (sqlite3.OperationalError("no such table: t"), ConfigError),
    ],
)
def test_driver_errors_map_to_retry_or_fix(error: Exception, kind: type[Exception]) -> None:
    url = make_url(f"postgresql+psycopg://u:{SECRET}@db.example/app")
    wrapped = sa.exc.OperationalError("SELECT 1", {}, error)
    translated = translate_error(wrapped, url, "connect to")
    assert type(translated) is kind
    assert str(translated) == f"cannot connect to {redact(url)}: {error}"
    assert SECRET not in str(translated)


def test_a_password_echoed_by_the_driver_is_scrubbed() -> None:
    url = make_url(f"postgresql+psycopg://u:{SECRET}@db.example/app")
    translated = translate_error(psycopg.OperationalError(f"bad {SECRET}"), url, "connect to")
    assert str(translated).endswith("bad ***")


@pytest.mark.postgres
def test_a_batch_the_database_refuses_is_a_config_error(pg_empty_url: str) -> None:
    schema = TableSchema("docs", (Column("id", "integer"), Column("doc", "json")), ("id",))
    target = open_target(pg_empty_url)
    target.prepare(schema, "upsert")
    with pytest.raises(ConfigError) as caught:
        target.write(batch(schema, [{"id": 1, "doc": "{not json"}]), schema, "upsert")
    target.close()
    assert str(caught.value).startswith("cannot write table 'docs' in postgresql+psycopg://")
    assert "invalid input syntax for type json" in str(caught.value)


def test_a_locked_sqlite_database_is_transient(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    schema = TableSchema("t", (Column("id", "integer"),), ("id",))
    target = open_target(f"sqlite:///{path}?timeout=0.05")
    target.prepare(schema, "upsert")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(TransientError, match="database is locked"):
            target.write(batch(schema, [{"id": 1}]), schema, "upsert")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        target.close()


def test_a_sqlite_reader_for_exports_takes_no_write_lock(tmp_path: Path) -> None:
    url = parse_url(f"sqlite:///{tmp_path / 'r.db'}?timeout=0.2")
    writer, reader, exporter = (
        create_engine(url),
        create_engine(url),
        create_engine(url, read_only=True),
    )
    try:
        with writer.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with exporter.connect() as reading, reading.begin():
            assert reading.exec_driver_sql("SELECT n FROM t").scalar_one() == 1
            with writer.connect() as writing, writing.begin():  # BEGIN IMMEDIATE gets its lock
                writing.exec_driver_sql("INSERT INTO t VALUES (2)")
                writing.rollback()
        with reader.connect() as locking, locking.begin():  # an import's BEGIN IMMEDIATE
            locking.exec_driver_sql("SELECT n FROM t").all()
            with pytest.raises(sa.exc.OperationalError, match="locked"), writer.begin():
                pass
    finally:
        for engine in (writer, reader, exporter):
            engine.dispose()
