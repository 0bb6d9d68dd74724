"""Builders for the load tests: schemas, mapped batches, and reading a table back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa

from conveyor.load.base import LoadResult
from conveyor.load.ddl import table_for
from conveyor.schema import ROW_COL, SHEET_COL, Column, TableSchema

CONTACTS = TableSchema(
    "contacts",
    (
        Column("email", "string", nullable=False),
        Column("name", "string"),
        Column("amount", "decimal", precision=12, scale=2),
        Column("active", "boolean"),
        Column("signed_up", "date"),
        Column("updated_at", "datetime"),
        Column("tags", "json"),
        Column("score", "float"),
        Column("visits", "integer"),
    ),
    key=("email",),
)


def contact(email: str, **values: Any) -> dict[str, Any]:
    """A contacts row: every column null except the ones given."""
    row: dict[str, Any] = dict.fromkeys(CONTACTS.column_names)
    row.update(email=email, **values)
    return row


def batch(
    schema: TableSchema, rows: list[dict[str, Any]], *, first_row: int = 2, sheet: str | None = None
) -> pl.DataFrame:
    """A mapped batch as the pipeline hands it over: schema dtypes, ``__row`` and ``__sheet``."""
    data = {c.name: [r.get(c.name) for r in rows] for c in schema.columns}
    frame = pl.DataFrame(data, schema={c.name: c.polars_dtype() for c in schema.columns})
    return frame.with_columns(
        pl.int_range(first_row, first_row + len(rows), dtype=pl.Int64).alias(ROW_COL),
        pl.lit(sheet, pl.String).alias(SHEET_COL),
    )


def counts(result: LoadResult) -> tuple[int, int, int, int]:
    """(inserted, updated, unchanged, rejected)."""
    return result.inserted, result.updated, result.unchanged, result.rejected.height


def errors(result: LoadResult) -> list[tuple[int, str | None, str]]:
    """The rejects as (row, sheet, reason)."""
    return list(result.rejected.select(ROW_COL, SHEET_COL, "_error").iter_rows())


def stored(url: str, schema: TableSchema) -> list[dict[str, Any]]:
    """The table's rows as Python values (typed as Conveyor creates the table), by key."""
    engine = sa.create_engine(url)
    try:
        table = table_for(schema, engine.dialect.name)
        order = [table.c[k] for k in schema.key] or list(table.c)
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(table).order_by(*order)).mappings()]
    finally:
        engine.dispose()


def raw(url: str, query: str) -> list[tuple[Any, ...]]:
    """Rows of a literal test query (test-owned SQL only)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(query).all()]
    finally:
        engine.dispose()


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, us, tzinfo=dt.UTC)


D = Decimal
