"""PostgreSQL upserts through one MERGE, with exact counts, and the two-statement fallback when
the transaction's row counters cannot split MERGE's count (a trigger writing the same table,
``track_counts`` off)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from conveyor.load import open_target
from conveyor.load.sqltarget import SqlTarget
from tests.load.support import CONTACTS, D, batch, contact, stored

pytestmark = pytest.mark.postgres

SEED = [
    contact("a@x", name="Ann", amount=D("1.50"), visits=1),
    contact("b@x", name="Bob", amount=None, visits=2),
    contact("c@x", name="Cy", amount=D("3.00"), visits=3),
]
INCOMING = [
    contact("a@x", name="Ann", amount=D("1.50"), visits=1),  # equal: left alone
    contact("b@x", name="Robert", amount=D("2.00"), visits=2),  # changed
    contact("c@x", name="Cy", amount=D("3.10"), visits=3),  # changed
    contact("d@x", name="Dora", visits=4),  # new
]


def statements(target: SqlTarget) -> list[str]:
    """The SQL the target sends from now on, first word upper-cased, in order."""
    seen: list[str] = []

    @sa.event.listens_for(target.engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    return seen


@pytest.fixture
def pg_target(pg_empty_url: str) -> Iterator[SqlTarget]:
    target = open_target(pg_empty_url)
    assert isinstance(target, SqlTarget)
    target.prepare(CONTACTS, "upsert")
    target.write(batch(CONTACTS, SEED), CONTACTS, "upsert")
    yield target
    target.close()


def counts(target: SqlTarget, existing: str = "update") -> tuple[int, int, int]:
    result = target.write(batch(CONTACTS, INCOMING), CONTACTS, "upsert", existing=existing)  # type: ignore[arg-type]
    return result.inserted, result.updated, result.unchanged


def test_upsert_is_one_merge_with_exact_counts(pg_target: SqlTarget, pg_empty_url: str) -> None:
    sent = statements(pg_target)
    assert counts(pg_target) == (1, 2, 1)
    assert "MERGE" in sent and "UPDATE" not in sent and "INSERT" not in sent
    assert [(r["email"], r["name"], r["amount"]) for r in stored(pg_empty_url, CONTACTS)] == [
        ("a@x", "Ann", D("1.50")),
        ("b@x", "Robert", D("2.00")),
        ("c@x", "Cy", D("3.10")),
        ("d@x", "Dora", None),
    ]
    assert counts(pg_target) == (0, 0, 4)


def test_merge_strategy_through_merge(pg_target: SqlTarget) -> None:
    sent = statements(pg_target)
    assert counts(pg_target, "merge") == (1, 2, 1)
    assert "MERGE" in sent


def test_a_trigger_writing_the_same_table_falls_back_to_exact_statements(
    pg_target: SqlTarget, pg_empty_url: str
) -> None:
    engine = sa.create_engine(pg_empty_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION echo() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO contacts (email) VALUES ('echo-' || NEW.email); RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER echo AFTER INSERT ON contacts FOR EACH ROW "
            "WHEN (NEW.email NOT LIKE 'echo-%%') EXECUTE FUNCTION echo()"
        )
    engine.dispose()
    sent = statements(pg_target)
    # MERGE's counters see the trigger's row too (2 inserted + 2 updated != 3 merged): the
    # MERGE is undone and the statements' own row counts give the batch's exact counts.
    assert counts(pg_target) == (1, 2, 1)
    assert sent.index("MERGE") < sent.index("UPDATE") < sent.index("INSERT")
    emails = [r["email"] for r in stored(pg_empty_url, CONTACTS)]
    assert emails == ["a@x", "b@x", "c@x", "d@x", "echo-d@x"]  # the trigger ran once


def test_without_track_counts_the_statements_run(pg_empty_url: str) -> None:
    url = sa.make_url(pg_empty_url).update_query_dict({"options": "-c track_counts=off"})
    target = open_target(url.render_as_string(hide_password=False))
    assert isinstance(target, SqlTarget)
    try:
        target.prepare(CONTACTS, "upsert")
        target.write(batch(CONTACTS, SEED), CONTACTS, "upsert")
        sent = statements(target)
        assert counts(target) == (1, 2, 1)
        assert "MERGE" not in sent and "UPDATE" in sent
    finally:
        target.close()
