"""Salesforce's write rules for one record, shared by REST, sObject Collections and Bulk API 2.0.

Each call checks what Salesforce checks (unknown or read-only fields, value types, lengths,
restricted picklists, required fields, id shapes, references, unique values, parents named by
external id) and answers an :class:`Outcome` instead of raising, because every API reports record
failures differently. CSV payloads follow Bulk rules: an empty value leaves the field unchanged and
only ``#N/A`` sets null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, NoReturn, Protocol

from conveyor.testing.fakes.salesforce.api_errors import ApiError, RecordError
from conveyor.testing.fakes.salesforce.describe import FieldSpec, ObjectSchema
from conveyor.testing.fakes.salesforce.ids import normalize_id
from conveyor.testing.fakes.salesforce.store import Org, Record
from conveyor.testing.fakes.salesforce.values import (
    TEXT_TYPES,
    Stored,
    from_csv,
    from_json,
    to_json,
)

__all__ = [
    "Dml",
    "Outcome",
    "RecordRules",
    "Typed",
    "batch_outcome",
    "duplicate_external_id",
    "render",
]

Typed = Literal["json", "csv"]


class RecordRules(Protocol):
    """Per-record failures injected by tests (see :mod:`.faults`)."""

    def check(
        self, obj: str, operation: str, record: Callable[[], Mapping[str, object]]
    ) -> RecordError | None: ...


@dataclass(frozen=True)
class Outcome:
    """One record's result: its id and whether it was created, or why it was refused."""

    id: str | None = None
    created: bool = False
    error: RecordError | None = None


class _Refused(Exception):
    def __init__(self, error: RecordError) -> None:
        super().__init__(error.message)
        self.error = error


def _refuse(code: str, message: str, fields: tuple[str, ...] = ()) -> NoReturn:
    raise _Refused(RecordError(code, message, fields))


def render(obj: ObjectSchema, record: Mapping[str, object]) -> dict[str, object]:
    """A stored record as REST JSON values (what rules and tests see)."""
    out: dict[str, object] = {}
    for name, value in record.items():
        spec = obj.field(name)
        out[name] = to_json(spec, value) if spec is not None else value
    return out


