"""Values a table cannot hold are rejected one by one instead of failing the whole batch."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from conveyor.load import Target, open_target
from conveyor.schema import Column, TableSchema
from tests.load.support import batch, counts, errors, raw

PEOPLE = TableSchema(
    "people",
    (
        Column("id", "integer", nullable=False),
        Column("name", "string"),
        Column("code", "integer"),
        Column("small", "integer"),
        Column("doc", "json"),
    ),
    key=("id",),
)

PEOPLE_DDL = (
    "CREATE TABLE people (id BIGINT PRIMARY KEY, name VARCHAR(5) NOT NULL,"
    " code NUMERIC(4, 0), small SMALLINT, doc TEXT)"
)


def create_people(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(PEOPLE_DDL)
    engine.dispose()


def test_null_in_a_not_null_column_is_rejected(target: Target, db_url: str) -> None:
    create_people(db_url)
    target.prepare(PEOPLE, "upsert")
    rows = batch(PEOPLE, [{"id": 1, "name": "Ann"}, {"id": 2, "name": None}])
    result = target.write(rows, PEOPLE, "upsert")
    assert counts(result) == (1, 0, 0, 1)
    assert errors(result) == [(3, None, "column 'name' is empty but NOT NULL in people")]


@pytest.mark.postgres
def test_postgresql_limits_become_rejects(pg_empty_url: str) -> None:
    create_people(pg_empty_url)
    target = open_target(pg_empty_url)
    target.prepare(PEOPLE, "upsert")
    rows = batch(
        PEOPLE,
        [
            {"id": 1, "name": "Ann", "code": 9999, "small": -32768},
            {"id": 2, "name": "Annabel"},
            {"id": 3, "name": "Bo", "code": 10000},
            {"id": 4, "name": "Cy", "small": 32768},
            {"id": 5, "name": "Di\x00"},
            {"id": 6, "name": "Ed", "doc": '"a\x00b"'},
            {"id": 7, "name": "Ünï"},
        ],
    )
    result = target.write(rows, PEOPLE, "upsert")
    target.close()
    assert counts(result) == (2, 0, 0, 5)
    assert errors(result) == [
        (3, None, "column 'name' has 7 characters; people allows at most 5"),
        (4, None, "column 'code' value 10000 is out of range for NUMERIC(4, 0) in people"),
        (5, None, "column 'small' value 32768 is out of range for SMALLINT in people"),
        (6, None, "column 'name' contains a NUL character, which PostgreSQL cannot store"),
        (7, None, "column 'doc' contains a NUL character, which PostgreSQL cannot store"),
    ]
    assert raw(pg_empty_url, "SELECT id, name FROM people ORDER BY id") == [(1, "Ann"), (7, "Ünï")]


def test_sqlite_keeps_long_text_as_sqlite_does(sqlite_url: str) -> None:
    create_people(sqlite_url)
    target = open_target(sqlite_url)
    target.prepare(PEOPLE, "upsert")
    rows = batch(PEOPLE, [{"id": 1, "name": "Annabel", "code": 123456}])
    assert counts(target.write(rows, PEOPLE, "upsert")) == (1, 0, 0, 0)
    target.close()
    assert raw(sqlite_url, "SELECT name, code FROM people") == [("Annabel", 123456)]
