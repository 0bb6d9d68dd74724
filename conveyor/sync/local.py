"""The local side of a sync: the job's table, read and written with bound values only.

The table is created from the job when it does not exist (the key as text, each field by its
type, the modification and soft-delete columns as timestamps). Statements are built from that
definition, so decimals and datetimes keep their exact form on SQLite too. Rows whose
soft-delete column is set take no part in the sync.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from conveyor.errors import ConfigError, RecordError
from conveyor.load.ddl import UtcDateTimeText, reflect_table, table_for
from conveyor.schema import Column, FieldKind, TableSchema
from conveyor.sync.spec import LocalType, SyncJobSpec
from conveyor.sync.values import Codec, canonical, to_python

__all__ = ["LocalRow", "LocalTable"]

_KINDS: dict[LocalType, FieldKind] = {
    "text": "string",
    "integer": "integer",
    "decimal": "decimal",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "json": "json",
}
_CHUNK = 1000


def _moment(value: Any) -> dt.datetime | None:
    """A row's modification time, or None when it cannot be read as one."""
    try:
        text = canonical(value, "datetime")
    except RecordError:
        return None
    return None if text is None else dt.datetime.fromisoformat(text)


@dataclass(frozen=True)
class LocalRow:
    key: str
    values: dict[str, Any] | RecordError  # canonical, or why the row cannot be read
    modified_at: dt.datetime | None


