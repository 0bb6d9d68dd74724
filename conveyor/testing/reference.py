"""The reference connector: a remote system that keeps its records in a database table.

It lets the sync engine be proved before the real connectors land, from tests, the CLI (in
subprocesses: the store is a database, so every process sees the same records) and the
benchmark. It behaves like a remote API: ids it makes up, a modification time per record,
keyset paging on ``(modified_at, id)``, versions (an update sent with an older version is
refused as stale, as an ETag would be), write batches with per-row errors, upserts on an
external-id field, tombstones or key scans for deletes, a count of calls, and faults on demand.

- :class:`ReferenceStore` (in :mod:`conveyor.testing.reference_store`) is the remote's database,
  one table ``reference_<entity>`` per entity. Its ``create``/``update``/``remove``/``get``/``all``
  act as another user of the remote would: they change ``modified_at`` but are not connector
  calls.
- :class:`ReferenceConnector` is the API in front of it (registered as ``reference``). Its
  ``clock`` can be replaced (``connector.clock = lambda: moment``) so tests make ties on
  purpose; stores from ``connector.store(entity)`` share it. ``faults`` (a
  :class:`~conveyor.testing.reference_faults.Faults`) injects failures.
- The settings (:class:`ReferenceSettings`) live in :mod:`conveyor.testing.reference_settings`.

This module is the entry point (``conveyor.testing.reference:from_settings``) and re-exports the
public names of the other three, so callers import everything from here.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from pydantic import ValidationError
from sqlalchemy.engine import URL, Engine

from conveyor.connector import (
    Capabilities,
    ChangeBatch,
    EntityInfo,
    FieldInfo,
    RemoteRecord,
    WriteRequest,
    WriteResult,
)
from conveyor.errors import ConfigError, ConveyorError, RecordError
from conveyor.load.urls import create_engine, parse_url, redact
from conveyor.testing.reference_faults import FaultOp, Faults
from conveyor.testing.reference_settings import (
    ID_FIELD,
    MODIFIED_FIELD,
    EntitySettings,
    ReferenceSettings,
    settings_error,
)
from conveyor.testing.reference_store import Clock, ReferenceStore, as_utc, utcnow

__all__ = [
    "ID_FIELD",
    "MODIFIED_FIELD",
    "Clock",
    "EntitySettings",
    "FaultOp",
    "Faults",
    "ReferenceConnector",
    "ReferenceSettings",
    "ReferenceStore",
    "from_settings",
]


class ReferenceConnector:
    """The reference remote's API: paging, batching, counting and faults over its stores."""

    name: ClassVar[str] = "reference"

    def __init__(self, settings: ReferenceSettings) -> None:
        self.settings = settings
        self.capabilities = Capabilities(
            bulk=False,
            page_size=settings.page_size,
            batch_size=settings.batch_size,
            delete_detection=settings.delete_detection,
        )
        self.calls = 0
        self.clock: Clock = utcnow
        self.faults = Faults(settings.fail_rate, settings.seed)
        self.sleep: Callable[[float], None] = time.sleep
        self._url: URL = parse_url(settings.url.get_secret_value())
        self._engine: Engine | None = None
        self._stores: dict[str, ReferenceStore] = {}

    def store(self, entity: str) -> ReferenceStore:
        """The entity's store, for acting as a remote user (sharing this connector's clock)."""
        if entity not in self.settings.entities:
            known = ", ".join(self.settings.entities)
            raise ConfigError(f"unknown entity {entity!r} of the reference connector: {known}")
        if entity not in self._stores:
            spec = self.settings.entities[entity]
            if self._engine is None:
                self._engine = create_engine(self._url, check=False)
            self._stores[entity] = ReferenceStore(
                self._engine,
                entity,
                spec.fields,
                external_id_field=spec.external_id_field,
                delete_detection=self.settings.delete_detection,
                clock=lambda: self.clock(),
            )
        return self._stores[entity]

    def check(self) -> None:
        self._call("check")
        try:
            for entity in self.settings.entities:
                self.store(entity).ping()
        except ConveyorError as exc:
            raise ConfigError(f"the reference store cannot be reached: {exc}") from None

    def describe(self, entity: str) -> EntityInfo:
        self._call("describe")
        spec = self._entity(entity)
        return EntityInfo(
            name=entity,
            id_field=ID_FIELD,
            modified_field=MODIFIED_FIELD,
            fields={
                n: FieldInfo(n, t, external_id=n == spec.external_id_field)
                for n, t in spec.fields.items()
            },
        )

    def read_changes(
        self,
        entity: str,
        since: dt.datetime | None,
        fields: Sequence[str],
        where: str | None = None,
    ) -> Iterator[ChangeBatch]:
        if where is not None:
            raise ConfigError("the reference connector has no query language to filter with")
        spec = self._entity(entity)
        unknown = [n for n in fields if n not in spec.fields]
        if unknown:
            raise ConfigError(
                f"unknown field(s) {', '.join(map(repr, unknown))} of {entity}; "
                f"its fields: {', '.join(spec.fields)}"
            )
        wanted = list(dict.fromkeys([*fields, *filter(None, [spec.external_id_field])]))
        return self._pages(self.store(entity), None if since is None else as_utc(since), wanted)

    def write(
        self, entity: str, requests: Sequence[WriteRequest], external_id_field: str
    ) -> list[WriteResult]:
        declared = self._entity(entity).external_id_field
        if external_id_field != declared:
            raise ConfigError(
                f"{external_id_field!r} is not the external-id field of {entity} "
                f"(declared: {declared or 'none; set external_id_field in its settings'})"
            )
        store = self.store(entity)
        results: list[WriteResult] = []
        for chunk in _chunks(requests, self.capabilities.batch_size):
            refused = self._call("write")
            if refused is not None:
                results += [WriteResult(r.ref, None, refused) for r in chunk]
            else:
                results += store.write_batch(chunk, self.faults.rejections)
        return results

    def delete(self, entity: str, ids: Sequence[str]) -> list[WriteResult]:
        store = self.store(entity)
        results: list[WriteResult] = []
        for chunk in _chunks(ids, self.capabilities.batch_size):
            refused = self._call("delete")
            if refused is not None:
                results += [WriteResult(i, None, refused) for i in chunk]
            else:
                results += store.delete_batch(chunk)
        return results

    def scan_ids(self, entity: str) -> Iterator[Sequence[str]]:
        store = self.store(entity)
        return self._id_pages(store)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._stores.clear()

    def __repr__(self) -> str:
        return f"ReferenceConnector({redact(self._url)}, entities={list(self.settings.entities)})"

    def _pages(
        self, store: ReferenceStore, since: dt.datetime | None, fields: Sequence[str]
    ) -> Iterator[ChangeBatch]:
        after: tuple[dt.datetime, str] | None = None
        size = self.capabilities.page_size
        while True:
            self._call("read")
            records = store.page(since, after, size)
            if records:
                yield ChangeBatch([_only(r, fields) for r in records])
            if len(records) < size:
                return
            last = records[-1]
            assert last.modified_at is not None  # the store always sets it
            after = (last.modified_at, last.id)

    def _id_pages(self, store: ReferenceStore) -> Iterator[Sequence[str]]:
        after: str | None = None
        size = self.capabilities.page_size
        while True:
            self._call("scan")
            ids = store.id_page(after, size)
            if ids:
                yield ids
            if len(ids) < size:
                return
            after = ids[-1]

    def _call(self, op: FaultOp) -> RecordError | None:
        """One remote call: counted, slowed by ``latency_ms``, failed when a fault is due."""
        self.calls += 1
        if self.settings.latency_ms:
            self.sleep(self.settings.latency_ms / 1000)
        return self.faults.trip(op)

    def _entity(self, entity: str) -> EntitySettings:
        spec = self.settings.entities.get(entity)
        if spec is None:
            known = ", ".join(self.settings.entities)
            raise ConfigError(f"unknown entity {entity!r} of the reference connector: {known}")
        return spec


def _only(record: RemoteRecord, fields: Sequence[str]) -> RemoteRecord:
    return replace(record, values={n: record.values.get(n) for n in fields})


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def from_settings(settings: Mapping[str, Any]) -> ReferenceConnector:
    """The connector for ``settings`` (see :class:`ReferenceSettings`); ConfigError if invalid.

    Nothing is connected yet: ``check()`` does that.
    """
    try:
        parsed = ReferenceSettings.model_validate(dict(settings))
    except ValidationError as exc:
        raise settings_error(exc) from None
    return ReferenceConnector(parsed)
