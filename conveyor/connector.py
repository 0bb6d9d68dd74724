"""The connector contract: what the sync engine asks of a remote system, and the plugin registry.

A connector talks to one system (Salesforce, Jira, ServiceNow, SAP, or the reference connector
in ``conveyor.testing``). The engine only ever sees the types below, so every connector behaves
the same to it:

- ``describe(entity)`` names the entity's id field, its modification-time field and its fields
  (type, writable, external id).
- ``read_changes(entity, since, fields)`` yields batches of records modified at or after
  ``since`` in (modified_at, id) order; ``since=None`` reads everything. Deleted records come
  back with ``deleted=True`` when the connector declares ``delete_detection="tombstones"``.
- ``write(entity, requests, external_id_field)`` creates or updates records and returns one
  result per request, in order: the record as the remote now holds it, or the row's
  :class:`RecordError`. A create is an upsert on ``external_id_field``, so sending the same
  request twice gives one record.
- ``delete(entity, ids)`` and ``scan_ids(entity)`` (every live id, for key-scan delete detection).

A connector may also hold ``api_usage``: ``(used, limit)`` of the remote's daily API allowance
as the remote last reported it (Salesforce's ``Sforce-Limit-Info``), or None; the engine puts it
in the run's counts as ``api_used`` and ``api_limit``.

Failures use the one vocabulary of :mod:`conveyor.errors`: ``TransientError`` (the call may be
retried; :mod:`conveyor.retry` does it, honouring Retry-After), ``RecordError`` (this record is
refused; it is parked with the reason), ``ConfigError`` (stop and fix the job or the
credentials). Connectors are registered under the entry-point group ``conveyor.connectors``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from conveyor.errors import ConfigError, RecordError

__all__ = [
    "ENTRY_POINT_GROUP",
    "Capabilities",
    "ChangeBatch",
    "Connector",
    "ConnectorFactory",
    "DeleteDetection",
    "EntityInfo",
    "FieldInfo",
    "RemoteFieldType",
    "RemoteRecord",
    "WriteRequest",
    "WriteResult",
    "connector_factory",
    "known_connectors",
]

ENTRY_POINT_GROUP = "conveyor.connectors"

RemoteFieldType = Literal[
    "string", "integer", "decimal", "boolean", "date", "datetime", "reference", "json"
]
#: How a connector learns that a remote record was deleted.
DeleteDetection = Literal["tombstones", "key_scan", "none"]


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: RemoteFieldType = "string"
    writable: bool = True
    required: bool = False
    external_id: bool = False  # can hold our key, so creates are idempotent


@dataclass(frozen=True)
class EntityInfo:
    name: str
    id_field: str  # the remote's own record id
    modified_field: str | None  # the field read_changes orders and filters on
    fields: Mapping[str, FieldInfo]
    deletable: bool = True  # False: the remote refuses deletes of this entity

    def unknown(self, names: Sequence[str]) -> list[str]:
        """The names that are not fields of this entity."""
        return [n for n in names if n not in self.fields]

    def read_only(self, names: Sequence[str]) -> list[str]:
        return [n for n in names if n in self.fields and not self.fields[n].writable]


@dataclass(frozen=True)
class Capabilities:
    read: bool = True
    write: bool = True
    delete: bool = True
    bulk: bool = False  # has a bulk path for large writes and reads
    page_size: int = 200  # records per read call
    batch_size: int = 200  # records per write call
    #: with ``bulk``: up to this many records in one write call when that much work waits (the
    #: connector picks its bulk path for large calls and splits small ones itself)
    bulk_batch_size: int = 0
    delete_detection: DeleteDetection = "key_scan"
    incremental: bool = True  # read_changes honours ``since``
    filter: bool = False  # read_changes takes a ``where`` in the remote's query language


@dataclass(frozen=True)
class RemoteRecord:
    id: str
    values: Mapping[str, Any]
    modified_at: dt.datetime | None = None  # aware, UTC
    deleted: bool = False
    #: the remote's version of the record (an OData ETag), when it has one: the engine keeps
    #: it in the link and sends it back with the next update (:attr:`WriteRequest.version`)
    version: str | None = None


@dataclass(frozen=True)
class ChangeBatch:
    records: Sequence[RemoteRecord]


@dataclass(frozen=True)
class WriteRequest:
    ref: str  # our local key as text; also the value written to the external-id field
    values: Mapping[str, Any]
    remote_id: str | None = None  # None: create (an upsert on the external-id field)
    #: the record's version as last read or written (an update only): a remote that checks
    #: versions refuses the write with :class:`~conveyor.errors.StaleRecordError` if the
    #: record changed since
    version: str | None = None


@dataclass(frozen=True)
class WriteResult:
    ref: str
    #: what the remote holds after the write (at least the fields written; a field not in
    #: ``values`` is unchanged); None on error
    record: RemoteRecord | None
    error: RecordError | None = None
    #: with a :class:`~conveyor.errors.StaleRecordError`: the record as the remote holds it
    #: now, when the connector could read it (the engine then decides again, by the job's
    #: conflict policy, in the same run)
    current: RemoteRecord | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class Connector(Protocol):
    """One open connection to a remote system. ``calls`` counts the remote calls made."""

    name: ClassVar[str]
    capabilities: Capabilities
    calls: int

    def check(self) -> None:
        """Raise ConfigError (bad credentials, no access) or TransientError; else return."""

    def describe(self, entity: str) -> EntityInfo: ...

    def read_changes(
        self,
        entity: str,
        since: dt.datetime | None,
        fields: Sequence[str],
        where: str | None = None,
    ) -> Iterator[ChangeBatch]:
        """``where``: the job's remote filter, in the remote's query language; only given to
        connectors whose capabilities say ``filter``."""
        ...

    def write(
        self, entity: str, requests: Sequence[WriteRequest], external_id_field: str
    ) -> list[WriteResult]: ...

    def delete(self, entity: str, ids: Sequence[str]) -> list[WriteResult]: ...

    def scan_ids(self, entity: str) -> Iterator[Sequence[str]]: ...

    def close(self) -> None: ...


#: Builds a connector from its connection settings (secrets already resolved, as SecretStr
#: values where the connector's settings model says so).
ConnectorFactory = Callable[[Mapping[str, Any]], Connector]


def known_connectors() -> list[str]:
    """The registered connector names, sorted (nothing is imported)."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def connector_factory(name: str) -> ConnectorFactory:
    """The factory registered as ``name``; an unknown name lists the known ones."""
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        loaded: ConnectorFactory = ep.load()
        return loaded
    known = ", ".join(known_connectors()) or "none"
    raise ConfigError(
        f"unknown connector {name!r}; known connectors: {known} "
        f"(plugins register under the entry-point group {ENTRY_POINT_GROUP!r})"
    )