class Dml:
    """Create, update, upsert and delete single records with Salesforce's checks."""

    def __init__(self, org: Org, rules: RecordRules) -> None:
        self.org = org
        self.rules = rules

    def create(self, obj: ObjectSchema, payload: Mapping[str, object], typed: Typed) -> Outcome:
        try:
            if any(k.lower() == "id" and v not in (None, "") for k, v in payload.items()):
                _refuse("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call")
            values = self._values(obj, payload, typed, creating=True)
            missing = [name for name in obj.required_fields if values.get(name) is None]
            if missing:
                joined = ", ".join(missing)
                _refuse(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{joined}]",
                    (*missing,),
                )
            self._check_unique(obj, values, None)
            self._check_rules(obj, "insert", values)
            return Outcome(self.org.insert(obj, values), created=True)
        except _Refused as refused:
            return Outcome(error=refused.error)

    def update(
        self,
        obj: ObjectSchema,
        raw_id: object,
        payload: Mapping[str, object],
        typed: Typed,
        id_label: str = "Record ID",
    ) -> Outcome:
        try:
            record_id = self._existing(obj, raw_id, id_label)
            body = {k: v for k, v in payload.items() if k.lower() != "id"}
            values = self._values(obj, body, typed, creating=False)
            cleared = [n for n, v in values.items() if v is None and _spec(obj, n).required]
            if cleared:
                _refuse(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(cleared)}]",
                    (*cleared,),
                )
            self._check_unique(obj, values, record_id)
            current = self.org.get(obj, record_id) or {}
            self._check_rules(obj, "update", {**current, **values})
            self.org.update(obj, record_id, values)
            return Outcome(record_id)
        except _Refused as refused:
            return Outcome(error=refused.error)

    def upsert(
        self,
        obj: ObjectSchema,
        key: FieldSpec,
        raw_key: object,
        payload: Mapping[str, object],
        typed: Typed,
    ) -> Outcome:
        """Match on ``key`` (ignoring case for text), then update one match or create."""
        body = {k: v for k, v in payload.items() if k.lower() != key.name.lower()}
        if key.name == "Id":
            if raw_key in (None, ""):
                return self.create(obj, body, typed)
            return self.update(obj, raw_key, body, typed)
        try:
            value = self._coerce(key, raw_key, typed)
        except _Refused as refused:
            return Outcome(error=refused.error)
        if value in (None, ""):
            return self.create(obj, body, typed)
        matches = self.org.find(obj, key, value)
        if len(matches) > 1:
            return Outcome(error=duplicate_external_id(key, matches))
        if not matches:
            return self.create(obj, {**body, key.name: raw_key}, typed)
        return self.update(obj, matches[0], body, typed)

    def delete(
        self, obj: ObjectSchema, raw_id: object, hard: bool = False, id_label: str = "Record ID"
    ) -> Outcome:
        try:
            record_id = self._existing(obj, raw_id, id_label, allow_deleted=hard)
            record = self.org.get(obj, record_id) or {}
            self._check_rules(obj, "delete", record)
            if hard:
                self.org.purge(obj, record_id)
            else:
                self.org.soft_delete(obj, record_id)
            return Outcome(record_id)
        except _Refused as refused:
            return Outcome(error=refused.error)

    def matches(self, obj: ObjectSchema, key: FieldSpec, raw: object) -> list[str]:
        """Ids of the live records an upsert on ``key`` = ``raw`` would match."""
        try:
            value = self._coerce(key, raw, "csv" if isinstance(raw, str) else "json")
        except _Refused:
            return []
        return self.org.find(obj, key, value) if value not in (None, "") else []

    def upsert_key(self, obj: ObjectSchema, name: str) -> FieldSpec:
        """The field an upsert matches on, or the request-level error Salesforce gives."""
        spec = obj.field(name)
        if spec is None:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {name}",
            )
        if spec.name != "Id" and not spec.upsert_key:
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"Field name provided, {spec.name} is not an External ID or indexed field "
                f"for {obj.name}",
            )
        return spec

    # -- checks -------------------------------------------------------------------------------

    def _existing(
        self, obj: ObjectSchema, raw_id: object, label: str, allow_deleted: bool = False
    ) -> str:
        record_id = normalize_id(raw_id)
        if record_id is None or not record_id.startswith(obj.key_prefix):
            _refuse("MALFORMED_ID", f"{label}: id value of incorrect type: {raw_id}", ("Id",))
        record = self.org.get(obj, record_id)
        if record is None:
            _refuse("NOT_FOUND", "The requested resource does not exist")
        if record.get("IsDeleted") and not allow_deleted:
            _refuse("ENTITY_IS_DELETED", "entity is deleted")
        return record_id

    def _values(
        self, obj: ObjectSchema, payload: Mapping[str, object], typed: Typed, creating: bool
    ) -> Record:
        values: Record = {}
        for key, raw in payload.items():
            if key == "attributes" or (typed == "csv" and raw == ""):
                continue
            if typed == "csv" and raw == "#N/A":
                raw = None
            if "." in key or isinstance(raw, dict):
                ref, parent_id = self._parent(obj, key, raw, typed, creating)
                values[ref.name] = parent_id
                continue
            spec = obj.field(key)
            if spec is None:
                _refuse("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
            if spec.name == "Id":
                continue
            self._check_writable(spec, creating)
            values[spec.name] = self._check_value(spec, self._coerce(spec, raw, typed))
        return values

    def _check_writable(self, spec: FieldSpec, creating: bool) -> None:
        if not spec.flag("createable" if creating else "updateable"):
            _refuse(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {spec.name}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                (spec.name,),
            )

    def _coerce(self, spec: FieldSpec, raw: object, typed: Typed) -> Stored:
        if raw is None and spec.type == "boolean":
            return False
        try:
            if typed == "csv" and isinstance(raw, str):
                return from_csv(spec, raw)
            return from_json(spec, raw)
        except ValueError as exc:
            _refuse("INVALID_TYPE_ON_FIELD_IN_RECORD", str(exc), (spec.name,))

    def _check_value(self, spec: FieldSpec, value: Stored) -> Stored:
        if value is None:
            return None
        if isinstance(value, str) and spec.type in TEXT_TYPES:
            if spec.type not in ("id", "reference") and spec.length and len(value) > spec.length:
                _refuse(
                    "STRING_TOO_LONG",
                    f"{spec.label}: data value too large: {value} (max length={spec.length})",
                    (spec.name,),
                )
            if spec.flag("restrictedPicklist") and value not in spec.picklist:
                _refuse(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{spec.label}: bad value for restricted picklist field: {value}",
                    (spec.name,),
                )
        if spec.type == "reference":
            return self._check_reference(spec, value)
        return value

    def _check_reference(self, spec: FieldSpec, value: Stored) -> str:
        record_id = normalize_id(value)
        if record_id is None:
            _refuse(
                "MALFORMED_ID", f"{spec.label}: id value of incorrect type: {value}", (spec.name,)
            )
        targets = [t for t in (self.org.schema.get(n) for n in spec.reference_to) if t]
        if not targets:
            return record_id
        target = next((t for t in targets if record_id.startswith(t.key_prefix)), None)
        parent = self.org.get(target, record_id) if target else None
        if parent is None or parent.get("IsDeleted"):
            _refuse("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        return record_id

    def _parent(
        self, obj: ObjectSchema, key: str, raw: object, typed: Typed, creating: bool
    ) -> tuple[FieldSpec, str | None]:
        """A parent named by external id: ``Account.Ext__c`` (CSV) or ``{"Account":
        {"Ext__c": ...}}`` (JSON)."""
        if isinstance(raw, dict):
            entries = [(str(k), v) for k, v in raw.items() if k != "attributes"]
            relation = key
            ext_name, value = entries[0] if len(entries) == 1 else ("", None)
        else:
            relation, _, ext_name = key.partition(".")
            value = raw
        ref = obj.relationship(relation)
        parent = self.org.schema.get(ref.reference_to[0]) if ref and ref.reference_to else None
        if ref is None or parent is None:
            _refuse("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
        self._check_writable(ref, creating)
        ext = parent.field(ext_name)
        if ext is None or not ext.upsert_key:
            _refuse(
                "INVALID_FIELD",
                f"Field name provided, {ext_name} is not an External ID or indexed field "
                f"for {parent.name}",
            )
        if value is None:
            return ref, None
        matches = self.org.find(parent, ext, self._coerce(ext, value, typed))
        if not matches:
            _refuse(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} not found for field {ext.name} in entity "
                f"{parent.name}",
            )
        if len(matches) > 1:
            raise _Refused(duplicate_external_id(ext, matches))
        return ref, matches[0]

    def _check_unique(self, obj: ObjectSchema, values: Record, own_id: str | None) -> None:
        for name, value in values.items():
            spec = _spec(obj, name)
            if value is None or not spec.flag("unique"):
                continue
            others = [i for i in self.org.find(obj, spec, value) if i != own_id]
            if others:
                _refuse(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {spec.name} duplicates value on record with id: "
                    f"{others[0]}",
                )

    def _check_rules(self, obj: ObjectSchema, operation: str, record: Record) -> None:
        error = self.rules.check(obj.name, operation, lambda: render(obj, record))
        if error is not None:
            raise _Refused(error)


def duplicate_external_id(key: FieldSpec, matches: list[str]) -> RecordError:
    return RecordError(
        "DUPLICATE_EXTERNAL_ID",
        f"{key.name}: more than one record found for external id field: [{', '.join(matches)}]",
        (key.name,),
    )


def _spec(obj: ObjectSchema, name: str) -> FieldSpec:
    spec = obj.field(name)
    assert spec is not None, name
    return spec


_MISSING_IN_BATCH = RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")


def batch_outcome(outcome: Outcome) -> Outcome:
    """How Collections and Bulk report an id that matches no record (REST answers 404)."""
    if outcome.error is not None and outcome.error.code == "NOT_FOUND":
        return Outcome(error=_MISSING_IN_BATCH)
    return outcome
