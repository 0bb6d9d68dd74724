"""Filters, fields, order and limit: the exact rows on both databases, errors that say what to
type, and names and values that are data, never SQL."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from conveyor.errors import ConfigError
from conveyor.export import Filter, build_select, describe_source, parse_filters
from conveyor.schema import Column, TableSchema
from tests.export import EVERY, EVERY_ROWS, KINDS, engine_for, execute, frames, ids, load

# (field, operator, value) -> the ids returned, on both databases (rows in tests/export).
CASES: dict[tuple[str, str, str], list[int]] = {
    ("id", "=", "4"): [4],
    ("id", "eq", "2"): [2],
    ("id", "!=", "4"): [1, 2, 3, 5],
    ("id", "<", "3"): [1, 2],
    ("id", "lt", "3"): [1, 2],
    ("id", "<=", "3"): [1, 2, 3],
    ("id", ">", "3"): [4, 5],
    ("id", ">=", "4"): [4, 5],
    ("id", "GE", "5"): [5],
    ("id", "in", "1,5,99"): [1, 5],
    ("id", "is", "null"): [],
    ("name", "=", "bob"): [4],
    ("name", "=", ""): [2],
    ("name", "ne", "bob"): [1, 2, 5],
    ("name", "<", "B"): [1, 2],
    ("name", ">", "Ann"): [4, 5],
    ("name", "in", "Ann,bob"): [1, 4],
    ("name", "like", "b%"): [4],  # case sensitive on SQLite too
    ("name", "like", "%o%"): [4, 5],
    ("name", "like", "B_b%"): [5],
    ("name", "like", "Bob\\_\\%"): [5],
    ("name", "like", "bob\\_%"): [],
    ("name", "like", ""): [2],
    ("name", "not-like", "%o%"): [1, 2],
    ("name", "is", "null"): [3],
    ("name", "is", "NOT-NULL"): [1, 2, 4, 5],
    ("amount", "=", "12.5"): [1],
    ("amount", "=", "12.50"): [1],
    ("amount", "=", "-0.01"): [2],
    ("amount", "=", "12.501"): [],
    ("amount", "!=", "12.5"): [2, 4, 5],
    ("amount", "!=", "12.501"): [1, 2, 4, 5],
    ("amount", "<", "10"): [2, 4],  # text order would put "9.50" after "10.00"
    ("amount", "<=", "10"): [2, 4, 5],
    ("amount", ">=", "10.00"): [1, 5],
    ("amount", "gt", "-1"): [1, 2, 4, 5],
    ("amount", "in", "9.5,10,7"): [4, 5],
    ("amount", "in", "7.001"): [],
    ("big", "=", "123456789012345678901234567890.12"): [1],
    ("big", "in", "0,1"): [4, 5],
    ("big", ">", "0"): [1, 4],
    ("score", "=", "0.1"): [1],
    ("score", "<", "0"): [2],
    ("score", ">", "1e19"): [4],
    ("score", ">=", "3"): [4, 5],
    ("score", "in", "3,-2.5"): [2, 5],
    ("active", "=", "true"): [1, 4],
    ("active", "=", "no"): [2, 5],
    ("active", "!=", "1"): [2, 5],
    ("active", "in", "yes"): [1, 4],
    ("active", "is", "null"): [3],
    ("born", "=", "2024-02-29"): [1],
    ("born", "<", "2024-01-01"): [2],
    ("born", ">=", "2024-01-01"): [1, 4, 5],
    ("born", "in", "1999-12-31,2024-03-01"): [2, 5],
    ("seen", "=", "2024-03-31T01:59:59.999999+00:00"): [1],
    ("seen", "=", "2024-03-31T03:59:59.999999+02:00"): [1],
    ("seen", "=", "2024-03-31T01:59:59.999999"): [1],  # no offset: UTC
    ("seen", "<", "2024-03-31T02:00:00Z"): [1, 2, 4],
    ("seen", ">", "2024-03-31T01:59:59.999998Z"): [1, 5],
    ("seen", ">=", "2024-03-31T02:00:00"): [5],
    ("seen", "in", "1970-01-01T00:00:00Z,2024-01-01T13:00:00+01:00"): [2, 4],
    ("tags", "=", "[]"): [2],
    ("tags", "like", "{%"): [1, 5],
    ("tags", "is", "null"): [3],
}


@pytest.fixture
def every_url(db_url: str) -> str:
    load(db_url, EVERY, EVERY_ROWS)
    return db_url


def test_every_operator_on_every_kind_returns_the_exact_rows(every_url: str) -> None:
    with engine_for(every_url) as engine:
        source = describe_source(engine, "every", kinds=KINDS)
        got = {
            case: frames(engine, source, fields=["id"], where=[Filter(*case)])[0]["id"].to_list()
            for case in CASES
        }
    assert got == CASES


def test_filters_combine_with_and_order_and_limit(every_url: str) -> None:
    where = parse_filters([("amount", ">", "0"), ("active", "=", "true")])
    assert ids(every_url, where=where) == [1, 4]
    assert ids(every_url, order_by=[("amount", True)]) == [3, 1, 5, 4, 2]  # NULL first in desc
    assert ids(every_url, order_by=[("amount", False)]) == [2, 4, 5, 1, 3]  # NULL last in asc
    assert ids(every_url, order_by=[("active", False), ("id", True)]) == [5, 2, 4, 1, 3]
    assert ids(every_url, order_by=[("seen", True)], limit=2) == [3, 5]
    assert ids(every_url, limit=0) == []
    assert ids(every_url) == [1, 2, 3, 4, 5]  # default: the primary key


def test_default_order_is_the_primary_key(db_url: str) -> None:
    schema = TableSchema("keyed", (Column("k", "string"), Column("v", "integer")), key=("k",))
    load(db_url, schema, [{"k": k, "v": i} for i, k in enumerate(["c", "a", "b"])])
    with engine_for(db_url) as engine:
        source = describe_source(engine, "keyed")
        select = build_select(source, fields=["v"])
        assert "ORDER BY keyed.k" in str(select.compile(engine))
        assert pl.concat(frames(engine, source, fields=["v"]))["v"].to_list() == [1, 2, 0]


def test_fields_pick_and_order_the_columns(every_url: str) -> None:
    with engine_for(every_url) as engine:
        source = describe_source(engine, "every", kinds=KINDS)
        frame = frames(engine, source, fields=["tags", "id"], where=[Filter("id", "=", "2")])[0]
    assert frame.columns == ["tags", "id"]
    assert frame.rows() == [("[]", 2)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"fields": ["id", "nmae"]},
            "unknown field 'nmae': 'every' has no such column (did you mean 'name'?); "
            "valid fields: id, name, amount, big, score, active, born, seen, tags",
        ),
        (
            {"where": [Filter("vists", "=", "1")]},
            "unknown filter field 'vists': 'every' has no such column; valid fields: id, name, "
            "amount, big, score, active, born, seen, tags",
        ),
        (
            {"order_by": [("Amount", False)]},
            "unknown order-by field 'Amount': 'every' has no such column (did you mean "
            "'amount'?); valid fields: id, name, amount, big, score, active, born, seen, tags",
        ),
        ({"fields": ["id", "name", "id"]}, "fields name 'id' more than once: list each once"),
        (
            {"order_by": [("id", False), ("id", True)]},
            "order-by name 'id' more than once: list each once",
        ),
        ({"limit": -1}, "limit must be 0 or more, got -1"),
        (
            {"where": [Filter("id", "=", "4.5")]},
            "filter id = '4.5': '4.5' is not a integer (a whole number such as 42 or -7)",
        ),
        (
            {"where": [Filter("id", "<", "9223372036854775808")]},
            "filter id < '9223372036854775808': '9223372036854775808' is not a integer "
            "(a whole number such as 42 or -7)",
        ),
        (
            {"where": [Filter("amount", "in", "1,two")]},
            "filter amount in 'two': 'two' is not a decimal (a number such as 12.50)",
        ),
        (
            {"where": [Filter("active", "=", "maybe")]},
            "filter active = 'maybe': 'maybe' is not a boolean (true/false, 1/0 or yes/no)",
        ),
        (
            {"where": [Filter("born", ">", "31/01/2024")]},
            "filter born > '31/01/2024': '31/01/2024' is not a date (an ISO date such as "
            "2024-01-31)",
        ),
        (
            {"where": [Filter("seen", ">", "yesterday")]},
            "filter seen > 'yesterday': 'yesterday' is not a datetime (ISO 8601 such as "
            "2024-01-31T08:00:00, optionally with an offset like +02:00)",
        ),
        (
            {"where": [Filter("score", "=", "1_000")]},
            "filter score = '1_000': '1_000' is not a float (a number such as 1.5, 2e-3, nan "
            "or inf)",
        ),
        (
            {"where": [Filter("id", "like", "1%")]},
            "filter id like '1%': like works on text fields only and 'id' is integer; use = < "
            "> or in",
        ),
        (
            {"where": [Filter("name", "is", "empty")]},
            "filter name is 'empty': after 'is' write null or not-null",
        ),
        (
            {"where": [Filter("id", "~", "1")]},
            "unknown operator '~': use one of = eq != ne < lt <= le > gt >= ge like not-like in is",
        ),
    ],
)
def test_mistakes_say_what_is_valid(every_url: str, query: dict[str, object], message: str) -> None:
    with engine_for(every_url) as engine:
        source = describe_source(engine, "every", kinds=KINDS)
        with pytest.raises(ConfigError) as caught:
            build_select(source, **query)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_parse_filters_checks_operators_and_shape() -> None:
    assert parse_filters([("a", "EQ", "1"), ("b", "not-like", "x%")]) == [
        Filter("a", "=", "1"),
        Filter("b", "not-like", "x%"),
    ]
    with pytest.raises(ConfigError, match="unknown operator '=='"):
        parse_filters([("a", "==", "1")])
    with pytest.raises(ConfigError, match="a filter is FIELD OPERATOR VALUE, got 'a ='"):
        parse_filters([("a", "=")])


HOSTILE = 'x"; DROP TABLE victims; --'
HOSTILE_VALUES = ["'; DROP TABLE victims; --", 'a"b', "%(x)s :name ? $1", "\\", "ok"]


def test_hostile_names_and_values_are_data(db_url: str, tmp_path: Path) -> None:
    """A real column named like an injection, values like injections: selected, filtered,
    ordered, and the table still there with all its rows."""
    schema = TableSchema(
        "victims", (Column("id", "integer"), Column(HOSTILE, "string")), key=("id",)
    )
    load(db_url, schema, [{"id": i, HOSTILE: v} for i, v in enumerate(HOSTILE_VALUES, 1)])
    with engine_for(db_url) as engine:
        source = describe_source(engine, "victims")
        assert [c.name for c in source.columns] == ["id", HOSTILE]
        for value in HOSTILE_VALUES:
            got = frames(engine, source, fields=[HOSTILE], where=[Filter(HOSTILE, "=", value)])
            assert got[0][HOSTILE].to_list() == [value]
        liked = frames(engine, source, where=[Filter(HOSTILE, "like", "%DROP%")])[0]
        assert liked.rows() == [(1, HOSTILE_VALUES[0])]
        globbed = Filter(HOSTILE, "like", "%?%")  # GLOB's ? [ * are literal on SQLite
        assert frames(engine, source, fields=["id"], where=[globbed])[0]["id"].to_list() == [3]
        inside = Filter(HOSTILE, "in", "'; DROP TABLE victims; --,ok")
        assert frames(engine, source, fields=["id"], where=[inside])[0]["id"].to_list() == [1, 5]
        ordered = frames(engine, source, fields=["id"], order_by=[(HOSTILE, True)])[0]
        assert ordered["id"].to_list() == [5, 2, 4, 1, 3]  # o a \\ ' %
        with pytest.raises(ConfigError, match="unknown filter field"):
            build_select(source, where=[Filter("id = 1 OR 1", "=", "1")])
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM victims")).scalar_one()
    assert count == len(HOSTILE_VALUES)


@pytest.mark.postgres
def test_filters_on_other_postgres_types(pg_empty_url: str) -> None:
    """Types without a kind compare as their text; naive timestamps and unconstrained
    NUMERIC compare as what they are."""
    execute(
        pg_empty_url,
        "CREATE TABLE odd (id int PRIMARY KEY, u uuid, t time, naive timestamp, n numeric)",
        "INSERT INTO odd VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '10:30', "
        "'2024-01-02 03:04:05.000006', 9.5), (2, NULL, '09:00', '2024-01-02 03:04:05', 10)",
    )
    cases = {
        ("u", "=", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"): [1],
        ("u", "like", "a0ee%"): [1],
        ("t", "like", "10:%"): [1],
        ("t", "<", "10:00:00"): [2],
        ("naive", "=", "2024-01-02T03:04:05.000006"): [1],
        ("naive", ">", "2024-01-02T05:04:05+02:00"): [1],  # 03:04:05 UTC, compared naive
        ("n", "<", "10"): [1],  # numerically: as text "9.5" > "10"
        ("n", "in", "10.0,7"): [2],
    }
    with engine_for(pg_empty_url) as engine:
        source = describe_source(engine, "odd")
        got = {
            case: frames(engine, source, fields=["id"], where=[Filter(*case)])[0]["id"].to_list()
            for case in cases
        }
    assert got == cases
