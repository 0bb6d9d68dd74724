"""The SQLite target: rows staged with ``executemany`` into a temporary table, then set-based SQL.

Values are bound as SQLite stores them (see conveyor/load/ddl.py): decimals as their exact text,
datetimes as fixed-width ISO 8601 UTC text, dates as ISO text, booleans as 0/1.
"""

from __future__ import annotations

import sqlite3

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import URL

from conveyor.load.sqltarget import SqlTarget
from conveyor.load.urls import create_engine

__all__ = ["SqliteTarget", "sqlite_values"]

# Polars spelling of conveyor.load.ddl.SQLITE_DATETIME_FORMAT.
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f+00:00"


class SqliteTarget(SqlTarget):
    """Writes into a table of a SQLite database file."""

    dialect_name = "sqlite"
    driver_errors = (sa.exc.DBAPIError, sqlite3.Error)

    def __init__(self, url: URL) -> None:
        super().__init__(url, create_engine(url))

    def _fill_stage(self, conn: sa.Connection, stage: sa.TableClause, frame: pl.DataFrame) -> None:
        insert = sa.insert(stage).compile(dialect=conn.dialect, column_keys=frame.columns)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            # The driver's executemany over a row iterator: no per-row SQLAlchemy work.
            cursor.executemany(str(insert), sqlite_values(frame).iter_rows())
        finally:
            cursor.close()


def sqlite_values(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every column in the form SQLite stores (text for exact kinds)."""
    converted: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Decimal):
            column = column.cast(pl.String)
        elif isinstance(dtype, pl.Datetime):
            column = column.dt.convert_time_zone("UTC").dt.to_string(_DATETIME_FORMAT)
        elif isinstance(dtype, pl.Date):
            column = column.dt.to_string("%Y-%m-%d")
        elif isinstance(dtype, pl.Boolean):
            column = column.cast(pl.Int64)
        converted.append(column)
    return frame.select(converted)
