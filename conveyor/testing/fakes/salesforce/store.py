"""The fake org's records: live rows, the recycle bin, system stamps and external-id indexes.

Every write stamps ``LastModifiedDate`` and ``SystemModstamp`` from the org's clock (a delete too,
so incremental readers see it), deleted rows stay queryable through queryAll with
``IsDeleted = true`` until the recycle bin is emptied, and a journal lets sObject Collections with
``allOrNone`` roll a whole request back. Callers hold :attr:`Org.lock` around a request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from conveyor.testing.fakes.salesforce.clock import Clock, stamp, system_clock
from conveyor.testing.fakes.salesforce.describe import FieldSpec, ObjectSchema, Schema
from conveyor.testing.fakes.salesforce.ids import ORG_PREFIX, USER_PREFIX, IdFactory
from conveyor.testing.fakes.salesforce.values import fold

__all__ = ["Journal", "Org", "Record"]

Record = dict[str, object]


@dataclass
class Journal:
    """Undo steps of the writes made while it was open, newest last."""

    undo: list[Callable[[], None]] = field(default_factory=list)

    def rollback(self) -> None:
        for step in reversed(self.undo):
            step()
        self.undo.clear()


class Org:
    """Records by object and id, with the indexes upserts need to stay fast at 100k rows."""

    def __init__(self, schema: Schema, ids: IdFactory, clock: Clock = system_clock) -> None:
        self.schema = schema
        self.ids = ids
        self.clock = clock
        self.lock = threading.RLock()
        self.org_id = ids.new(ORG_PREFIX)
        self.user_id = ids.new(USER_PREFIX)
        self._tables: dict[str, dict[str, Record]] = {}
        self._indexes: dict[tuple[str, str], dict[object, set[str]]] = {}
        self._journal: Journal | None = None

    def now(self) -> datetime:
        return stamp(self.clock)

    def table(self, obj: ObjectSchema) -> dict[str, Record]:
        return self._tables.setdefault(obj.name.lower(), {})

    def get(self, obj: ObjectSchema, record_id: str) -> Record | None:
        return self.table(obj).get(record_id)

    def rows(self, obj: ObjectSchema, include_deleted: bool = False) -> Iterator[Record]:
        for record in self.table(obj).values():
            if include_deleted or not record.get("IsDeleted"):
                yield record

    def find(self, obj: ObjectSchema, spec: FieldSpec, value: object) -> list[str]:
        """Ids of live records whose ``spec`` equals ``value`` (ignoring case for text unless
        the field is case-sensitive), in creation order."""
        # ids are handed out in increasing order, so sorting them restores creation order
        return sorted(self._index(obj, spec).get(fold(spec, value), ()))

    # -- writes -------------------------------------------------------------------------------

    def insert(self, obj: ObjectSchema, values: Record) -> str:
        record_id = self.ids.new(obj.key_prefix)
        now = self.now()
        record: Record = dict(obj.blank_record)
        record.update(values)
        system = {
            "Id": record_id,
            "IsDeleted": False,
            "CreatedDate": now,
            "CreatedById": self.user_id,
            "LastModifiedDate": now,
            "LastModifiedById": self.user_id,
            "SystemModstamp": now,
        }
        record.update({k: v for k, v in system.items() if obj.field(k) is not None})
        if obj.field("OwnerId") is not None and not record.get("OwnerId"):
            record["OwnerId"] = self.user_id
        _derive(obj, record)
        self._put(obj, record)
        self._remember(lambda: self._drop(obj, record_id))
        return record_id

    def update(self, obj: ObjectSchema, record_id: str, values: Record) -> None:
        old = self.table(obj)[record_id]
        new = dict(old)
        new.update(values)
        self._touch(obj, new)
        _derive(obj, new)
        self._replace(obj, old, new)

    def soft_delete(self, obj: ObjectSchema, record_id: str) -> None:
        old = self.table(obj)[record_id]
        new = dict(old, IsDeleted=True)
        self._touch(obj, new)
        self._replace(obj, old, new)

    def undelete(self, obj: ObjectSchema, record_id: str) -> None:
        old = self.table(obj)[record_id]
        new = dict(old, IsDeleted=False)
        self._touch(obj, new)
        self._replace(obj, old, new)

    def purge(self, obj: ObjectSchema, record_id: str) -> None:
        old = self.table(obj)[record_id]
        self._drop(obj, record_id)
        self._remember(lambda: self._put(obj, old))

    @contextmanager
    def journal(self) -> Iterator[Journal]:
        """Record undo steps for the writes inside, so the caller can roll them back."""
        outer, self._journal = self._journal, Journal()
        try:
            yield self._journal
        finally:
            inner, self._journal = self._journal, outer
            if outer is not None:
                outer.undo.extend(inner.undo)

    # -- internals ----------------------------------------------------------------------------

    def _touch(self, obj: ObjectSchema, record: Record) -> None:
        now = self.now()
        for name in ("LastModifiedDate", "SystemModstamp"):
            if obj.field(name) is not None:
                record[name] = now
        if obj.field("LastModifiedById") is not None:
            record["LastModifiedById"] = self.user_id

    def _replace(self, obj: ObjectSchema, old: Record, new: Record) -> None:
        self._put(obj, new)
        self._remember(lambda: self._put(obj, old))

    def _remember(self, step: Callable[[], None]) -> None:
        if self._journal is not None:
            self._journal.undo.append(step)

    def _index(self, obj: ObjectSchema, spec: FieldSpec) -> dict[object, set[str]]:
        key = (obj.name.lower(), spec.name)
        if key not in self._indexes:
            index: dict[object, set[str]] = {}
            for record in self.rows(obj):
                if record.get(spec.name) is not None:
                    index.setdefault(fold(spec, record[spec.name]), set()).add(str(record["Id"]))
            self._indexes[key] = index
        return self._indexes[key]

    def _put(self, obj: ObjectSchema, record: Record) -> None:
        record_id = str(record["Id"])
        table = self.table(obj)
        self._unindex(obj, table.get(record_id))
        table[record_id] = record
        if not record.get("IsDeleted"):
            for (name, field_name), index in self._indexes.items():
                value = record.get(field_name)
                if name == obj.name.lower() and value is not None:
                    spec = obj.field(field_name)
                    assert spec is not None
                    index.setdefault(fold(spec, value), set()).add(record_id)

    def _drop(self, obj: ObjectSchema, record_id: str) -> None:
        self._unindex(obj, self.table(obj).pop(record_id, None))

    def _unindex(self, obj: ObjectSchema, record: Record | None) -> None:
        if record is None:
            return
        for (name, field_name), index in self._indexes.items():
            value = record.get(field_name)
            spec = obj.field(field_name)
            if name == obj.name.lower() and value is not None and spec is not None:
                index.get(fold(spec, value), set()).discard(str(record["Id"]))


def _derive(obj: ObjectSchema, record: Record) -> None:
    """Compound name fields Salesforce computes (Contact and Lead ``Name``)."""
    if obj.name in ("Contact", "Lead") and "LastName" in record:
        parts = [record.get("FirstName"), record.get("LastName")]
        record["Name"] = " ".join(str(p) for p in parts if p) or None