class LocalTable:
    """The job's table in its database."""

    def __init__(self, engine: Engine, job: SyncJobSpec) -> None:
        self.engine = engine
        self.job = job
        self.codec = Codec(job)
        self.key = job.local.key
        self.modified = job.local.modified_column
        self.soft = job.deletes.column if job.deletes.policy == "soft" else None
        self.table = table_for(self._schema(), engine.dialect.name)
        if engine.dialect.name == "postgresql":  # a synced decimal keeps every digit it has
            for name, spec in job.fields.items():
                if spec.type == "decimal":
                    self.table.c[name].type = sa.Numeric(asdecimal=True)
        self._int_key = False

    def _schema(self) -> TableSchema:
        columns = [Column(self.key, "string", nullable=False)]
        columns += [Column(n, _KINDS[f.type]) for n, f in self.job.fields.items()]
        columns += [Column(n, "datetime") for n in (self.modified, self.soft) if n]
        return TableSchema(self.job.local.table, tuple(columns), (self.key,))

    def ensure(self) -> None:
        """Create the table, or check that the existing one has every column the job needs."""
        with self.engine.begin() as conn:
            existing = reflect_table(conn, self.table.name)
            if existing is None:
                self.table.create(conn)
                return
        missing = [c.name for c in self.table.columns if c.name not in existing.columns]
        if missing:
            raise ConfigError(
                f"table {self.table.name} has no column {', '.join(missing)}, which sync job "
                f"{self.job.name} needs; add the column or change the job"
            )
        key_type = existing.columns[self.key].type
        self._int_key = isinstance(key_type, sa.Integer)

    # -- reads ----------------------------------------------------------------------------

    def read(self, since: dt.datetime | None) -> list[LocalRow]:
        """Rows changed at or after ``since`` (every row when None or without a modification
        column)."""
        query = self._select()
        if since is not None and self.modified:
            query = query.where(self._changed_since(since))
        with self.engine.connect() as conn:
            return self._rows(conn.execute(query).mappings().all())

    def fetch(self, keys: Iterable[str]) -> dict[str, LocalRow]:
        """The live rows with these keys."""
        found: dict[str, LocalRow] = {}
        wanted = list(keys)
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = [self._bind_key(k) for k in wanted[start : start + _CHUNK]]
                query = self._select().where(self.table.c[self.key].in_(chunk))
                found.update((r.key, r) for r in self._rows(conn.execute(query).mappings().all()))
        return found

    def keys(self) -> set[str]:
        """Every live key: a deleted row is a linked key missing from here."""
        query = sa.select(self.table.c[self.key]).where(*self._live())
        with self.engine.connect() as conn:
            return {str(k) for k in conn.execute(query).scalars()}

    # -- writes (in the caller's transaction) ---------------------------------------------

    def upsert(
        self, conn: sa.Connection, rows: Mapping[str, Mapping[str, Any]], now: dt.datetime
    ) -> None:
        """Insert or update rows: key -> canonical values (only the fields given change)."""
        by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for key, values in rows.items():
            bound = {n: self._bind(n, v) for n, v in values.items()}
            bound[self.key] = self._bind_key(key)
            if self.modified:
                bound[self.modified] = now
            by_fields.setdefault(tuple(sorted(bound)), []).append(bound)
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        for names, group in by_fields.items():
            statement = insert(self.table)
            changed = {n: statement.excluded[n] for n in names if n != self.key}
            upsert = (
                statement.on_conflict_do_update(index_elements=[self.key], set_=changed)
                if changed
                else statement.on_conflict_do_nothing(index_elements=[self.key])
            )
            for start in range(0, len(group), 5 * _CHUNK):  # executemany: one statement
                conn.execute(upsert, group[start : start + 5 * _CHUNK])

    def delete(self, conn: sa.Connection, keys: Sequence[str], now: dt.datetime) -> None:
        """Delete these rows, or with the soft policy set their soft-delete column."""
        column = self.table.c[self.key]
        for start in range(0, len(keys), _CHUNK):
            chunk = [self._bind_key(k) for k in keys[start : start + _CHUNK]]
            if self.soft:
                conn.execute(
                    sa.update(self.table).where(column.in_(chunk)).values({self.soft: now})
                )
            else:
                conn.execute(sa.delete(self.table).where(column.in_(chunk)))

    # -- helpers --------------------------------------------------------------------------

    def _select(self) -> sa.Select[Any]:
        names = [self.key, *self.job.fields, *([self.modified] if self.modified else [])]
        return sa.select(*[self._raw(n) for n in names]).where(*self._live())

    def _raw(self, name: str) -> sa.ColumnElement[Any]:
        """On SQLite a column holds whatever the application stored: read the stored value
        as it is, so one row of 'abc' in a decimal column is that row's RecordError, not a
        failed read of the whole table."""
        column = self.table.c[name]
        if self.engine.dialect.name != "sqlite" or name == self.key:
            return column
        return sa.type_coerce(column, sa.types.NullType()).label(name)

    def _changed_since(self, since: dt.datetime) -> sa.ColumnElement[bool]:
        column = self.table.c[str(self.modified)]
        if self.engine.dialect.name != "sqlite":
            return column >= since
        # SQLite keeps times as text, and applications write them in more than one form
        # ("2024-01-02 03:04:05", "...T...+00:00"); julianday() reads them all as instants.
        moment = sa.bindparam("since", since, type_=UtcDateTimeText())
        return sa.func.julianday(column) >= sa.func.julianday(moment)

    def _live(self) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if self.soft:
            where.append(self.table.c[self.soft].is_(None))
        for name, value in (self.job.local.filter or {}).items():
            if name not in self.table.c:
                raise ConfigError(f"local.filter names {name!r}, which is not a synced column")
            where.append(self.table.c[name] == value)
        return where

    def _rows(self, rows: Sequence[sa.RowMapping]) -> list[LocalRow]:
        values = self.codec.local([dict(r) for r in rows])
        return [
            LocalRow(str(r[self.key]), v, _moment(r[self.modified]) if self.modified else None)
            for r, v in zip(rows, values, strict=True)
        ]

    def _bind(self, name: str, value: Any) -> Any:
        """A canonical value as the column takes it: on SQLite a json value is stored as its
        JSON text (the column is text there; PostgreSQL's jsonb takes the value itself)."""
        kind = self.job.fields[name].type
        bound = to_python(value, kind)
        if kind == "json" and bound is not None and self.engine.dialect.name == "sqlite":
            return json.dumps(bound, ensure_ascii=False, separators=(",", ":"))
        return bound

    def _bind_key(self, key: str) -> Any:
        if not self._int_key:
            return key
        try:
            return int(key)
        except ValueError:
            raise RecordError(
                f"key {key!r} cannot be stored in the integer column {self.key}: records made "
                "on the remote side take their external id or remote id as local key, so give "
                "the table a text key"
            ) from None
