"""Versioned DDL for the control tables: each ``NNNN_name.sql`` is applied once, in order.

The files ship inside the package (``conveyor/state/sql/<dialect>/``, read through
``importlib.resources``, so an installed wheel has them); the repository's top-level ``sql/``
holds identical copies for people who read or apply the DDL by hand. Applied versions are recorded
in ``conveyor_schema_migrations(dialect, version, applied_at)``; each file runs in its own
transaction together with its record, so a failed file leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from conveyor.load.ddl import UtcDateTimeText

__all__ = [
    "MIGRATIONS_TABLE",
    "Migration",
    "applied_versions",
    "apply_migrations",
    "migrations_for",
    "split_statements",
]

MIGRATIONS_TABLE = "conveyor_schema_migrations"

_FILE_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")
# Any constant: serialises concurrent migrators on one PostgreSQL database.
_PG_LOCK_KEY = 0x636F6E76  # "conv"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations_for(dialect: str, folder: Traversable | None = None) -> list[Migration]:
    """The migrations shipped for ``dialect`` ("sqlite"/"postgresql"), by version."""
    root = folder or resources.files("conveyor.state").joinpath("sql", dialect)
    found: dict[int, Migration] = {}
    for entry in root.iterdir():
        match = _FILE_NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise ValueError(
                f"two migrations with version {version}: {found[version].name}, {entry.name}"
            )
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def split_statements(script: str) -> list[str]:
    """The statements of one of our DDL files.

    Hand-written because sqlite3 runs one statement per call (its ``executescript`` commits on
    its own). Our files keep to a simple rule: ``--`` comments on their own lines, and each
    statement ends with ``;`` at the end of a line.
    """
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    statements = re.split(r";[ \t]*(?:\n|$)", "\n".join(lines))
    return [s.strip() for s in statements if s.strip()]


def _migrations_table(dialect: str) -> sa.Table:
    stamp: sa.types.TypeEngine[dt.datetime] = (
        UtcDateTimeText() if dialect == "sqlite" else sa.DateTime(timezone=True)
    )
    return sa.Table(
        MIGRATIONS_TABLE,
        sa.MetaData(),
        sa.Column("dialect", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("applied_at", stamp, nullable=False),
    )


def applied_versions(connection: sa.Connection) -> list[int]:
    """Versions already applied on this database, ascending."""
    dialect = connection.dialect.name
    table = _migrations_table(dialect)
    query = sa.select(table.c.version).where(table.c.dialect == dialect).order_by(table.c.version)
    return list(connection.execute(query).scalars())


def apply_migrations(engine: Engine, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the migrations not yet applied; returns the versions applied now."""
    dialect = engine.dialect.name
    todo = migrations_for(dialect) if migrations is None else migrations
    table = _migrations_table(dialect)
    with engine.begin() as conn:
        _lock(conn)
        table.create(conn, checkfirst=True)
    applied_now: list[int] = []
    for migration in todo:
        with engine.begin() as conn:
            _lock(conn)
            if migration.version in applied_versions(conn):
                continue
            for statement in split_statements(migration.sql):
                conn.exec_driver_sql(statement)
            conn.execute(
                sa.insert(table).values(
                    dialect=dialect, version=migration.version, applied_at=dt.datetime.now(dt.UTC)
                )
            )
        applied_now.append(migration.version)
    return applied_now


def _lock(conn: sa.Connection) -> None:
    """On PostgreSQL, hold a transaction lock so two processes never migrate at once."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
