"""Typed frames in batches on both databases, and PostgreSQL's COPY path writing the same CSV
bytes as Conveyor's CSV writer writes for the frames."""

from __future__ import annotations

import io
import math
from pathlib import Path

import polars as pl
import pytest

from conveyor.errors import ConfigError
from conveyor.export import (
    ExportSource,
    Filter,
    build_select,
    copy_csv,
    describe_source,
    frame_schema,
    stream_frames,
)
from conveyor.formats.writers import WriteOptions, open_writer
from conveyor.load.urls import make_engine
from conveyor.schema import Column, TableSchema
from tests.export import BIG, EVERY, EVERY_ROWS, KINDS, engine_for, execute, frames, load

EVERY_DTYPES = {
    "id": pl.Int64,
    "name": pl.String,
    "amount": pl.Decimal(12, 2),
    "big": pl.Decimal(32, 2),
    "score": pl.Float64,
    "active": pl.Boolean,
    "born": pl.Date,
    "seen": pl.Datetime("us", "UTC"),
    "tags": pl.String,
}


@pytest.fixture
def every_url(db_url: str) -> str:
    load(db_url, EVERY, EVERY_ROWS)
    return db_url


def test_frames_hold_every_value_exactly(every_url: str) -> None:
    with engine_for(every_url) as engine:
        source = describe_source(engine, "every", kinds=KINDS)
        got = frames(engine, source)
    assert len(got) == 1
    assert got[0].schema == EVERY_DTYPES
    want = [{c.name: row.get(c.name) for c in EVERY.columns} for row in EVERY_ROWS]
    assert got[0].to_dicts() == want
    assert got[0]["big"][0] == BIG  # 32 digits, never through a float
    assert got[0]["seen"][0].microsecond == 999999
    assert got[0]["name"].to_list() == ["Ann", "", None, "bob", "Bob_%"]  # "" is not NULL


def test_batches_have_the_size_asked(every_url: str) -> None:
    with engine_for(every_url) as engine:
        source = describe_source(engine, "every", kinds=KINDS)
        got = frames(engine, source, batch_rows=2)
        empty = frames(engine, source, where=[Filter("id", ">", "99")], batch_rows=2)
        with pytest.raises(ConfigError, match="batch_rows must be 1 or more, got 0"):
            frames(engine, source, batch_rows=0)
        schema = frame_schema(build_select(source, fields=["seen", "id"]), source)
    assert [f.height for f in got] == [2, 2, 1]
    assert all(f.schema == EVERY_DTYPES for f in got)
    assert pl.concat(got)["id"].to_list() == [1, 2, 3, 4, 5]
    assert [(f.height, f.schema) for f in empty] == [(0, EVERY_DTYPES)]
    assert schema == {"seen": pl.Datetime("us", "UTC"), "id": pl.Int64}


@pytest.mark.parametrize(
    ("column", "stored", "message"),
    [
        (
            "amount",
            "'1.234'",
            "column 'amount' of 'every' holds '1.234', which is not a decimal as Conveyor "
            "stores it on SQLite (see conveyor/load/ddl.py): fix the value, or export the "
            "column through a named query that converts it (CAST)",
        ),
        (
            "amount",
            "'12345678901.00'",
            "column 'amount' of 'every' holds '12345678901.00', which is not a decimal as",
        ),
        ("seen", "'2024-01-02 03:04'", "column 'seen' of 'every' holds '2024-01-02 03:04'"),
        ("active", "2", "column 'active' of 'every' holds 2, which is not a boolean as"),
        ("born", "'02/01/2024'", "column 'born' of 'every' holds '02/01/2024', which is not"),
        ("id", "'abc'", "column 'id' of 'every' holds 'abc', which is not a integer: fix"),
    ],
)
def test_sqlite_values_that_do_not_parse_are_named(
    sqlite_url: str, column: str, stored: str, message: str
) -> None:
    load(sqlite_url, EVERY, EVERY_ROWS)
    execute(sqlite_url, f"UPDATE every SET {column} = {stored} WHERE id = 4")  # noqa: S608
    with engine_for(sqlite_url) as engine:
        source = describe_source(engine, "every", kinds=KINDS)
        with pytest.raises(ConfigError) as caught:
            frames(engine, source)
    assert str(caught.value).startswith(message)


