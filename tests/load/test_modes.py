"""Write modes on both dialects: exact counts, rejects with reasons, unchanged rows untouched."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import sqlalchemy as sa

from conveyor.errors import ConfigError
from conveyor.load import Target, open_target
from conveyor.schema import Column, TableSchema
from tests.load.support import CONTACTS, D, batch, contact, counts, errors, raw, stored, utc

PLAIN = TableSchema("events", (Column("name", "string"), Column("n", "integer")))
REGIONS = TableSchema(
    "regions",
    (
        Column("region", "string", nullable=False),
        Column("code", "integer", nullable=False),
        Column("label", "string"),
    ),
    key=("region", "code"),
)


def seed(target: Target) -> None:
    target.prepare(CONTACTS, "upsert")
    first = batch(
        CONTACTS,
        [
            contact("a@x", name="Ann", amount=D("1.50"), visits=1),
            contact("b@x", name="Bob", amount=None, visits=2),
            contact("c@x", name=None, amount=D("3.00"), visits=None),
        ],
    )
    assert counts(target.write(first, CONTACTS, "upsert")) == (3, 0, 0, 0)


def test_insert_without_key_appends_every_row(target: Target, db_url: str) -> None:
    target.prepare(PLAIN, "insert")
    rows = batch(PLAIN, [{"name": "x", "n": 1}, {"name": "x", "n": 1}, {"name": None, "n": 2}])
    assert counts(target.write(rows, PLAIN, "insert")) == (3, 0, 0, 0)
    assert counts(target.write(rows, PLAIN, "insert")) == (3, 0, 0, 0)
    assert raw(db_url, "SELECT count(*) FROM events") == [(6,)]


def test_insert_rejects_existing_keys_and_inserts_the_rest(target: Target, db_url: str) -> None:
    seed(target)
    second = batch(
        CONTACTS,
        [
            contact("a@x", name="Ann", amount=D("1.50"), visits=1),  # identical
            contact("b@x", name="Robert"),  # different
            contact("d@x", name="Dora"),  # new
        ],
        first_row=5,
    )
    result = target.write(second, CONTACTS, "insert")
    assert counts(result) == (1, 0, 0, 2)
    assert errors(result) == [
        (5, None, "key email='a@x' already exists in contacts (mode insert)"),
        (6, None, "key email='b@x' already exists in contacts (mode insert)"),
    ]
    assert [(r["email"], r["name"]) for r in stored(db_url, CONTACTS)] == [
        ("a@x", "Ann"),
        ("b@x", "Bob"),
        ("c@x", None),
        ("d@x", "Dora"),
    ]


def test_upsert_counts_inserted_updated_unchanged(target: Target, db_url: str) -> None:
    seed(target)
    second = batch(
        CONTACTS,
        [
            contact("a@x", name="Ann", amount=D("1.50"), visits=1),  # same, NULLs included
            contact("b@x", name="Bob", amount=D("9.99"), visits=2),  # NULL -> value
            contact("c@x", name=None, amount=None, visits=None),  # value -> NULL
            contact("d@x", name="Dora"),  # new
        ],
    )
    assert counts(target.write(second, CONTACTS, "upsert")) == (1, 2, 1, 0)
    assert [(r["email"], r["amount"]) for r in stored(db_url, CONTACTS)] == [
        ("a@x", D("1.50")),
        ("b@x", D("9.99")),
        ("c@x", None),
        ("d@x", None),
    ]
    assert counts(target.write(second, CONTACTS, "upsert")) == (0, 0, 4, 0)


def test_unchanged_rows_are_not_rewritten(target: Target, db_url: str) -> None:
    seed(target)
    version = _row_version_query(target, db_url)
    before = dict(raw(db_url, version))
    again = batch(
        CONTACTS,
        [
            contact("a@x", name="Ann", amount=D("1.50"), visits=1),
            contact("b@x", name="Bobby", amount=None, visits=2),
        ],
    )
    assert counts(target.write(again, CONTACTS, "upsert")) == (0, 1, 1, 0)
    after = dict(raw(db_url, version))
    assert after["a@x"] == before["a@x"]
    assert after["b@x"] != before["b@x"]
    assert after["c@x"] == before["c@x"]


def _row_version_query(target: Target, db_url: str) -> str:
    """A query of (email, version) where version changes whenever the row is rewritten."""
    if db_url.startswith("sqlite"):
        statements = [
            "CREATE TABLE rewrites (email TEXT, n INTEGER)",
            "INSERT INTO rewrites SELECT email, 0 FROM contacts",
            "CREATE TRIGGER count_rewrites AFTER UPDATE ON contacts BEGIN "
            "UPDATE rewrites SET n = n + 1 WHERE email = new.email; END",
        ]
        engine = sa.create_engine(db_url)
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
        engine.dispose()
        return "SELECT email, n FROM rewrites"
    return "SELECT email, xmin::text FROM contacts"


def test_update_only_updates_and_rejects_unknown_keys(target: Target, db_url: str) -> None:
    seed(target)
    second = batch(
        CONTACTS,
        [
            contact("new@x", name="Nora"),
            contact("a@x", name="Ann", amount=D("1.50"), visits=1),
            contact("b@x", name="Bob", amount=None, visits=3),
        ],
        first_row=2,
        sheet="People",
    )
    result = target.write(second, CONTACTS, "update_only")
    assert counts(result) == (0, 1, 1, 1)
    assert errors(result) == [
        (2, "People", "key email='new@x' not found in contacts (mode update_only)")
    ]
    assert [(r["email"], r["visits"]) for r in stored(db_url, CONTACTS)] == [
        ("a@x", 1),
        ("b@x", 3),
        ("c@x", None),
    ]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("insert", (1, 0, 0, 2)), ("upsert", (1, 1, 1, 0)), ("update_only", (0, 1, 1, 1))],
)
def test_composite_keys(
    target: Target, db_url: str, mode: str, expected: tuple[int, int, int, int]
) -> None:
    target.prepare(REGIONS, "upsert")
    seed_rows = [
        {"region": "EU", "code": 7, "label": "seven"},
        {"region": "EU", "code": 8, "label": "eight"},
    ]
    assert counts(target.write(batch(REGIONS, seed_rows), REGIONS, "insert")) == (2, 0, 0, 0)
    second = [
        {"region": "EU", "code": 7, "label": "seven"},  # same
        {"region": "EU", "code": 8, "label": "EIGHT"},  # changed
        {"region": "US", "code": 7, "label": "us seven"},  # new: same code, other region
    ]
    result = target.write(batch(REGIONS, second), REGIONS, mode)  # type: ignore[arg-type]
    assert counts(result) == expected
    if mode == "insert":
        assert errors(result)[0][2] == (
            "key region='EU', code=7 already exists in regions (mode insert)"
        )
    if mode == "update_only":
        assert errors(result)[0][2] == (
            "key region='US', code=7 not found in regions (mode update_only)"
        )
    total = raw(db_url, "SELECT count(*) FROM regions")[0][0]
    assert total == (2 if mode == "update_only" else 3)


def test_dry_run_counts_exactly_and_leaves_the_table_untouched(target: Target, db_url: str) -> None:
    seed(target)
    before = stored(db_url, CONTACTS)
    second = batch(
        CONTACTS,
        [contact("a@x", name="Ann", amount=D("1.50"), visits=1), contact("b@x"), contact("z@x")],
    )
    for mode, expected in (
        ("upsert", (1, 1, 1, 0)),
        ("insert", (1, 0, 0, 2)),
        ("update_only", (0, 1, 1, 1)),
    ):
        dry = target.write(second, CONTACTS, mode, commit=False)  # type: ignore[arg-type]
        assert counts(dry) == expected, mode
        assert stored(db_url, CONTACTS) == before
    real = target.write(second, CONTACTS, "upsert")
    assert counts(real) == (1, 1, 1, 0)


def test_dry_run_of_a_first_import_creates_nothing(db_url: str) -> None:
    target = open_target(db_url)
    try:
        target.prepare(CONTACTS, "upsert", create=False)
        rows = batch(CONTACTS, [contact("a@x"), contact("b@x"), contact("a@x")])
        result = target.write(rows, CONTACTS, "upsert", commit=False)
        assert counts(result) == (2, 0, 0, 1)
        assert errors(result) == [(4, None, "key email='a@x' appears twice in this batch")]
        only = target.write(rows.head(2), CONTACTS, "update_only", commit=False)
        assert counts(only) == (0, 0, 0, 2)
        assert errors(only)[1][2] == "key email='b@x' not found in contacts (mode update_only)"
        inspector_engine = sa.create_engine(db_url)
        assert not sa.inspect(inspector_engine).has_table("contacts")
        inspector_engine.dispose()
    finally:
        target.close()


def test_write_without_prepare_prepares_first(target: Target, db_url: str) -> None:
    rows = batch(CONTACTS, [contact("a@x", visits=4)])
    assert counts(target.write(rows, CONTACTS, "upsert")) == (1, 0, 0, 0)
    assert raw(db_url, "SELECT visits FROM contacts") == [(4,)]


def test_rows_with_an_empty_or_repeated_key_are_rejected(target: Target) -> None:
    target.prepare(CONTACTS, "upsert")
    rows = batch(
        CONTACTS,
        [contact("a@x", visits=1), contact(None), contact("a@x", visits=2), contact("b@x")],  # type: ignore[arg-type]
        first_row=10,
        sheet="S1",
    )
    result = target.write(rows, CONTACTS, "upsert")
    assert counts(result) == (2, 0, 0, 2)
    assert errors(result) == [
        (11, "S1", "key column 'email' is empty"),
        (12, "S1", "key email='a@x' appears twice in this batch"),
    ]
    assert result.rejected.schema == pl.Schema(
        {"__row": pl.Int64, "__sheet": pl.String, "_error": pl.String}
    )


def test_empty_batch_counts_nothing(target: Target) -> None:
    target.prepare(CONTACTS, "upsert")
    assert counts(target.write(batch(CONTACTS, []), CONTACTS, "upsert")) == (0, 0, 0, 0)


def test_key_only_table_counts_matches_as_unchanged(target: Target) -> None:
    tags = TableSchema("tags", (Column("tag", "string", nullable=False),), key=("tag",))
    target.prepare(tags, "upsert")
    assert counts(target.write(batch(tags, [{"tag": "a"}]), tags, "upsert")) == (1, 0, 0, 0)
    both = batch(tags, [{"tag": "a"}, {"tag": "b"}])
    assert counts(target.write(both, tags, "upsert")) == (1, 0, 1, 0)


def test_many_rows_count_exactly(target: Target) -> None:
    target.prepare(CONTACTS, "upsert")
    first = batch(CONTACTS, [contact(f"{i}@x", visits=i) for i in range(3000)])
    assert counts(target.write(first, CONTACTS, "upsert")) == (3000, 0, 0, 0)
    second = batch(
        CONTACTS, [contact(f"{i}@x", visits=i + (i % 3 == 0)) for i in range(1500, 4500)]
    )
    assert counts(target.write(second, CONTACTS, "upsert")) == (1500, 500, 1000, 0)


def test_modes_needing_a_key_refuse_a_keyless_schema(target: Target) -> None:
    with pytest.raises(ConfigError, match=r"mode upsert needs a key: set target\.key"):
        target.prepare(PLAIN, "upsert")
    bad_key = TableSchema("t", (Column("a", "string"),), key=("b",))
    with pytest.raises(ConfigError, match=r"key field\(s\) b of table 't' are not among"):
        target.prepare(bad_key, "insert")
    with pytest.raises(ConfigError, match="unknown write mode 'merge'"):
        target.prepare(CONTACTS, "merge")  # type: ignore[arg-type]


def test_batch_missing_a_schema_column_is_refused(target: Target) -> None:
    target.prepare(CONTACTS, "upsert")
    rows = batch(CONTACTS, [contact("a@x")]).drop("visits")
    with pytest.raises(ConfigError, match=r"lacks column\(s\) visits"):
        target.write(rows, CONTACTS, "upsert")


def test_columns_are_brought_to_their_kinds_dtypes(target: Target, db_url: str) -> None:
    target.prepare(CONTACTS, "upsert")
    rows = batch(CONTACTS, [contact("a@x"), contact("b@x")]).with_columns(
        pl.lit(None).alias("name"),  # an all-null column typed Null
        pl.Series("visits", [1, 2], dtype=pl.Int32),
        pl.Series("updated_at", [dt.datetime(2024, 1, 1, 12), None]),  # naive: taken as UTC
    )
    assert counts(target.write(rows, CONTACTS, "upsert")) == (2, 0, 0, 0)
    assert [(r["visits"], r["updated_at"]) for r in stored(db_url, CONTACTS)] == [
        (1, utc(2024, 1, 1, 12)),
        (2, None),
    ]


def test_a_column_of_the_wrong_type_is_refused(target: Target) -> None:
    target.prepare(CONTACTS, "upsert")
    rows = batch(CONTACTS, [contact("a@x")]).with_columns(pl.lit("many").alias("visits"))
    with pytest.raises(ConfigError, match="does not match the mapping's types"):
        target.write(rows, CONTACTS, "upsert")
