"""sObject Collections: create, update, upsert, delete and retrieve up to 200 records per call.

As on Salesforce the answer is HTTP 200 even when every record failed; a failed item has no
``id`` and its errors use ``statusCode`` (not ``errorCode``); more than 200 records is a 400
EXCEEDED_ID_LIMIT; with ``allOrNone`` a failure rolls the whole call back and every other item
reports ALL_OR_NONE_OPERATION_ROLLED_BACK.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conveyor.testing.fakes.salesforce.api_errors import ApiError, RecordError
from conveyor.testing.fakes.salesforce.describe import ObjectSchema
from conveyor.testing.fakes.salesforce.dml import Dml, Outcome, batch_outcome
from conveyor.testing.fakes.salesforce.ids import normalize_id
from conveyor.testing.fakes.salesforce.routing import Request, Response, Router
from conveyor.testing.fakes.salesforce.store import Org
from conveyor.testing.fakes.salesforce.values import to_json

__all__ = ["MAX_RECORDS", "CompositeApi"]

MAX_RECORDS = 200
_BASE = "/services/data/{version}/composite/sobjects"
_ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
)


class CompositeApi:
    """The sObject Collections resources (callers hold the org's lock)."""

    def __init__(self, org: Org, dml: Dml) -> None:
        self.org = org
        self.dml = dml

    def register(self, router: Router) -> None:
        router.add("POST", _BASE, self.create)
        router.add("PATCH", _BASE, self.update)
        router.add("DELETE", _BASE, self.delete)
        router.add("GET", _BASE + "/{sobject}", self.retrieve)
        router.add("PATCH", _BASE + "/{sobject}/{field}", self.upsert)

    def create(self, request: Request) -> Response:
        records, all_or_none = _records(request)
        ops = [
            self._op(record, lambda obj, r: self.dml.create(obj, r, "json")) for record in records
        ]
        return _answer(self._run(ops, all_or_none), upsert=False)

    def update(self, request: Request) -> Response:
        records, all_or_none = _records(request)

        def update(obj: ObjectSchema, record: Mapping[str, Any]) -> Outcome:
            raw_id = next((v for k, v in record.items() if k.lower() == "id"), None)
            if raw_id in (None, ""):
                return Outcome(error=RecordError("MISSING_ARGUMENT", "Id not specified"))
            return self.dml.update(obj, raw_id, record, "json", id_label=f"{obj.label} ID")

        ops = [self._op(record, update) for record in records]
        return _answer(self._run(ops, all_or_none), upsert=False)

    def upsert(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        key = self.dml.upsert_key(obj, request.params["field"])
        records, all_or_none = _records(request)

        def upsert(target: ObjectSchema, record: Mapping[str, Any]) -> Outcome:
            if target is not obj:
                return Outcome(
                    error=RecordError("INVALID_TYPE", f"records must all be of type {obj.name}")
                )
            raw_key = next((v for k, v in record.items() if k.lower() == key.name.lower()), None)
            return self.dml.upsert(obj, key, raw_key, record, "json")

        ops = [self._op(record, upsert) for record in records]
        return _answer(self._run(ops, all_or_none), upsert=True)

    def delete(self, request: Request) -> Response:
        ids = [i for i in (request.arg("ids") or "").split(",") if i]
        if len(ids) > MAX_RECORDS:
            raise _too_many()
        all_or_none = (request.arg("allOrNone") or "false").lower() == "true"
        ops = [self._delete_op(raw_id) for raw_id in ids]
        return _answer(self._run(ops, all_or_none), upsert=False)

    def retrieve(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        names = [n for n in (request.arg("fields") or "").split(",") if n]
        specs = [obj.field(n) for n in names]
        if not names or None in specs:
            raise ApiError(400, "INVALID_FIELD", f"Unknown or missing fields: {names}")
        answer: list[object] = []
        for raw_id in [i for i in (request.arg("ids") or "").split(",") if i]:
            record_id = normalize_id(raw_id)
            record = self.org.get(obj, record_id) if record_id else None
            if record is None or record.get("IsDeleted"):
                answer.append(None)
                continue
            item: dict[str, object] = {
                "attributes": {
                    "type": obj.name,
                    "url": f"/services/data/v{request.version}/sobjects/{obj.name}/{record_id}",
                }
            }
            item.update({s.name: to_json(s, record.get(s.name)) for s in specs if s is not None})
            answer.append(item)
        return Response.json(200, answer)

    # -- helpers ------------------------------------------------------------------------------

    def _op(
        self,
        record: object,
        action: Callable[[ObjectSchema, Mapping[str, Any]], Outcome],
    ) -> Callable[[], Outcome]:
        def run() -> Outcome:
            if not isinstance(record, dict):
                return Outcome(error=RecordError("JSON_PARSER_ERROR", "records must be objects"))
            attributes = record.get("attributes")
            type_name = attributes.get("type") if isinstance(attributes, dict) else None
            obj = self.org.schema.get(str(type_name)) if type_name else None
            if obj is None:
                return Outcome(
                    error=RecordError(
                        "INVALID_TYPE", f"sObject type '{type_name}' is not supported"
                    )
                )
            return action(obj, record)

        return run

    def _delete_op(self, raw_id: str) -> Callable[[], Outcome]:
        def run() -> Outcome:
            record_id = normalize_id(raw_id)
            obj = self.org.schema.by_prefix(record_id[:3]) if record_id else None
            if obj is None:
                return Outcome(error=RecordError("MALFORMED_ID", f"malformed id {raw_id}"))
            return self.dml.delete(obj, raw_id, id_label=f"{obj.label} ID")

        return run

    def _run(self, ops: list[Callable[[], Outcome]], all_or_none: bool) -> list[Outcome]:
        with self.org.journal() as journal:
            outcomes = [batch_outcome(op()) for op in ops]
            if all_or_none and any(o.error for o in outcomes):
                journal.rollback()
                outcomes = [o if o.error else Outcome(error=_ROLLED_BACK) for o in outcomes]
        return outcomes


def _records(request: Request) -> tuple[list[Any], bool]:
    body = request.json_object()
    records = body.get("records")
    if not isinstance(records, list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body needs a 'records' array")
    if len(records) > MAX_RECORDS:
        raise _too_many()
    return records, bool(body.get("allOrNone", False))


def _too_many() -> ApiError:
    return ApiError(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        (),
    )


def _answer(outcomes: list[Outcome], upsert: bool) -> Response:
    items: list[dict[str, object]] = []
    for outcome in outcomes:
        if outcome.error is not None:
            items.append({"success": False, "errors": [outcome.error.collection_error()]})
            continue
        item: dict[str, object] = {"id": outcome.id, "success": True, "errors": []}
        if upsert:
            item["created"] = outcome.created
        items.append(item)
    return Response.json(200, items)
