"""The reference connector's store: one entity's records in a database table.

The table ``reference_<entity>`` is the remote's own database (``id`` text key, ``modified_at``
UTC timestamp, ``deleted``, ``external_id`` for upserts, ``data`` the values as JSON text). A
database rather than memory so every process (tests, the CLI in subprocesses, the benchmark) sees
the same records. The store's ``create``/``update``/``remove``/``get``/``all`` act as another user
of the remote would; the connector pages and batches through ``page``/``id_page``/``write_batch``/
``delete_batch``.

Values are validated and stored in :func:`conveyor.sync.values.canonical` form for the field's
declared type, as a remote normalises what it accepts.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Connection, Engine

from conveyor.connector import RemoteFieldType, RemoteRecord, WriteRequest, WriteResult
from conveyor.errors import ConfigError, RecordError, StaleRecordError
from conveyor.load.ddl import UtcDateTimeText
from conveyor.load.urls import create_engine, parse_url, translate_error
from conveyor.sync.values import canonical
from conveyor.testing.reference_faults import Predicate, rejection_reason
from conveyor.testing.reference_settings import StoreDeletes
from conveyor.testing.types import REMOTE_TO_LOCAL

__all__ = ["Clock", "ReferenceStore", "as_utc", "utcnow"]

Clock = Callable[[], dt.datetime]

# ids compare byte-wise on both databases, so keyset paging agrees with Python's order
_ID_TYPE = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")


def utcnow() -> dt.datetime:
    """The real clock: aware UTC now (the default ``clock`` of stores and the connector)."""
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC; a naive datetime is taken as UTC, as Conveyor stores them."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


@dataclass
class _Row:
    id: str
    data: dict[str, Any]
    new: bool = False
    deleted: bool = False
    modified_at: dt.datetime | None = None

    def record(self) -> RemoteRecord:
        return RemoteRecord(self.id, dict(self.data), self.modified_at, self.deleted, self.version)

    @property
    def version(self) -> str | None:
        """The record's version (its modification time), as an ETag would be."""
        return None if self.modified_at is None else self.modified_at.isoformat()


