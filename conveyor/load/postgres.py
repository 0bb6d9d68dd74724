"""The PostgreSQL target: ``COPY`` into a temporary staging table, then set-based SQL.

The batch travels as CSV written by Polars: NULL is an unquoted empty field and an empty string
is a quoted ``""``, so the two stay distinct; decimals, dates and JSON go as their exact text,
datetimes as ISO 8601 with offset, floats in their shortest round-trip form.
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import psycopg
import sqlalchemy as sa
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL

from conveyor.load.base import Existing
from conveyor.load.sqltarget import SqlTarget
from conveyor.load.statements import Statements
from conveyor.load.urls import create_engine
from conveyor.schema import TableSchema

__all__ = ["COPY_CHUNK_ROWS", "PostgresTarget", "copy_csv"]

#: Rows encoded and sent per COPY message group (a few MB of CSV).
COPY_CHUNK_ROWS = 20_000

_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f%:z"


class PostgresTarget(SqlTarget):
    """Writes into a table of a PostgreSQL database (psycopg 3)."""

    dialect_name = "postgresql"
    driver_errors = (sa.exc.DBAPIError, psycopg.Error)

    def __init__(self, url: URL) -> None:
        super().__init__(url, create_engine(url))
        #: Tables where a batch met existing keys: later batches go staged at once.
        self._keys_met: set[str] = set()

    def _write_direct(
        self, conn: sa.Connection, table: sa.Table, frame: pl.DataFrame, schema: TableSchema
    ) -> bool:
        """COPY the batch into the table itself, under a savepoint, until a key collides.

        The table is locked for the batch (SHARE ROW EXCLUSIVE), so a COPY that succeeds
        proves no key existed: every row is an insert, whatever the strategy. A first load
        then skips the staging table and the INSERT … SELECT (about half its work); the first
        collision costs one aborted COPY, after which this table's batches go staged.
        """
        if schema.name in self._keys_met:
            return False
        target = sa.table(table.name, *[sa.column(n) for n in schema.column_names])
        try:
            with conn.begin_nested():
                self._fill_stage(conn, target, frame.select(schema.column_names))
        except psycopg.errors.UniqueViolation:
            self._keys_met.add(schema.name)
            return False
        return True

    def _upsert(
        self, conn: sa.Connection, statements: Statements, existing: Existing
    ) -> tuple[int, int]:
        """One MERGE instead of an UPDATE and an INSERT: one join of the stage with the table,
        not two (a third less time for a 200,000-row batch of a re-import, measured).

        MERGE gives one row count for both actions (RETURNING arrives in PostgreSQL 17), so
        the split comes from the transaction's own counters of the table's inserted and
        updated rows, read before and after. They must add up to MERGE's row count; when they
        cannot be trusted (``track_counts`` off, or a trigger writing the same table) the
        MERGE is rolled back to its savepoint and the two statements run instead.
        """
        counters = _counters(self.engine.dialect, statements.table)
        before = conn.execute(counters).one()
        if before.tracked:
            with conn.begin_nested() as savepoint:
                merged = conn.execute(statements.merge(existing)).rowcount
                after = conn.execute(counters).one()
                inserted, updated = after.ins - before.ins, after.upd - before.upd
                if inserted + updated == merged:
                    return inserted, updated
                savepoint.rollback()
        return super()._upsert(conn, statements, existing)

    def _fill_stage(self, conn: sa.Connection, stage: sa.TableClause, frame: pl.DataFrame) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            sql.Identifier(stage.name),
            sql.SQL(", ").join(sql.Identifier(name) for name in frame.columns),
        )
        raw = conn.connection.driver_connection
        # The queued writer sends from a thread of its own, so the server parses one chunk
        # while Polars encodes the next; chunks also keep the CSV bytes small.
        with (
            raw.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy,
        ):
            for chunk in frame.iter_slices(COPY_CHUNK_ROWS):
                copy.write(copy_csv(chunk))


def copy_csv(frame: pl.DataFrame) -> bytes:
    """``frame`` as headerless CSV that PostgreSQL's ``COPY … (FORMAT csv)`` reads exactly."""
    buffer = io.BytesIO()
    frame.write_csv(
        buffer,
        include_header=False,
        null_value="",
        quote_style="necessary",
        datetime_format=_DATETIME_FORMAT,
        date_format="%Y-%m-%d",
    )
    return buffer.getvalue()


def _counters(dialect: sa.Dialect, table: sa.Table) -> sa.Select[Any]:
    """This transaction's inserted and updated rows of ``table``, and whether they are counted."""
    oid = sa.cast(sa.literal(dialect.identifier_preparer.format_table(table)), postgresql.REGCLASS)
    return sa.select(
        sa.func.pg_stat_get_xact_tuples_inserted(oid).label("ins"),
        sa.func.pg_stat_get_xact_tuples_updated(oid).label("upd"),
        (sa.func.current_setting("track_counts") == "on").label("tracked"),
    )
