"""Strategies against stored rows (update, merge, skip, error), delete, replace and add_columns,
on both dialects, with exact counts and the table read back."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from conveyor.errors import SchemaMismatchError
from conveyor.load import Target, open_target
from conveyor.load.base import LoadResult
from conveyor.schema import Column, TableSchema
from tests.load.support import CONTACTS, D, batch, contact, errors, raw, stored

KEYLESS = TableSchema("events", (Column("name", "string"), Column("n", "integer")))


def seed(target: Target) -> None:
    target.prepare(CONTACTS, "upsert")
    rows = [
        contact("a@x", name="Ann", amount=D("1.50"), visits=1),
        contact("b@x", name="Bob", amount=None, visits=2),
        contact("c@x", name="Cy", amount=D("3.00"), visits=3),
    ]
    target.write(batch(CONTACTS, rows), CONTACTS, "upsert")


def full(result: LoadResult) -> tuple[int, int, int, int, int, int]:
    """(inserted, updated, unchanged, deleted, removed, rejected)."""
    return (
        result.inserted,
        result.updated,
        result.unchanged,
        result.deleted,
        result.removed,
        result.rejected.height,
    )


def has_table(url: str, name: str) -> bool:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table(name)
    finally:
        engine.dispose()


def names(url: str) -> list[tuple[str, str | None, object, object]]:
    return [(r["email"], r["name"], r["amount"], r["visits"]) for r in stored(url, CONTACTS)]


INCOMING = [
    contact("a@x", name="", amount=None, visits=1),  # empty values; visits equal
    contact("b@x", name="Robert", amount=D("2.00"), visits=None),  # values and an empty one
    contact("d@x", name="Dora", visits=4),  # new
]


def test_update_takes_incoming_values_empty_ones_included(target: Target, db_url: str) -> None:
    seed(target)
    result = target.write(batch(CONTACTS, INCOMING), CONTACTS, "upsert", existing="update")
    assert full(result) == (1, 2, 0, 0, 0, 0)
    assert names(db_url) == [
        ("a@x", "", None, 1),
        ("b@x", "Robert", D("2.00"), None),
        ("c@x", "Cy", D("3.00"), 3),
        ("d@x", "Dora", None, 4),
    ]


def test_merge_keeps_stored_values_where_incoming_ones_are_empty(
    target: Target, db_url: str
) -> None:
    seed(target)
    result = target.write(batch(CONTACTS, INCOMING), CONTACTS, "upsert", existing="merge")
    # a@x: every incoming value is empty or equal, so nothing changes and nothing is rewritten.
    assert full(result) == (1, 1, 1, 0, 0, 0)
    assert names(db_url) == [
        ("a@x", "Ann", D("1.50"), 1),
        ("b@x", "Robert", D("2.00"), 2),
        ("c@x", "Cy", D("3.00"), 3),
        ("d@x", "Dora", None, 4),
    ]
    again = target.write(batch(CONTACTS, INCOMING), CONTACTS, "upsert", existing="merge")
    assert full(again) == (0, 0, 3, 0, 0, 0)


def test_skip_leaves_stored_rows_untouched(target: Target, db_url: str) -> None:
    seed(target)
    result = target.write(batch(CONTACTS, INCOMING), CONTACTS, "upsert", existing="skip")
    assert full(result) == (1, 0, 2, 0, 0, 0)
    assert names(db_url)[:2] == [("a@x", "Ann", D("1.50"), 1), ("b@x", "Bob", None, 2)]
    assert names(db_url)[3] == ("d@x", "Dora", None, 4)


def test_error_rejects_existing_keys_with_their_key(target: Target, db_url: str) -> None:
    seed(target)
    result = target.write(
        batch(CONTACTS, INCOMING, first_row=10), CONTACTS, "upsert", existing="error"
    )
    assert full(result) == (1, 0, 0, 0, 0, 2)
    assert errors(result) == [
        (10, None, "key email='a@x' already exists in contacts (existing: error)"),
        (11, None, "key email='b@x' already exists in contacts (existing: error)"),
    ]
    assert [e for e, *_ in names(db_url)] == ["a@x", "b@x", "c@x", "d@x"]
    assert names(db_url)[1] == ("b@x", "Bob", None, 2)


def test_update_only_with_merge(target: Target, db_url: str) -> None:
    seed(target)
    result = target.write(batch(CONTACTS, INCOMING), CONTACTS, "update_only", existing="merge")
    assert full(result) == (0, 1, 1, 0, 0, 1)
    assert errors(result)[0][2] == "key email='d@x' not found in contacts (mode update_only)"
    assert len(names(db_url)) == 3


def test_delete_by_key_rejects_unknown_keys(target: Target, db_url: str) -> None:
    seed(target)
    gone = batch(CONTACTS, [contact("a@x"), contact("zz@x"), contact("c@x", name="other")])
    result = target.write(gone, CONTACTS, "delete")
    assert full(result) == (0, 0, 0, 2, 0, 1)
    assert errors(result) == [(3, None, "key email='zz@x' not found in contacts (mode delete)")]
    assert names(db_url) == [("b@x", "Bob", None, 2)]


def replace_all(target: Target, rows: list[list[dict[str, object]]], **kw: object) -> LoadResult:
    target.prepare(CONTACTS, "replace", shadow="conveyor_replace_1")
    total = LoadResult()
    for part in rows:
        total = total + target.write(batch(CONTACTS, part), CONTACTS, "replace")
    return total + target.apply_replace(CONTACTS, **kw)  # type: ignore[arg-type]


def test_replace_swaps_the_rows_and_counts_each_kind(target: Target, db_url: str) -> None:
    seed(target)
    result = replace_all(
        target,
        [
            [contact("a@x", name="Ann", amount=D("1.50"), visits=1)],  # unchanged
            [contact("b@x", name="Bobby", visits=2), contact("e@x", name="Eve")],
        ],
    )
    # The batches' inserted counts are shadow rows; apply_replace says what the table got.
    assert (result.removed, result.rejected.height) == (1, 0)
    assert names(db_url) == [
        ("a@x", "Ann", D("1.50"), 1),
        ("b@x", "Bobby", None, 2),
        ("e@x", "Eve", None, None),
    ]
    assert full(result)[3:] == (0, 1, 0)
    assert not has_table(db_url, "conveyor_replace_1")


def test_apply_replace_counts(target: Target, db_url: str) -> None:
    seed(target)
    target.prepare(CONTACTS, "replace", shadow="conveyor_replace_7")
    target.write(batch(CONTACTS, INCOMING), CONTACTS, "replace")
    applied = target.apply_replace(CONTACTS, existing="merge")
    assert full(applied) == (1, 1, 1, 0, 1, 0)
    assert [e for e, *_ in names(db_url)] == ["a@x", "b@x", "d@x"]
    assert not has_table(db_url, "conveyor_replace_7")


def test_replace_is_atomic_for_readers(target: Target, db_url: str) -> None:
    """A reader between the batches sees the old rows, never a mix or an empty table."""
    seed(target)
    target.prepare(CONTACTS, "replace", shadow="conveyor_replace_2")
    target.write(batch(CONTACTS, [contact("x@x")]), CONTACTS, "replace")
    assert [e for e, *_ in names(db_url)] == ["a@x", "b@x", "c@x"]
    target.write(batch(CONTACTS, [contact("y@x")]), CONTACTS, "replace")
    assert [e for e, *_ in names(db_url)] == ["a@x", "b@x", "c@x"]
    target.apply_replace(CONTACTS)
    assert [e for e, *_ in names(db_url)] == ["x@x", "y@x"]


def test_replace_without_a_key_replaces_every_row(target: Target, db_url: str) -> None:
    target.prepare(KEYLESS, "insert")
    target.write(batch(KEYLESS, [{"name": "old", "n": 1}] * 3), KEYLESS, "insert")
    target.prepare(KEYLESS, "replace", shadow="conveyor_replace_3")
    target.write(batch(KEYLESS, [{"name": "new", "n": 2}] * 2), KEYLESS, "replace")
    applied = target.apply_replace(KEYLESS)
    assert full(applied) == (2, 0, 0, 0, 3, 0)
    assert raw(db_url, "SELECT name, n FROM events") == [("new", 2), ("new", 2)]


def test_discard_replace_drops_the_shadow_and_keeps_the_table(target: Target, db_url: str) -> None:
    seed(target)
    target.prepare(CONTACTS, "replace", shadow="conveyor_replace_4")
    target.write(batch(CONTACTS, [contact("x@x")]), CONTACTS, "replace")
    target.discard_replace(CONTACTS)
    assert len(names(db_url)) == 3
    assert not has_table(db_url, "conveyor_replace_4")


def test_add_columns_adds_new_mapped_fields(target: Target, db_url: str) -> None:
    seed(target)
    wider = TableSchema("contacts", (*CONTACTS.columns, Column("tier", "string")), key=CONTACTS.key)
    other = open_target(db_url)
    try:
        with pytest.raises(SchemaMismatchError, match="column 'tier' is missing"):
            other.prepare(wider, "upsert")
        other.prepare(wider, "upsert", add_columns=True)
        row = {**contact("a@x", name="Ann", amount=D("1.50"), visits=1), "tier": "gold"}
        result = other.write(batch(wider, [row]), wider, "upsert")
    finally:
        other.close()
    assert full(result) == (0, 1, 0, 0, 0, 0)
    assert raw(db_url, "SELECT email, tier FROM contacts ORDER BY email") == [
        ("a@x", "gold"),
        ("b@x", None),
        ("c@x", None),
    ]


def test_checkpoint_commits_with_the_batch(target: Target, db_url: str) -> None:
    seed(target)
    seen: list[int] = []

    def checkpoint(conn: sa.Connection, result: LoadResult) -> None:
        seen.append(result.inserted)
        raise RuntimeError("crash inside the transaction")

    with pytest.raises(RuntimeError):
        target.write(batch(CONTACTS, [contact("n@x")]), CONTACTS, "upsert", checkpoint=checkpoint)
    assert seen == [1]
    assert len(names(db_url)) == 3  # the batch rolled back with its checkpoint


def test_concurrent_writers_on_one_table_lose_nothing(db_url: str) -> None:
    """Two targets write overlapping keys at once: every key lands once, counts add up."""
    first = open_target(db_url)
    first.prepare(CONTACTS, "upsert")
    results: list[LoadResult] = []
    failures: list[BaseException] = []

    def run(offset: int) -> None:
        writer = open_target(db_url)
        try:
            for start in range(0, 400, 50):
                rows = [contact(f"k{i}@x", visits=offset) for i in range(start, start + 60)]
                results.append(writer.write(batch(CONTACTS, rows), CONTACTS, "upsert"))
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            failures.append(exc)
        finally:
            writer.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.close()
    assert failures == []
    keys = raw(db_url, "SELECT count(*), count(DISTINCT email) FROM contacts")
    assert keys == [(410, 410)]
    assert sum(r.inserted for r in results) == 410
    assert sum(r.inserted + r.updated + r.unchanged for r in results) == 2 * 8 * 60
