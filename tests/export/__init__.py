"""Tables for the export tests, made the way Conveyor makes them (its loader writes the rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa

from conveyor.export import ExportSource, build_select, describe_source, stream_frames
from conveyor.load import open_target
from conveyor.load.urls import make_engine
from conveyor.schema import Column, TableSchema
from tests.load.support import batch

D = Decimal
BIG = D("123456789012345678901234567890.12")  # 32 digits: exact only if never a float

EVERY = TableSchema(
    "every",
    (
        Column("id", "integer", nullable=False),
        Column("name", "string"),
        Column("amount", "decimal", precision=12, scale=2),
        Column("big", "decimal", precision=32, scale=2),
        Column("score", "float"),
        Column("active", "boolean"),
        Column("born", "date"),
        Column("seen", "datetime"),
        Column("tags", "json"),
    ),
    key=("id",),
)
KINDS = {c.name: c for c in EVERY.columns}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, us, tzinfo=dt.UTC)


#: Five rows: every kind, NULL (row 3) and the empty string (row 2), values whose text order
#: differs from their numeric order (9.50 < 10.00), microseconds, a 32-digit decimal.
EVERY_ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "Ann",
        "amount": D("12.50"),
        "big": BIG,
        "score": 0.1,
        "active": True,
        "born": dt.date(2024, 2, 29),
        "seen": utc(2024, 3, 31, 1, 59, 59, 999999),
        "tags": '{"a": 1}',
    },
    {
        "id": 2,
        "name": "",
        "amount": D("-0.01"),
        "big": D("-0.01"),
        "score": -2.5,
        "active": False,
        "born": dt.date(1999, 12, 31),
        "seen": utc(1970, 1, 1),
        "tags": "[]",
    },
    {"id": 3},
    {
        "id": 4,
        "name": "bob",
        "amount": D("9.50"),
        "big": D("1.00"),
        "score": 1e20,
        "active": True,
        "born": dt.date(2024, 1, 1),
        "seen": utc(2024, 1, 1, 12),
        "tags": '"x"',
    },
    {
        "id": 5,
        "name": "Bob_%",
        "amount": D("10.00"),
        "big": D("0.00"),
        "score": 3.0,
        "active": False,
        "born": dt.date(2024, 3, 1),
        "seen": utc(2024, 3, 31, 2),
        "tags": '{"b": [1, 2]}',
    },
]


def load(url: str, schema: TableSchema, rows: list[dict[str, Any]]) -> None:
    """Create ``schema``'s table and write ``rows`` through Conveyor's own loader."""
    target = open_target(url)
    try:
        target.prepare(schema, "upsert")
        full = [{c.name: r.get(c.name) for c in schema.columns} for r in rows]
        result = target.write(batch(schema, full), schema, "upsert")
        assert result.inserted == len(rows)
    finally:
        target.close()


def execute(url: str, *statements: str) -> None:
    """Run test-owned SQL (never user text)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


@contextmanager
def engine_for(url: str) -> Iterator[sa.Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def frames(
    engine: sa.Engine, source: ExportSource, *, batch_rows: int = 50_000, **query: Any
) -> list[pl.DataFrame]:
    select = build_select(source, **query)
    return list(stream_frames(engine, select, source, batch_rows=batch_rows))


def ids(url: str, name: str = "every", **query: Any) -> list[int]:
    """The ``id`` of each row the export of ``name`` returns (kinds from EVERY)."""
    with engine_for(url) as engine:
        source = describe_source(engine, name, kinds=KINDS)
        got = pl.concat(frames(engine, source, fields=["id"], **query))
    return [int(v) for v in got["id"]]
