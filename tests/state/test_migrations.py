"""Versioned DDL: applied once, in order, each in one transaction; shipped inside the package."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conveyor.load.urls import make_engine
from conveyor.state.migrations import (
    MIGRATIONS_TABLE,
    Migration,
    applied_versions,
    apply_migrations,
    migrations_for,
    split_statements,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_SQL = ROOT / "conveyor" / "state" / "sql"


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    made = make_engine(db_url)
    yield made
    made.dispose()


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


SHIPPED = [1, 2, 3, 4]
SYNC_TABLES = {
    "conveyor_sync_runs",
    "conveyor_sync_cursors",
    "conveyor_sync_links",
    "conveyor_sync_conflicts",
    "conveyor_sync_parked",
}


def test_migrations_apply_once(engine: sa.Engine) -> None:
    assert apply_migrations(engine) == SHIPPED
    assert {MIGRATIONS_TABLE, "conveyor_import_jobs", *SYNC_TABLES} <= tables(engine)
    assert MIGRATIONS_TABLE == "conveyor_schema_migrations"
    assert apply_migrations(engine) == []
    with engine.connect() as conn:
        assert applied_versions(conn) == SHIPPED
        query = sa.text("SELECT dialect, version FROM conveyor_schema_migrations")
        rows = [tuple(r) for r in conn.execute(query)]
    assert rows == [(engine.dialect.name, v) for v in SHIPPED]


def test_later_versions_apply_in_order_after_earlier_ones(engine: sa.Engine) -> None:
    shipped = migrations_for(engine.dialect.name)
    apply_migrations(engine, shipped)
    extra = [
        Migration(
            91, "0091_c.sql", "CREATE TABLE m3 (a INTEGER);\nINSERT INTO m3 SELECT n FROM m2;"
        ),
        Migration(90, "0090_b.sql", "CREATE TABLE m2 (n INTEGER);\nINSERT INTO m2 VALUES (7);"),
    ]
    assert apply_migrations(engine, sorted([*shipped, *extra], key=lambda m: m.version)) == [
        90,
        91,
    ]
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(sa.text("SELECT a FROM m3"))] == [(7,)]
        assert applied_versions(conn) == [*SHIPPED, 90, 91]


def test_a_failing_migration_leaves_nothing_behind(engine: sa.Engine) -> None:
    broken = Migration(
        5, "0005_broken.sql", "CREATE TABLE half_done (a INTEGER);\nCREATE TABLE oops (;"
    )
    with pytest.raises(sa.exc.DBAPIError):
        apply_migrations(engine, [broken])
    assert "half_done" not in tables(engine)
    with engine.connect() as conn:
        assert applied_versions(conn) == []


def test_split_statements_drops_comments_and_splits_at_line_ends() -> None:
    script = "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n\n" \
        "CREATE INDEX i ON a (x)  ;  \n-- trailing\n"  # fmt: skip
    assert split_statements(script) == [
        "CREATE TABLE a (x TEXT DEFAULT 'a;b')",
        "CREATE INDEX i ON a (x)",
    ]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_shipped_migrations_are_numbered_and_mirrored_in_sql_folder(dialect: str) -> None:
    shipped = migrations_for(dialect)
    assert [m.version for m in shipped] == list(range(1, len(shipped) + 1))
    for migration in shipped:
        mirror = ROOT / "sql" / dialect / migration.name
        assert mirror.read_text(encoding="utf-8") == migration.sql, f"{mirror} differs"
    in_sql_folder = sorted(p.name for p in (ROOT / "sql" / dialect).glob("*.sql"))
    assert in_sql_folder == [m.name for m in shipped]


def test_the_wheel_ships_the_sql_files() -> None:
    """pyproject's package data must cover every DDL file (a non-editable install needs them)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["conveyor"]
    for path in PACKAGE_SQL.rglob("*.sql"):
        relative = path.relative_to(ROOT / "conveyor").as_posix()
        assert any(fnmatch.fnmatch(relative, p) for p in patterns), (
            f"add 'state/sql/*/*.sql' to [tool.setuptools.package-data] conveyor: {relative}"
        )
