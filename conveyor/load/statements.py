"""The set-based statements between a staging table and the target, per mode and strategy.

Every statement is built with SQLAlchemy from the reflected target table: identifiers are quoted
by the dialect and no value is ever formatted into the text.

- ``found``: staged rows whose key is (or is not) in the target: the rejects of ``insert``,
  ``existing: error``, ``update_only`` and ``delete``.
- ``update``: ``UPDATE target SET … FROM stage WHERE keys match AND some value differs``; with
  ``merge`` each value is ``COALESCE(incoming, stored)`` (an empty string counts as empty), so
  only rows whose merged values differ are rewritten.
- ``insert``: ``INSERT INTO target SELECT … FROM stage WHERE NOT EXISTS (row with that key)``.
- ``merge`` (PostgreSQL): ``update`` and ``insert`` in one ``MERGE``, one join instead of two.
- ``delete``: ``DELETE FROM target WHERE EXISTS (staged row with that key)``.
- ``remove_absent``: the replace's last step, ``DELETE`` of the rows the new set lacks.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from conveyor.load.base import Existing
from conveyor.schema import TableSchema

__all__ = ["CreateTempTableAs", "LockTable", "Merge", "Statements"]


class CreateTempTableAs(Executable, ClauseElement):
    """``CREATE [TEMP] TABLE name AS <select>`` (SQLAlchemy 2.0 has no construct for it)."""

    inherit_cache = False

    def __init__(
        self, name: str, select: sa.Select[Any], *, drop_on_commit: bool, temporary: bool = True
    ) -> None:
        self.name = name
        self.select = select
        self.drop_on_commit = drop_on_commit
        self.temporary = temporary


@compiles(CreateTempTableAs)
def _compile_create_temp(element: CreateTempTableAs, compiler: SQLCompiler, **kw: Any) -> str:
    name = compiler.preparer.quote(element.name)
    temp = "TEMP " if element.temporary else ""
    on_commit = " ON COMMIT DROP" if element.drop_on_commit else ""
    query = compiler.process(element.select, **kw)
    return f"CREATE {temp}TABLE {name}{on_commit} AS {query}"


class LockTable(Executable, ClauseElement):
    """PostgreSQL ``LOCK TABLE name IN SHARE ROW EXCLUSIVE MODE``.

    Held until the batch commits: other writers wait, readers do not. It makes "which keys
    exist" exact for the whole batch, so two imports into one table cannot both insert a key.
    """

    inherit_cache = False

    def __init__(self, table: sa.Table) -> None:
        self.table = table


@compiles(LockTable)
def _compile_lock(element: LockTable, compiler: SQLCompiler, **kw: Any) -> str:
    name = compiler.preparer.format_table(element.table)
    return f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE"


class Merge(Executable, ClauseElement):
    """PostgreSQL 15+ ``MERGE INTO target USING stage ON keys WHEN MATCHED AND <differs> THEN
    UPDATE SET … WHEN NOT MATCHED THEN INSERT …`` (SQLAlchemy 2.0 has no construct for it).

    Every part is a SQLAlchemy expression compiled by the dialect: identifiers quoted, values
    bound. The stage holds each key once (the file is deduplicated), as MERGE requires.
    """

    inherit_cache = False

    def __init__(
        self,
        table: sa.Table,
        stage: sa.TableClause,
        on: sa.ColumnElement[bool],
        differs: sa.ColumnElement[bool],
        values: dict[str, sa.ColumnElement[Any]],
        columns: list[str],
    ) -> None:
        self.table, self.stage, self.on, self.differs = table, stage, on, differs
        self.values, self.columns = values, columns


@compiles(Merge)
def _compile_merge(element: Merge, compiler: SQLCompiler, **kw: Any) -> str:
    quote = compiler.preparer.quote
    target = compiler.preparer.format_table(element.table)
    stage = compiler.preparer.format_table(element.stage)
    sets = ", ".join(
        f"{quote(name)} = {compiler.process(value, **kw)}" for name, value in element.values.items()
    )
    names = ", ".join(quote(c) for c in element.columns)
    incoming = ", ".join(compiler.process(element.stage.c[c], **kw) for c in element.columns)
    on, differs = compiler.process(element.on, **kw), compiler.process(element.differs, **kw)
    # Every part is compiled by the dialect: quoted identifiers, bound values.
    parts = [
        f"MERGE INTO {target} USING {stage} ON {on}",
        f"WHEN MATCHED AND ({differs}) THEN UPDATE SET {sets}",
        f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({incoming})",  # noqa: S608
    ]
    return " ".join(parts)


class Statements:
    """The statements for one target table and one staged (or shadow) table."""

    def __init__(self, table: sa.Table, stage: sa.TableClause, schema: TableSchema) -> None:
        self.table = table
        self.stage = stage
        self.columns = schema.column_names
        self.key = schema.key
        self.value_columns = [c for c in schema.column_names if c not in schema.key]
        self.text_columns = {c.name for c in schema.columns if c.kind == "string"}

    def _key_exists(self) -> sa.Exists:
        match = [self.table.c[k] == self.stage.c[k] for k in self.key]
        return sa.exists().where(*match)

    def found(self, idx_col: str, *, present: bool) -> sa.Select[tuple[int]]:
        """The staged rows' ``idx_col`` whose key is in the target (or, ``present=False``, not)."""
        exists = self._key_exists()
        condition = exists if present else ~exists
        return sa.select(self.stage.c[idx_col]).where(condition).order_by(self.stage.c[idx_col])

    def update(self, existing: Existing) -> sa.Update:
        t, s = self.table, self.stage
        values = {c: self._incoming(c, existing) for c in self.value_columns}
        differs = [_distinct(t.c[c], values[c]) for c in self.value_columns]
        return (
            sa.update(t).values(values).where(*[t.c[k] == s.c[k] for k in self.key], _any(differs))
        )

    def merge(self, existing: Existing) -> Merge:
        """``update`` and ``insert`` at once (PostgreSQL); needs a key and value columns."""
        t, s = self.table, self.stage
        values = {c: self._incoming(c, existing) for c in self.value_columns}
        differs = _any([_distinct(t.c[c], values[c]) for c in self.value_columns])
        on = sa.and_(*[t.c[k] == s.c[k] for k in self.key])
        return Merge(t, s, on, differs, values, self.columns)

    def insert(self) -> sa.Insert:
        rows = sa.select(*[self.stage.c[c] for c in self.columns])
        if self.key:
            rows = rows.where(~self._key_exists())
        return sa.insert(self.table).from_select(self.columns, rows)

    def delete(self) -> sa.Delete:
        match = [self.table.c[k] == self.stage.c[k] for k in self.key]
        return sa.delete(self.table).where(sa.exists().where(*match))

    def remove_absent(self) -> sa.Delete:
        """Delete the target rows whose key the staged rows lack (all rows without a key)."""
        if not self.key:
            return sa.delete(self.table)
        match = [self.table.c[k] == self.stage.c[k] for k in self.key]
        return sa.delete(self.table).where(~sa.exists().where(*match))

    def _incoming(self, column: str, existing: Existing) -> sa.ColumnElement[Any]:
        staged: sa.ColumnElement[Any] = self.stage.c[column]
        if existing != "merge":
            return staged
        if column in self.text_columns:
            staged = sa.func.nullif(staged, "")
        return sa.func.coalesce(staged, self.table.c[column])


def _any(conditions: list[sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    """``a OR b OR …``, in groups of 32 behind ``CASE WHEN … THEN 1 END = 1`` when long.

    SQLite parses a flat OR of n terms into a tree n deep and refuses one deeper than 1,000
    (a table of 1,000+ columns). SQLAlchemy flattens nested ORs, parenthesised or not, so each
    group hides behind a CASE, which it keeps.
    """
    if len(conditions) <= _OR_GROUP:
        return sa.or_(*conditions)
    groups = [
        sa.case((sa.or_(*conditions[i : i + _OR_GROUP]), 1), else_=0) == 1
        for i in range(0, len(conditions), _OR_GROUP)
    ]
    return _any(groups)


_OR_GROUP = 32


def _distinct(
    stored: sa.ColumnElement[Any], staged: sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    """NULL-safe "differs" (IS DISTINCT FROM / IS NOT); PostgreSQL json has no equality."""
    if isinstance(stored.type, sa.JSON) and not isinstance(stored.type, postgresql.JSONB):
        return sa.cast(stored, sa.Text()).is_distinct_from(sa.cast(staged, sa.Text()))
    return stored.is_distinct_from(staged)
