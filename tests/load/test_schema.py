"""Tables created from a schema, and existing tables checked against it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from conveyor.errors import SchemaMismatchError
from conveyor.load import Target, open_target
from conveyor.schema import Column, TableSchema
from tests.load.support import CONTACTS, D, batch, contact, counts, utc

EVERY_KIND = TableSchema(
    "every kind",
    (
        Column("id", "integer", nullable=False),
        Column("name", "string"),
        Column("short", "string", max_length=8),
        Column("money", "decimal", precision=12, scale=2),
        Column("flag", "boolean", nullable=False),
        Column("day", "date"),
        Column("at", "datetime"),
        Column("doc", "json"),
        Column("ratio", "float"),
        Column("count", "integer"),
    ),
    key=("id",),
)

CREATED = {
    "postgresql": [
        ("id", "BIGINT", False),
        ("name", "TEXT", True),
        ("short", "VARCHAR(8)", True),
        ("money", "NUMERIC(12, 2)", True),
        ("flag", "BOOLEAN", False),
        ("day", "DATE", True),
        ("at", "TIMESTAMP WITH TIME ZONE", True),
        ("doc", "JSONB", True),
        ("ratio", "DOUBLE PRECISION", True),
        ("count", "BIGINT", True),
    ],
    "sqlite": [
        ("id", "BIGINT", False),
        ("name", "TEXT", True),
        ("short", "VARCHAR(8)", True),
        ("money", "TEXT", True),
        ("flag", "BOOLEAN", False),
        ("day", "DATE", True),
        ("at", "TEXT", True),
        ("doc", "TEXT", True),
        ("ratio", "DOUBLE", True),
        ("count", "BIGINT", True),
    ],
}


def columns_of(url: str, table: str) -> tuple[list[tuple[str, str, bool]], list[str]]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        found = [
            (c["name"], c["type"].compile(dialect=engine.dialect), c["nullable"])
            for c in inspector.get_columns(table)
        ]
        return found, inspector.get_pk_constraint(table)["constrained_columns"]
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def test_absent_table_is_created_from_the_schema(target: Target, db_url: str) -> None:
    target.prepare(EVERY_KIND, "upsert")
    found, key = columns_of(db_url, "every kind")
    assert found == CREATED[dialect(db_url)]
    assert key == ["id"]
    target.prepare(EVERY_KIND, "upsert")  # a second prepare finds it fitting


def test_composite_key_becomes_the_primary_key(target: Target, db_url: str) -> None:
    schema = TableSchema(
        "pairs", (Column("a", "string"), Column("b", "integer"), Column("c", "string")), ("b", "a")
    )
    target.prepare(schema, "upsert")
    found, key = columns_of(db_url, "pairs")
    assert key == ["b", "a"]
    assert [(name, nullable) for name, _, nullable in found] == [
        ("a", False),
        ("b", False),
        ("c", True),
    ]


MISFIT = (
    "CREATE TABLE contacts ("
    " email TEXT, name INTEGER, amount NUMERIC(6, 1), active BOOLEAN, signed_up DATE,"
    " updated_at TIMESTAMP, tags TEXT, score REAL, visits BIGINT,"
    " owner TEXT NOT NULL, note TEXT, created TEXT NOT NULL DEFAULT 'now')"
)


def test_every_problem_is_listed_in_one_error(target: Target, db_url: str) -> None:
    execute(db_url, MISFIT.replace(" active BOOLEAN,", ""))
    with pytest.raises(SchemaMismatchError) as caught:
        target.prepare(CONTACTS, "upsert")
    head, *lines = str(caught.value).splitlines()
    assert re.fullmatch(r"table 'contacts' in \S+ does not fit the mapping \(\d problems\):", head)
    expected = [
        "  - column 'name' is INTEGER but the mapping gives string: change the column to TEXT "
        "or the field's type",
        "  - column 'active' is missing: add it (BOOLEAN) or remove the field from the mapping",
        "  - column 'owner' is NOT NULL without a default and the mapping does not fill it: "
        "add a field for it, give the column a default, or allow NULL",
        "  - key (email) has no primary key or unique index, which mode upsert needs: "
        "add PRIMARY KEY (email) or a UNIQUE index on (email)",
    ]
    if dialect(db_url) == "postgresql":
        expected.insert(
            1,
            "  - column 'amount' is NUMERIC(6, 1), too small for decimal(12,2) (values would be "
            "rounded or overflow): widen it to NUMERIC(12, 2) or narrow the field's type",
        )
    assert lines == expected
    assert head.endswith(f"({len(expected)} problems):")


def test_insert_mode_needs_no_unique_key(target: Target, db_url: str) -> None:
    execute(db_url, "CREATE TABLE t (email TEXT, n BIGINT)")
    schema = TableSchema("t", (Column("email", "string"), Column("n", "integer")), ("email",))
    target.prepare(schema, "insert")
    with pytest.raises(SchemaMismatchError, match=r"key \(email\) has no primary key"):
        target.prepare(schema, "update_only")


def test_a_mismatch_is_reported_on_a_dry_run_too(target: Target, db_url: str) -> None:
    execute(db_url, "CREATE TABLE contacts (email TEXT PRIMARY KEY)")
    with pytest.raises(SchemaMismatchError, match="column 'name' is missing"):
        target.prepare(CONTACTS, "upsert", create=False)


@pytest.mark.parametrize(
    "key_ddl",
    [
        "email TEXT PRIMARY KEY, n BIGINT",
        "email TEXT, n BIGINT, UNIQUE (email)",
        "email TEXT, n BIGINT, region TEXT, PRIMARY KEY (email)",
    ],
)
def test_unique_keys_that_qualify(target: Target, db_url: str, key_ddl: str) -> None:
    execute(db_url, f"CREATE TABLE t ({key_ddl})")
    schema = TableSchema("t", (Column("email", "string"), Column("n", "integer")), ("email",))
    target.prepare(schema, "upsert")


def test_a_unique_index_on_part_of_the_key_qualifies(target: Target, db_url: str) -> None:
    execute(db_url, "CREATE TABLE t (email TEXT, n BIGINT)", "CREATE UNIQUE INDEX t_e ON t (email)")
    schema = TableSchema("t", (Column("email", "string"), Column("n", "integer")), ("email", "n"))
    target.prepare(schema, "upsert")


@pytest.mark.parametrize(
    "index_ddl",
    [
        "CREATE UNIQUE INDEX t_partial ON t (email) WHERE n > 0",
        "CREATE UNIQUE INDEX t_lower ON t (lower(email))",
        "CREATE INDEX t_plain ON t (email)",
    ],
)
def test_indexes_that_do_not_qualify(target: Target, db_url: str, index_ddl: str) -> None:
    execute(db_url, "CREATE TABLE t (email TEXT, n BIGINT)", index_ddl)
    schema = TableSchema("t", (Column("email", "string"), Column("n", "integer")), ("email",))
    with pytest.raises(SchemaMismatchError, match=r"key \(email\) has no primary key"):
        target.prepare(schema, "upsert")


COMPATIBLE = {
    "postgresql": (
        "CREATE TABLE contacts (email VARCHAR(200) PRIMARY KEY, name CHAR(10),"
        " amount NUMERIC, active BOOLEAN, signed_up DATE, updated_at TIMESTAMP,"
        " tags JSON, score REAL, visits INTEGER,"
        " id BIGINT GENERATED ALWAYS AS IDENTITY, serial_no SERIAL,"
        " created TIMESTAMPTZ NOT NULL DEFAULT now(), note TEXT)"
    ),
    "sqlite": (
        "CREATE TABLE contacts (email VARCHAR(200) PRIMARY KEY, name CHAR(10),"
        " amount NUMERIC, active INTEGER, signed_up TEXT, updated_at DATETIME,"
        " tags JSON, score FLOAT, visits INTEGER,"
        " created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, note)"
    ),
}


def test_compatible_types_take_the_rows_and_detect_unchanged(target: Target, db_url: str) -> None:
    execute(db_url, COMPATIBLE[dialect(db_url)])
    target.prepare(CONTACTS, "upsert")
    rows = [
        contact(
            "a@x",
            name="Ann",
            amount=D("12.50"),
            active=True,
            updated_at=utc(2024, 5, 6, 7, 8, 9),
            tags='{"b": 1, "a": [2]}',
            score=0.5,
            visits=7,
        ),
        contact("b@x"),
    ]
    assert counts(target.write(batch(CONTACTS, rows), CONTACTS, "upsert")) == (2, 0, 0, 0)
    assert counts(target.write(batch(CONTACTS, rows), CONTACTS, "upsert")) == (0, 0, 2, 0)
    rows[0]["tags"] = '{"b": 2}'
    assert counts(target.write(batch(CONTACTS, rows), CONTACTS, "upsert")) == (0, 1, 1, 0)


@pytest.mark.postgres
def test_timestamps_without_time_zone_hold_utc_wall_time(pg_empty_url: str) -> None:
    execute(pg_empty_url, "CREATE TABLE t (id BIGINT PRIMARY KEY, at TIMESTAMP)")
    schema = TableSchema("t", (Column("id", "integer"), Column("at", "datetime")), ("id",))
    target = open_target(pg_empty_url)
    target.prepare(schema, "upsert")
    target.write(batch(schema, [{"id": 1, "at": utc(2024, 1, 2, 3, 4, 5)}]), schema, "upsert")
    target.close()
    engine = sa.create_engine(pg_empty_url, connect_args={"options": "-c TimeZone=Asia/Tokyo"})
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT at::text FROM t").scalar() == "2024-01-02 03:04:05"
    engine.dispose()
