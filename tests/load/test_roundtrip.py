"""Every kind of value goes in and comes back exactly, and writing it again changes nothing."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pytest

from conveyor.load import Target, open_target
from conveyor.schema import Column, TableSchema
from tests.load.support import D, batch, counts, raw, stored, utc

VALUES = TableSchema(
    "values",
    (
        Column("id", "integer", nullable=False),
        Column("text", "string"),
        Column("short", "string", max_length=8),
        Column("money", "decimal", precision=12, scale=2),
        Column("exact", "decimal", precision=38, scale=10),
        Column("flag", "boolean"),
        Column("day", "date"),
        Column("at", "datetime"),
        Column("doc", "json"),
        Column("ratio", "float"),
        Column("count", "integer"),
    ),
    key=("id",),
)

TEXTS = [
    "",
    "plain",
    "comma, and \"double\" and 'single' quotes",
    "line one\nline two\r\nline three\rend",
    "back\\slash \\N \\. and tab\t",
    "\\.",
    "NULL",
    "ünïcödé – 日本語 – emoji 🚚",
    "   padded   ",
    "%s %(name)s {} $1 ? :name",
]

DOCS = [
    '{"a": 1, "b": [true, null, "x"], "c": {"d": "é \\" \\\\ \\n"}}',
    "[]",
    '"just a string"',
    "null",
    "12.5",
]


def rows() -> list[dict[str, Any]]:
    """One row per tricky value; the other columns null."""
    data: list[dict[str, Any]] = []

    def add(**values: Any) -> None:
        data.append({"id": len(data) + 1, **values})

    for text in TEXTS:
        add(text=text)
    add(text=None, short="12345678")
    for money in (D("0.00"), D("-0.01"), D("1.50"), D("9999999999.99")):
        add(money=money)
    for exact in (D("1234567890123456789012345678.0123456789"), D("-0.0000000001")):
        add(exact=exact)
    for flag in (True, False):
        add(flag=flag)
    for day in (dt.date(2024, 2, 29), dt.date(1, 1, 1), dt.date(9999, 12, 31)):
        add(day=day)
    for at in (utc(2024, 3, 31, 1, 59, 59, 999999), utc(1970, 1, 1), utc(9999, 12, 31, 23, 59)):
        add(at=at)
    for doc in DOCS:
        add(doc=doc)
    for ratio in (0.1 + 0.2, -1e-300, 1.7976931348623157e308, 0.0, -2.5):
        add(ratio=ratio)
    for count in (0, -(2**63), 2**63 - 1):
        add(count=count)
    return data


def test_values_round_trip_exactly(target: Target, db_url: str) -> None:
    data = rows()
    target.prepare(VALUES, "upsert")
    frame = batch(VALUES, data)
    assert counts(target.write(frame, VALUES, "upsert")) == (len(data), 0, 0, 0)
    back = stored(db_url, VALUES)
    sqlite = db_url.startswith("sqlite")  # JSON comes back as text there, parsed on PostgreSQL
    assert len(back) == len(data)
    for want, got in zip(data, back, strict=True):
        for name in VALUES.column_names:
            decoded = sqlite and name == "doc" and got[name] is not None
            value = json.loads(got[name]) if decoded else got[name]
            assert _same(name, want.get(name), value), (want["id"], name, got[name])
    assert counts(target.write(frame, VALUES, "upsert")) == (0, 0, len(data), 0)


def _same(name: str, want: Any, got: Any) -> bool:
    if name == "doc" and want is not None:
        return bool(got == json.loads(want))
    if isinstance(want, float):
        return (
            isinstance(got, float)
            and math.copysign(1, got) == math.copysign(1, want)
            and (got == want)
        )
    return bool(type(got) is type(want) and got == want) if want is not None else got is None


def test_empty_string_and_null_stay_distinct(target: Target, db_url: str) -> None:
    target.prepare(VALUES, "upsert")
    frame = batch(VALUES, [{"id": 1, "text": ""}, {"id": 2, "text": None}])
    target.write(frame, VALUES, "upsert")
    assert raw(db_url, 'SELECT id, text IS NULL, length(text) FROM "values" ORDER BY id') == [
        (1, False, 0),
        (2, True, None),
    ]
    changed = batch(VALUES, [{"id": 1, "text": None}, {"id": 2, "text": ""}])
    assert counts(target.write(changed, VALUES, "upsert")) == (0, 2, 0, 0)


def test_sqlite_stores_exact_text(sqlite_url: str) -> None:
    target = open_target(sqlite_url)
    target.prepare(VALUES, "upsert")
    row = {
        "id": 1,
        "money": D("1.50"),
        "exact": D("0.1000000000"),
        "at": utc(2024, 1, 2, 3, 4, 5, 6),
        "day": dt.date(2024, 1, 2),
        "flag": True,
    }
    target.write(batch(VALUES, [row]), VALUES, "upsert")
    target.close()
    query = 'SELECT money, typeof(money), exact, "at", day, flag FROM "values"'
    assert raw(sqlite_url, query) == [
        ("1.50", "text", "0.1000000000", "2024-01-02T03:04:05.000006+00:00", "2024-01-02", 1)
    ]


@pytest.mark.postgres
def test_json_is_stored_as_jsonb_on_postgresql(pg_empty_url: str) -> None:
    db_url = pg_empty_url
    target = open_target(db_url)
    target.prepare(VALUES, "upsert")
    frame = batch(VALUES, [{"id": 1, "doc": '{"b": 1,  "a": [1, 2]}'}, {"id": 2, "doc": "null"}])
    target.write(frame, VALUES, "upsert")
    query = 'SELECT doc::text, jsonb_typeof(doc), doc IS NULL FROM "values" ORDER BY id'
    assert raw(db_url, query) == [
        ('{"a": [1, 2], "b": 1}', "object", False),
        ("null", "null", False),
    ]
    reordered = batch(VALUES, [{"id": 1, "doc": '{"a":[1,2],"b":1}'}])
    assert counts(target.write(reordered, VALUES, "upsert")) == (0, 0, 1, 0)
    target.close()
