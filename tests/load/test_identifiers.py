"""Table and column names that need quoting are quoted, on every statement of every mode."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from conveyor.load import Target
from conveyor.schema import Column, TableSchema
from tests.load.support import batch, counts, errors

ODD = TableSchema(
    'My "Odd" Table; DROP TABLE x',
    (
        Column("E-Mail Address", "string", nullable=False),
        Column('say "hi"', "string"),
        Column("it's", "integer"),
        Column("MixedCase", "string"),
        Column("select", "string"),
        Column("100% sure", "boolean"),
        Column("naïve ünicode", "string"),
    ),
    key=("E-Mail Address",),
)


def row(email: str, value: str) -> dict[str, object]:
    return {
        "E-Mail Address": email,
        'say "hi"': value,
        "it's": 1,
        "MixedCase": value.upper(),
        "select": "from",
        "100% sure": True,
        "naïve ünicode": value,
    }


@pytest.mark.parametrize("mode", ["insert", "upsert", "update_only"])
def test_names_needing_quotes_work_in_every_mode(target: Target, db_url: str, mode: str) -> None:
    target.prepare(ODD, "upsert")
    assert counts(target.write(batch(ODD, [row("a@x", "one")]), ODD, "insert")) == (1, 0, 0, 0)
    second = batch(ODD, [row("a@x", "two"), row("b@x", "new")])
    result = target.write(second, ODD, mode)  # type: ignore[arg-type]
    expected = {"insert": (1, 0, 0, 1), "upsert": (1, 1, 0, 0), "update_only": (0, 1, 0, 1)}
    assert counts(result) == expected[mode]
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        names = [c["name"] for c in sa.inspect(conn).get_columns(ODD.name)]
        table = sa.Table(ODD.name, sa.MetaData(), autoload_with=conn)
        stored = conn.execute(sa.select(table.c['say "hi"'], table.c["MixedCase"])).all()
    engine.dispose()
    assert names == ODD.column_names
    after = {
        "insert": [("new", "NEW"), ("one", "ONE")],
        "upsert": [("new", "NEW"), ("two", "TWO")],
        "update_only": [("two", "TWO")],
    }
    assert sorted(stored) == after[mode]
    if mode == "insert":
        assert errors(result)[0][2] == (
            "key E-Mail Address='a@x' already exists in "
            'My "Odd" Table; DROP TABLE x (mode insert)'
        )


def test_key_values_with_quotes_are_bound_not_formatted(target: Target) -> None:
    target.prepare(ODD, "upsert")
    nasty = "o'brien\"; DROP TABLE contacts; --@x"
    assert counts(target.write(batch(ODD, [row(nasty, "v")]), ODD, "upsert")) == (1, 0, 0, 0)
    result = target.write(batch(ODD, [row(nasty, "v")]), ODD, "insert")
    assert errors(result)[0][2].startswith(f"key E-Mail Address='{nasty}' already exists")