def test_database_errors_are_translated_without_password(pg_empty_url: str) -> None:
    load(pg_empty_url, EVERY, EVERY_ROWS)
    url = pg_empty_url.replace("postgres@", "postgres:s3cret@")  # trust: the password is unused
    engine = make_engine(url)
    try:
        source = describe_source(engine, "every")
        execute(pg_empty_url, "DROP TABLE every")
        with pytest.raises(ConfigError) as streamed:
            frames(engine, source)
        with pytest.raises(ConfigError) as copied:
            copy_csv(engine, build_select(source), source, io.BytesIO())
    finally:
        engine.dispose()
    for caught in (streamed, copied):
        message = str(caught.value)
        assert message.startswith("cannot export 'every' from postgresql+psycopg://postgres:***@")
        assert 'relation "every" does not exist' in message
        assert "s3cret" not in message


# ---- PostgreSQL's COPY path ------------------------------------------------------------


def written_csv(
    parts: list[pl.DataFrame], columns: list[Column], tmp_path: Path, delimiter: str
) -> bytes:
    """The frames as Conveyor's CSV writer writes them."""
    path = tmp_path / f"written-{len(list(tmp_path.iterdir()))}.csv"
    writer = open_writer(path, "csv", columns, WriteOptions(delimiter=delimiter))
    for frame in parts:
        writer.write(frame)
    writer.close()
    return path.read_bytes()


def both_paths(
    url: str, name: str, tmp_path: Path, delimiter: str = ",", **query: object
) -> tuple[bytes, bytes]:
    """(COPY's bytes, the CSV writer's bytes for the frames) of the same export."""
    with engine_for(url) as engine:
        source: ExportSource = describe_source(engine, name)
        select = build_select(source, **query)  # type: ignore[arg-type]
        out = io.BytesIO()
        count = copy_csv(engine, select, source, out, delimiter=delimiter)
        parts = list(stream_frames(engine, select, source, batch_rows=2))
    assert count == sum(p.height for p in parts)
    columns = [source.fields[c.name].column for c in select.selected_columns]
    return out.getvalue(), written_csv(parts, columns, tmp_path, delimiter)


@pytest.mark.postgres
def test_copy_writes_the_expected_csv(pg_empty_url: str, tmp_path: Path) -> None:
    tiny = TableSchema(
        "tiny",
        (
            Column("id", "integer"),
            Column("name", "string"),
            Column("amount", "decimal", precision=6, scale=2),
            Column("score", "float"),
            Column("active", "boolean"),
            Column("born", "date"),
            Column("seen", "datetime"),
            Column("tags", "json"),
        ),
        key=("id",),
    )
    load(
        pg_empty_url,
        tiny,
        [
            {
                "id": 1,
                "name": 'a,"b"',
                "amount": EVERY_ROWS[0]["amount"],
                "score": 1.0,
                "active": True,
                "born": EVERY_ROWS[0]["born"],
                "seen": EVERY_ROWS[0]["seen"],
                "tags": '{"k": "v"}',
            },
            {"id": 2, "name": "", "active": False},
            {"id": 3},
        ],
    )
    copied, written = both_paths(pg_empty_url, "tiny", tmp_path)
    assert copied.decode() == (
        "id,name,amount,score,active,born,seen,tags\n"
        '1,"a,""b""",12.50,1.0,true,2024-02-29,2024-03-31 01:59:59.999999+00,'
        '"{""k"": ""v""}"\n'
        '2,"",,,false,,,\n'
        "3,,,,,,,\n"
    )
    assert copied == written


@pytest.mark.postgres
def test_copy_equals_the_writer_for_every_kind_and_filter(
    pg_empty_url: str, tmp_path: Path
) -> None:
    load(pg_empty_url, EVERY, EVERY_ROWS)
    for query in (
        {},
        {"where": [Filter("seen", "<", "2024-03-31T03:59:59+02:00")]},
        {"where": [Filter("name", "in", "bob,Ann"), Filter("amount", "!=", "1")]},
        {"where": [Filter("name", "like", "B%_\\%")], "fields": ["tags", "name"]},
        {"order_by": [("score", True)], "limit": 3},
    ):
        copied, written = both_paths(pg_empty_url, "every", tmp_path, **query)
        assert copied == written, query
    copied, written = both_paths(pg_empty_url, "every", tmp_path, delimiter=";")
    assert copied == written
    assert copied.splitlines()[0] == b"id;name;amount;big;score;active;born;seen;tags"


FLOATS = [
    0.1,
    1.0,
    -3.0,
    100000.0,
    1e15,
    1e16,
    9999999999999998.0,
    1234567890123456.8,
    1.2345678901234568e16,
    1e20,
    1.7976931348623157e308,
    1e-5,
    1.5e-5,
    9.999999999999999e-6,
    1e-6,
    -1e-7,
    2.5e-300,
    5e-324,
    0.0,
    -0.0,
    math.nan,
    math.inf,
    -math.inf,
]


