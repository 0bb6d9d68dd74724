"""Wide tables: an update across 1,200 value columns, and a table wider than allowed."""

from __future__ import annotations

import pytest

from conveyor.errors import SchemaMismatchError
from conveyor.load import Target
from conveyor.schema import Column, TableSchema
from tests.load.support import batch, counts, raw

WIDE = TableSchema(
    "wide",
    (Column("id", "integer", nullable=False), *[Column(f"c{i}", "string") for i in range(1200)]),
    key=("id",),
)


def test_an_update_over_1200_columns_counts_exactly(target: Target, db_url: str) -> None:
    """SQLite refuses an expression tree deeper than 1,000: the "some value differs" test is
    grouped so it stays shallow."""
    row = {"id": 1, **{f"c{i}": "a" for i in range(1200)}}
    target.prepare(WIDE, "upsert")
    assert counts(target.write(batch(WIDE, [row]), WIDE, "upsert")) == (1, 0, 0, 0)
    assert counts(target.write(batch(WIDE, [row]), WIDE, "upsert")) == (0, 0, 1, 0)
    changed = {**row, "c1199": "b"}
    assert counts(target.write(batch(WIDE, [changed]), WIDE, "upsert")) == (0, 1, 0, 0)
    assert raw(db_url, "SELECT c0, c1199 FROM wide") == [("a", "b")]


def test_a_table_wider_than_the_database_allows_is_refused_first(target: Target) -> None:
    too_wide = TableSchema("huge", tuple(Column(f"c{i}", "string") for i in range(2001)))
    with pytest.raises(SchemaMismatchError, match=r"would have 2,001 columns; \w+ allows"):
        target.prepare(too_wide, "insert")
