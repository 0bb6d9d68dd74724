"""What an export reads: tables, views and named queries, the kind of each column, and the
errors that say which names exist."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from conveyor.errors import ConfigError, TransientError
from conveyor.export import Filter, describe_source
from conveyor.load.urls import create_engine, parse_url
from conveyor.schema import Column
from tests.export import EVERY, EVERY_ROWS, KINDS, D, engine_for, execute, frames, load


def kinds(url: str, name: str, folder: Path | None = None, **extra: object) -> list[Column]:
    with engine_for(url) as engine:
        return list(describe_source(engine, name, folder, **extra).columns)  # type: ignore[arg-type]


def test_conveyor_tables_keep_their_kinds_on_postgres(pg_empty_url: str) -> None:
    load(pg_empty_url, EVERY, EVERY_ROWS)
    assert kinds(pg_empty_url, "every") == list(EVERY.columns)
    assert kinds(pg_empty_url, "every", kinds=KINDS) == list(EVERY.columns)


def test_sqlite_needs_the_mapping_for_text_stored_kinds(sqlite_url: str) -> None:
    load(sqlite_url, EVERY, EVERY_ROWS)
    reflected = {c.name: c.kind for c in kinds(sqlite_url, "every")}
    assert reflected == {
        "id": "integer",
        "name": "string",
        "amount": "string",  # TEXT "12.50"
        "big": "string",
        "score": "float",
        "active": "boolean",
        "born": "date",
        "seen": "string",  # TEXT "2024-03-31T01:59:59.999999+00:00"
        "tags": "string",
    }
    given = kinds(sqlite_url, "every", kinds={**KINDS, "absent": Column("absent", "integer")})
    assert given == list(EVERY.columns)


def test_other_postgres_types_become_text(pg_empty_url: str) -> None:
    execute(
        pg_empty_url,
        "CREATE TABLE odd (u uuid, t time, i interval, naive timestamp, b bytea, a int[], "
        "ip inet, n numeric, wide numeric(50, 2), r real, s smallint, v varchar(10), "
        "c char(3), j json, m money)",
        "INSERT INTO odd VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '10:30:01.5', "
        "'1 day 02:00:00', '2024-01-02 03:04:05.000006', '\\xdead', '{1,2}', '10.0.0.1/32', "
        "1.50, 12.30, 0.5, 7, 'vé', 'ab', '{\"k\": [1]}', 12.5)",
    )
    with engine_for(pg_empty_url) as engine:
        source = describe_source(engine, "odd")
        frame = frames(engine, source)[0]
    assert [(c.name, c.kind, c.precision, c.scale, c.max_length) for c in source.columns] == [
        ("u", "string", None, None, None),
        ("t", "string", None, None, None),
        ("i", "string", None, None, None),
        ("naive", "datetime", None, None, None),
        ("b", "string", None, None, None),
        ("a", "string", None, None, None),
        ("ip", "string", None, None, None),
        ("n", "string", None, None, None),  # no scale: exact text
        ("wide", "string", None, None, None),  # wider than Polars' 38 digits
        ("r", "float", None, None, None),
        ("s", "integer", None, None, None),
        ("v", "string", None, None, 10),
        ("c", "string", None, None, 3),
        ("j", "json", None, None, None),
        ("m", "string", None, None, None),
    ]
    assert source.naive_datetimes == frozenset({"naive"})
    assert frame.row(0, named=True) == {
        "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "t": "10:30:01.5",
        "i": "1 day 02:00:00",
        "naive": dt.datetime(2024, 1, 2, 3, 4, 5, 6),
        "b": "\\xdead",
        "a": "{1,2}",
        "ip": "10.0.0.1/32",
        "n": "1.50",
        "wide": "12.30",
        "r": 0.5,
        "s": 7,
        "v": "vé",
        "c": "ab ",
        "j": '{"k": [1]}',
        "m": "$12.50",
    }
    assert frame.schema["naive"] == pl.Datetime("us")


def test_other_sqlite_types(sqlite_url: str) -> None:
    execute(
        sqlite_url,
        "CREATE TABLE odd (d DATETIME, n NUMERIC, p NUMERIC(10, 2), b BLOB, x, v VARCHAR(5))",
        "INSERT INTO odd VALUES ('2024-01-02 03:04:05.000006', 1.5, 2.25, x'dead', 42, 'abc')",
    )
    with engine_for(sqlite_url) as engine:
        source = describe_source(engine, "odd")
        frame = frames(engine, source)[0]
    assert [(c.name, c.kind, c.precision, c.scale) for c in source.columns] == [
        ("d", "datetime", None, None),
        ("n", "string", None, None),
        ("p", "decimal", 10, 2),
        ("b", "string", None, None),
        ("x", "string", None, None),
        ("v", "string", None, None),
    ]
    assert source.naive_datetimes == frozenset({"d"})
    naive = dt.datetime(2024, 1, 2, 3, 4, 5, 6)
    assert frame.rows() == [(naive, "1.5", D("2.25"), "\\xdead", "42", "abc")]


def test_postgres_columns_of_another_type_than_the_mapping_are_cast(pg_empty_url: str) -> None:
    execute(
        pg_empty_url,
        "CREATE TABLE loose (at timestamp, n text)",
        "INSERT INTO loose VALUES ('2024-01-02 03:04:05', '42')",
    )
    given = {"at": Column("at", "datetime"), "n": Column("n", "integer")}
    with engine_for(pg_empty_url) as engine:
        source = describe_source(engine, "loose", kinds=given)
        frame = frames(engine, source)[0]
    assert source.naive_datetimes == frozenset()
    assert frame.schema == {"at": pl.Datetime("us", "UTC"), "n": pl.Int64}
    assert frame.rows() == [(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), 42)]


def test_views_and_materialized_views(db_url: str) -> None:
    load(db_url, EVERY, EVERY_ROWS)
    execute(db_url, "CREATE VIEW cheap AS SELECT id, amount, name FROM every WHERE id < 3")
    with engine_for(db_url) as engine:
        source = describe_source(engine, "cheap", kinds=KINDS)
        assert source.primary_key == ()
        frame = frames(engine, source, order_by=[("id", False)])[0]
    assert [c.kind for c in source.columns] == ["integer", "decimal", "string"]
    assert frame["amount"].to_list() == [EVERY_ROWS[0]["amount"], EVERY_ROWS[1]["amount"]]
    if db_url.startswith("postgresql"):
        execute(db_url, "CREATE MATERIALIZED VIEW frozen AS SELECT id FROM every")
        assert kinds(db_url, "frozen") == [Column("id", "integer")]


def write_query(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.sql"
    path.write_text(text, encoding="utf-8")
    return path


def test_named_query_columns_and_rows(db_url: str, tmp_path: Path) -> None:
    load(db_url, EVERY, EVERY_ROWS)
    queries = tmp_path / "queries"
    write_query(
        queries,
        "totals",
        "-- totals; per activity\n"
        "SELECT active, sum(amount) AS total, count(*) AS n, ':x;' AS tag, 'a%' AS pct\n"
        "FROM every /* ; */ WHERE id <> 3 GROUP BY active ; -- the end",
    )
    with engine_for(db_url) as engine:
        source = describe_source(engine, "totals", queries, kinds={"total": KINDS["amount"]})
        frame = frames(engine, source, order_by=[("active", False)])[0]
    # SQLite declares no type for a computed column: text, unless the kinds say otherwise.
    count: tuple[str, object] = ("string", "2") if db_url.startswith("sqlite") else ("integer", 2)
    assert [(c.name, c.kind) for c in source.columns] == [
        ("active", "boolean"),
        ("total", "decimal"),
        ("n", count[0]),
        ("tag", "string"),
        ("pct", "string"),
    ]
    assert frame.rows() == [
        (False, D("9.99"), count[1], ":x;", "a%"),
        (True, D("22.00"), count[1], ":x;", "a%"),
    ]


def test_postgres_named_query_sum_is_exact_text_filtered_as_a_number(
    pg_empty_url: str, tmp_path: Path
) -> None:
    load(pg_empty_url, EVERY, EVERY_ROWS)
    queries = tmp_path / "queries"
    write_query(queries, "sums", "SELECT active, sum(amount) AS total FROM every GROUP BY 1")
    with engine_for(pg_empty_url) as engine:
        source = describe_source(engine, "sums", queries)
        frame = frames(engine, source, where=[Filter("total", ">", "9.99")])[0]
    assert source.fields["total"].column.kind == "string"
    assert frame.rows() == [(True, "22.00")]


MORE = "holds more than one statement (text after the ';' on"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("SELECT 1; DELETE FROM every", f"{MORE} line 1): keep one SELECT in the file"),
        ("SELECT 1 AS a\n;\n\nSELECT 2;", f"{MORE} line 2): keep one SELECT in the file"),
        ("DELETE FROM every", "starts with 'DELETE': it must be one SELECT (or WITH … SELECT)"),
        ("  -- nothing\n", "is empty: it must be one SELECT (or WITH … SELECT)"),
        ("(SELECT 1)", "starts with '(': it must be one SELECT (or WITH … SELECT)"),
    ],
)
def test_a_query_file_must_hold_one_select(
    sqlite_url: str, tmp_path: Path, text: str, problem: str
) -> None:
    path = write_query(tmp_path / "queries", "bad", text)
    with pytest.raises(ConfigError) as caught:
        kinds(sqlite_url, "bad", tmp_path / "queries")
    assert str(caught.value) == f"named query {path} {problem}"


def test_a_broken_query_says_which_file(db_url: str, tmp_path: Path) -> None:
    path = write_query(tmp_path / "q", "broken", "SELECT nope FROM nowhere")
    with pytest.raises(ConfigError) as caught:
        kinds(db_url, "broken", tmp_path / "q")
    assert str(caught.value).startswith(f"cannot run the named query {path} on ")
    assert "nowhere" in str(caught.value)
    write_query(tmp_path / "q", "twice", "SELECT 1 AS a, 2 AS a")
    with pytest.raises(ConfigError) as caught:
        kinds(db_url, "twice", tmp_path / "q")
    assert str(caught.value) == (
        f"named query {tmp_path / 'q' / 'twice.sql'} returns several columns named 'a': "
        "give each a distinct name with AS"
    )


@pytest.mark.postgres
def test_named_queries_cannot_write(pg_empty_url: str, tmp_path: Path) -> None:
    load(pg_empty_url, EVERY, EVERY_ROWS)
    execute(pg_empty_url, "CREATE SEQUENCE counter")
    folder = tmp_path / "q"
    write_query(folder, "sneaky", "WITH d AS (DELETE FROM every RETURNING id) SELECT * FROM d")
    write_query(folder, "bump", "SELECT nextval('counter') AS n")
    with pytest.raises(ConfigError, match="data-modifying statement"):
        kinds(pg_empty_url, "sneaky", folder)
    with engine_for(pg_empty_url) as engine:
        source = describe_source(engine, "bump", folder)
        with pytest.raises(ConfigError, match="read-only transaction"):
            frames(engine, source)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM every")).scalar_one() == 5


def test_sqlite_probe_views_are_gone(sqlite_url: str, tmp_path: Path) -> None:
    load(sqlite_url, EVERY, EVERY_ROWS)
    write_query(tmp_path / "q", "ids", "SELECT id FROM every")
    with engine_for(sqlite_url) as engine:
        for _ in range(2):
            describe_source(engine, "ids", tmp_path / "q")
        with engine.connect() as conn:
            temp = conn.exec_driver_sql("SELECT name FROM sqlite_temp_master").all()
            main = conn.exec_driver_sql("SELECT name FROM sqlite_master").all()
    assert temp == []
    assert [r[0] for r in main] == ["every", "sqlite_autoindex_every_1"]


def test_unknown_name_lists_what_exists(db_url: str, tmp_path: Path) -> None:
    load(db_url, EVERY, EVERY_ROWS)
    execute(db_url, "CREATE TABLE conveyor_jobs (id integer)", "CREATE VIEW v AS SELECT 1 AS x")
    write_query(tmp_path / "q", "monthly", "SELECT 1 AS x")
    with engine_for(db_url) as engine:
        shown = engine.url.render_as_string(hide_password=True)
        with pytest.raises(ConfigError) as caught:
            describe_source(engine, "evrey", tmp_path / "q")
        with pytest.raises(ConfigError) as nothing:
            describe_source(engine, "zzz")
    assert str(caught.value) == (
        f"'evrey' is not a table, view or named query in {shown} (did you mean 'every'?); "
        f"available tables: every; views: v; queries in {tmp_path / 'q'}: monthly"
    )
    assert str(nothing.value) == (
        f"'zzz' is not a table, view or named query in {shown}; "
        "available tables: every; views: v; queries: none"
    )


def test_a_table_and_a_query_of_one_name_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    load(sqlite_url, EVERY, EVERY_ROWS)
    path = write_query(tmp_path / "q", "every", "SELECT 1 AS x")
    with engine_for(sqlite_url) as engine, pytest.raises(ConfigError) as caught:
        describe_source(engine, "every", tmp_path / "q")
    assert str(caught.value) == (
        f"'every' is both a table in {engine.url} and a named query ({path}): "
        "rename the query file so the name means one thing"
    )


def test_an_unreachable_server_is_transient_and_hides_the_password() -> None:
    url = parse_url("postgresql://someone:s3cret@127.0.0.1:1/nowhere")
    engine = create_engine(url, check=False)
    try:
        with pytest.raises(TransientError) as caught:
            describe_source(engine, "every")
    finally:
        engine.dispose()
    message = str(caught.value)
    assert message.startswith(
        "cannot read 'every' from postgresql+psycopg://someone:***@127.0.0.1:1/nowhere: "
    )
    assert "s3cret" not in message