class ReferenceStore:
    """One entity's records in a database table: the remote's side of the reference connector.

    ``url`` is a database URL (the store then owns an engine; ``close()`` ends it) or an engine
    to share. The table is created if missing.
    """

    def __init__(
        self,
        url: str | SecretStr | Engine,
        entity: str,
        fields: Mapping[str, RemoteFieldType],
        *,
        external_id_field: str | None = None,
        delete_detection: StoreDeletes = "tombstones",
        clock: Clock | None = None,
    ) -> None:
        if isinstance(url, Engine):
            self.engine, self._owned = url, False
        else:
            text = url.get_secret_value() if isinstance(url, SecretStr) else url
            self.engine, self._owned = create_engine(parse_url(text), check=False), True
        self.entity = entity
        self.fields = dict(fields)
        self.external_id_field = external_id_field
        self.tombstones = delete_detection == "tombstones"
        self.clock: Clock = clock or utcnow
        self.table = _table(entity, self.engine.dialect.name)
        with self._db("create the table of") as conn:
            self.table.create(conn, checkfirst=True)

    # the remote user's API: changes like any other, never counted as connector calls

    def create(self, values: Mapping[str, Any]) -> str:
        """A new record with ``values``; its id."""
        row = _Row(_new_id(), self._blank() | self.validate(values), new=True)
        with self._db("write to") as conn:
            self._save(conn, [self._stamp(row)])
        return row.id

    def update(self, id: str, values: Mapping[str, Any]) -> None:
        clean = self.validate(values)
        with self._db("write to") as conn:
            row = self._live(self._load(conn, [id]).get(id), id)
            row.data |= clean
            self._save(conn, [self._stamp(row)])

    def remove(self, id: str) -> None:
        error = self.delete_batch([id])[0].error
        if error is not None:
            raise error

    def get(self, id: str) -> RemoteRecord | None:
        """The record (a tombstone comes back ``deleted``), or None."""
        with self._db("read") as conn:
            row = self._load(conn, [id]).get(id)
        return None if row is None else row.record()

    def all(self) -> list[RemoteRecord]:
        """Every live record, in (modified_at, id) order."""
        t = self.table
        query = sa.select(t).where(~t.c.deleted).order_by(t.c.modified_at, t.c.id)
        with self._db("read") as conn:
            return [_row(r).record() for r in conn.execute(query)]

    def ping(self) -> None:
        """Reach the database now (TransientError or ConfigError when it cannot be)."""
        with self._db("connect to") as conn:
            conn.execute(sa.select(self.table.c.id).limit(1))

    def close(self) -> None:
        if self._owned:
            self.engine.dispose()

    # the connector's operations, one remote call each

    def page(
        self, since: dt.datetime | None, after: tuple[dt.datetime, str] | None, limit: int
    ) -> list[RemoteRecord]:
        """Up to ``limit`` records modified at or after ``since``, past ``after``, in order."""
        t = self.table
        query = sa.select(t).order_by(t.c.modified_at, t.c.id).limit(limit)
        if since is not None:
            query = query.where(t.c.modified_at >= since)
        if after is not None:
            moment, last = after
            query = query.where(
                t.c.modified_at >= moment,  # redundant, but lets the index start at ``moment``
                sa.or_(t.c.modified_at > moment, sa.and_(t.c.modified_at == moment, t.c.id > last)),
            )
        with self._db("read") as conn:
            return [_row(r).record() for r in conn.execute(query)]

    def id_page(self, after: str | None, limit: int) -> list[str]:
        """Up to ``limit`` live ids greater than ``after``, in order."""
        t = self.table
        query = sa.select(t.c.id).where(~t.c.deleted).order_by(t.c.id).limit(limit)
        if after is not None:
            query = query.where(t.c.id > after)
        with self._db("read") as conn:
            return [str(i) for i in conn.scalars(query)]

    def write_batch(
        self, requests: Sequence[WriteRequest], rejections: Sequence[tuple[Predicate, str]] = ()
    ) -> list[WriteResult]:
        """Updates (``remote_id``) and upserts on the external id, in one transaction; a row
        that cannot be written gets its RecordError and the others go on."""
        results: list[WriteResult] = []
        with self._db("write to") as conn:
            by_id = self._load(conn, [r.remote_id for r in requests if r.remote_id])
            by_key = self._live_by_key(conn, [r.ref for r in requests if not r.remote_id])
            touched: dict[str, _Row] = {}
            for request in requests:
                try:
                    row = self._planned(request, by_id, by_key)
                    reason = rejection_reason(row.data, rejections)
                    if reason is not None:
                        raise RecordError(f"record {request.ref!r}: {reason}")
                except StaleRecordError as error:
                    now = by_id[str(request.remote_id)].record()
                    results.append(WriteResult(request.ref, None, error, current=now))
                    continue
                except RecordError as error:
                    results.append(WriteResult(request.ref, None, error))
                    continue
                touched[row.id] = by_id[row.id] = self._stamp(row)
                if self.external_id_field and row.data.get(self.external_id_field) is not None:
                    by_key[str(row.data[self.external_id_field])] = row
                results.append(WriteResult(request.ref, row.record()))
            self._save(conn, list(touched.values()))
        return results

    def delete_batch(self, ids: Sequence[str]) -> list[WriteResult]:
        """Delete each record (a tombstone, or gone with key_scan); unknown ids are row errors."""
        results: list[WriteResult] = []
        t = self.table
        with self._db("delete from") as conn:
            rows = self._load(conn, ids)
            for id in ids:
                try:
                    row = self._live(rows.get(id), id)
                except RecordError as error:
                    results.append(WriteResult(id, None, error))
                    continue
                row.deleted = True
                self._stamp(row)
                if self.tombstones:
                    self._save(conn, [row])
                else:
                    conn.execute(sa.delete(t).where(t.c.id == id))
                results.append(WriteResult(id, row.record()))
        return results

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` in canonical form for their declared types; RecordError names the field."""
        unknown = [name for name in values if name not in self.fields]
        if unknown:
            raise RecordError(
                f"unknown field(s) {', '.join(map(repr, unknown))} of {self.entity}; "
                f"its fields: {', '.join(self.fields)}"
            )
        return {n: canonical(v, REMOTE_TO_LOCAL[self.fields[n]], n) for n, v in values.items()}

    # internals

    def _planned(
        self, request: WriteRequest, by_id: Mapping[str, _Row], by_key: Mapping[str, _Row]
    ) -> _Row:
        """The row as this request would leave it (a copy: nothing is changed yet)."""
        clean = self.validate(request.values)
        if request.remote_id is not None:
            row = self._live(by_id.get(request.remote_id), request.remote_id)
            if request.version is not None and request.version != row.version:
                raise StaleRecordError(
                    f"{self.entity} record {row.id!r} changed since it was read "
                    f"(version {request.version}, now {row.version})"
                )
            return _Row(row.id, row.data | clean, row.new)
        ext = self.external_id_field
        if ext is None:
            raise ConfigError(f"entity {self.entity} has no external_id_field to create with")
        clean[ext] = canonical(request.ref, REMOTE_TO_LOCAL[self.fields[ext]], ext)
        found = by_key.get(str(clean[ext]))
        if found is not None:
            return _Row(found.id, found.data | clean, found.new)
        return _Row(_new_id(), self._blank() | clean, new=True)

    def _live(self, row: _Row | None, id: str) -> _Row:
        if row is None:
            raise RecordError(f"no {self.entity} record with id {id!r}")
        if row.deleted:
            raise RecordError(f"{self.entity} record {id!r} was deleted")
        return row

    def _stamp(self, row: _Row) -> _Row:
        row.modified_at = as_utc(self.clock())
        return row

    def _blank(self) -> dict[str, Any]:
        return dict.fromkeys(self.fields)

    def _load(self, conn: Connection, ids: Sequence[str | None]) -> dict[str, _Row]:
        wanted = sorted({i for i in ids if i})
        if not wanted:
            return {}
        rows = conn.execute(sa.select(self.table).where(self.table.c.id.in_(wanted)))
        return {str(r.id): _row(r) for r in rows}

    def _live_by_key(self, conn: Connection, refs: Sequence[str]) -> dict[str, _Row]:
        t = self.table
        keys = sorted(set(refs))
        if not keys or self.external_id_field is None:
            return {}
        query = sa.select(t).where(~t.c.deleted, t.c.external_id.in_(keys)).order_by(t.c.id)
        found: dict[str, _Row] = {}
        for r in conn.execute(query):
            found.setdefault(str(r.external_id), _row(r))
        return found

    def _save(self, conn: Connection, rows: Sequence[_Row]) -> None:
        t = self.table
        params = [self._params(row) for row in rows]
        inserts = [p for p, row in zip(params, rows, strict=True) if row.new]
        updates = [p for p, row in zip(params, rows, strict=True) if not row.new]
        if inserts:
            conn.execute(sa.insert(t), inserts)
        if updates:
            names = ("modified_at", "deleted", "external_id", "data")
            statement = (
                sa.update(t)
                .where(t.c.id == sa.bindparam("b_id"))
                .values({n: sa.bindparam(f"b_{n}") for n in names})
            )
            conn.execute(statement, [{f"b_{k}": v for k, v in p.items()} for p in updates])
        for row in rows:
            row.new = False

    def _params(self, row: _Row) -> dict[str, Any]:
        ext = self.external_id_field
        key = None if ext is None else row.data.get(ext)
        return {
            "id": row.id,
            "modified_at": row.modified_at,
            "deleted": row.deleted,
            "external_id": None if key is None else str(key),
            "data": json.dumps(row.data, sort_keys=True, ensure_ascii=False),
        }

    @contextmanager
    def _db(self, action: str) -> Iterator[Connection]:
        """A transaction; driver errors become Conveyor's errors, the URL shown redacted."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.DBAPIError as exc:
            raise translate_error(exc, self.engine.url, f"{action} the reference store") from None


def _table(entity: str, dialect: str) -> sa.Table:
    name = f"reference_{entity}"
    stamp: sa.types.TypeEngine[dt.datetime] = (
        UtcDateTimeText() if dialect == "sqlite" else sa.DateTime(timezone=True)
    )
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", _ID_TYPE, primary_key=True),
        sa.Column("modified_at", stamp, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("external_id", _ID_TYPE),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Index(f"{name}_modified", "modified_at", "id"),
        sa.Index(f"{name}_external", "external_id"),
    )


def _row(r: sa.Row[Any]) -> _Row:
    return _Row(str(r.id), json.loads(r.data), False, bool(r.deleted), as_utc(r.modified_at))


def _new_id() -> str:
    """An 18-character id, like Salesforce's: 'R' and 17 hex digits."""
    return "R" + uuid.uuid4().hex[:17]