REALS = [0.1, 1e-5, 9.99999e-6, 1e16, 3.4028235e38, 1e-45, 16777217.0, 1 / 3]


@pytest.mark.postgres
def test_copy_writes_floats_as_the_writer_does(pg_empty_url: str, tmp_path: Path) -> None:
    values = ", ".join(f"({i}, '{v!r}'::float8, 0.1)" for i, v in enumerate(FLOATS))
    reals = ", ".join(f"({100 + i}, NULL, '{v!r}'::real)" for i, v in enumerate(REALS))
    execute(
        pg_empty_url,
        "CREATE TABLE floats (id int PRIMARY KEY, f double precision, r real)",
        f"INSERT INTO floats VALUES {values}, {reals}, (99, NULL, NULL)",  # noqa: S608
    )
    copied, written = both_paths(pg_empty_url, "floats", tmp_path)
    assert copied == written
    lines = copied.decode().splitlines()
    assert [line.split(",")[2] for line in lines[-len(REALS) :]] == [
        *("0.1", "0.00001", "9.99999e-6", "1e+16", "3.4028235e+38", "1e-45", "16777216.0"),
        "0.33333334",
    ]
    assert [line.split(",")[1] for line in lines[1 : len(FLOATS) + 2]] == [
        *["0.1", "1.0", "-3.0", "100000.0", "1000000000000000.0", "1e+16", "9999999999999998.0"],
        *["1234567890123456.8", "1.2345678901234568e+16", "1e+20", "1.7976931348623157e+308"],
        *["0.00001", "0.000015", "9.999999999999999e-6", "1e-6", "-1e-7", "2.5e-300", "5e-324"],
        *["0.0", "-0.0", "NaN", "Infinity", "-Infinity"],
        "",
    ]
    assert lines[1].split(",")[2] == "0.1"  # a real is read as the double of its text


TEXTS = [
    "",
    "plain",
    "comma, and \"double\" and 'single' quotes; semi",
    "line one\nline two\r\nline three\rend",
    "back\\slash \\N \\. and tab\t",
    "\\.",
    "NULL",
    "ünïcödé – 日本語 – emoji 🚚",
    "   padded   ",
    "%s %(name)s {} $1 ? :name",
]


@pytest.mark.postgres
def test_copy_writes_text_as_the_writer_does(pg_empty_url: str, tmp_path: Path) -> None:
    schema = TableSchema("texts", (Column("id", "integer"), Column("t", "string")), key=("id",))
    load(pg_empty_url, schema, [{"id": i, "t": t} for i, t in enumerate([*TEXTS, None])])
    for delimiter in (",", ";", "\t"):
        copied, written = both_paths(pg_empty_url, "texts", tmp_path, delimiter)
        assert copied == written, delimiter


@pytest.mark.postgres
def test_copy_of_other_types_and_naive_timestamps(pg_empty_url: str, tmp_path: Path) -> None:
    execute(
        pg_empty_url,
        "CREATE TABLE odd (id int PRIMARY KEY, u uuid, t time, naive timestamp, n numeric, "
        "b bytea, a text[])",
        "INSERT INTO odd VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '10:30', "
        "'2024-01-02 03:04:05.000006', 1.50, '\\x00ff', '{\"x,y\",z}'), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL)",
    )
    copied, written = both_paths(pg_empty_url, "odd", tmp_path)
    assert copied == written
    assert copied.decode().splitlines() == [
        "id,u,t,naive,n,b,a",
        "1,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,10:30:00,2024-01-02 03:04:05.000006,1.50,"
        '\\x00ff,"{""x,y"",z}"',
        "2,,,,,,",
    ]


def test_copy_refuses_sqlite_and_unusable_delimiters(every_url: str) -> None:
    with engine_for(every_url) as engine:
        source = describe_source(engine, "every")
        select = build_select(source)
        if engine.dialect.name == "sqlite":
            with pytest.raises(ConfigError, match="the COPY fast path needs PostgreSQL"):
                copy_csv(engine, select, source, io.BytesIO())
            return
        for delimiter in ("", ";;", '"', "%", "a", "\n", "é"):
            with pytest.raises(ConfigError, match="cannot go through COPY"):
                copy_csv(engine, select, source, io.BytesIO(), delimiter=delimiter)
