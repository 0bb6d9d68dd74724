"""REST API resources of the fake: versions, describe, SOQL query with paging, sObject rows,
upsert by external id, limits.

Query results are snapshots paged through ``nextRecordsUrl``; the link a queryAll returns points
at ``/query/...`` (as on Salesforce) and still yields deleted rows, because the cursor remembers
what it was opened for. Upsert answers 201 ``created: true`` or, from API 46.0, 200 ``created:
false`` (204 before), and 300 with the matching record URLs when the key is not unique.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from conveyor.testing.fakes.salesforce.api_errors import ApiError, not_found
from conveyor.testing.fakes.salesforce.dml import Dml, Outcome
from conveyor.testing.fakes.salesforce.ids import LOCATOR_PREFIX, normalize_id
from conveyor.testing.fakes.salesforce.query import Executor
from conveyor.testing.fakes.salesforce.routing import Request, Response, Router
from conveyor.testing.fakes.salesforce.store import Org
from conveyor.testing.fakes.salesforce.values import to_json

__all__ = ["API_VERSIONS", "RestApi"]

API_VERSIONS = tuple(f"{v}.0" for v in range(31, 67))
_DATA = "/services/data/{version}"
_MAX_CURSORS = 100


@dataclass(frozen=True)
class _Cursor:
    records: list[dict[str, object]]
    page_size: int


class RestApi:
    """The REST resources (callers hold the org's lock while a handler runs)."""

    def __init__(
        self,
        org: Org,
        dml: Dml,
        executor: Executor,
        page_size: Callable[[], int],
        usage: Callable[[], tuple[int, int]],
    ) -> None:
        self.org = org
        self.dml = dml
        self.executor = executor
        self._page_size = page_size
        self._usage = usage
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._cursor_lock = threading.Lock()

    def register(self, router: Router) -> None:
        router.add("GET", "/services/data", self.versions, auth=False)
        router.add("GET", _DATA, self.resources)
        router.add("GET", f"{_DATA}/sobjects", self.global_describe)
        router.add("GET", f"{_DATA}/sobjects/{{sobject}}", self.sobject_info)
        router.add("POST", f"{_DATA}/sobjects/{{sobject}}", self.create)
        router.add("GET", f"{_DATA}/sobjects/{{sobject}}/describe", self.describe)
        router.add("GET", f"{_DATA}/sobjects/{{sobject}}/{{id}}", self.get_record)
        router.add("PATCH", f"{_DATA}/sobjects/{{sobject}}/{{id}}", self.update)
        router.add("DELETE", f"{_DATA}/sobjects/{{sobject}}/{{id}}", self.delete)
        router.add("GET", f"{_DATA}/sobjects/{{sobject}}/{{field}}/{{value}}", self.get_by_key)
        router.add("PATCH", f"{_DATA}/sobjects/{{sobject}}/{{field}}/{{value}}", self.upsert)
        router.add("GET", f"{_DATA}/query", lambda r: self.query(r, include_deleted=False))
        router.add("GET", f"{_DATA}/queryAll", lambda r: self.query(r, include_deleted=True))
        router.add("GET", f"{_DATA}/query/{{locator}}", self.query_more)
        router.add("GET", f"{_DATA}/queryAll/{{locator}}", self.query_more)
        router.add("GET", f"{_DATA}/limits", self.limits)
        router.add("GET", f"{_DATA}/limits/recordCount", self.record_count)

    # -- metadata -----------------------------------------------------------------------------

    def versions(self, request: Request) -> Response:
        return Response.json(
            200,
            [
                {"label": f"API {v}", "url": f"/services/data/v{v}", "version": v}
                for v in API_VERSIONS
            ],
        )

    def resources(self, request: Request) -> Response:
        base = f"/services/data/v{request.version}"
        names = ("sobjects", "query", "queryAll", "composite", "limits", "jobs")
        return Response.json(200, {name: f"{base}/{name}" for name in names})

    def global_describe(self, request: Request) -> Response:
        return Response.json(200, self.org.schema.global_describe(request.version))

    def sobject_info(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        return Response.json(
            200, {"objectDescribe": obj.global_entry(request.version), "recentItems": []}
        )

    def describe(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        return Response.json(200, obj.describe_body(request.version))

    # -- records ------------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        outcome = _raise_for(self.dml.create(obj, request.json_object(), "json"))
        location = f"/services/data/v{request.version}/sobjects/{obj.name}/{outcome.id}"
        return Response.json(
            201, {"id": outcome.id, "success": True, "errors": []}, {"Location": location}
        )

    def get_record(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        record_id = normalize_id(request.params["id"])
        record = self.org.get(obj, record_id) if record_id else None
        if record is None:
            raise ApiError(
                404,
                "NOT_FOUND",
                "Provided external ID field does not exist or is not accessible: "
                + request.params["id"],
            )
        if record.get("IsDeleted"):
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", ())
        return Response.json(200, self._record_json(request, obj.name, record))

    def update(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        _raise_for(self.dml.update(obj, request.params["id"], request.json_object(), "json"))
        return Response.empty()

    def delete(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        _raise_for(self.dml.delete(obj, request.params["id"]))
        return Response.empty()

    def get_by_key(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        key = self.dml.upsert_key(obj, request.params["field"])
        matches = self.dml.matches(obj, key, request.params["value"])
        if len(matches) > 1:
            return self._several(request, obj.name, matches)
        if not matches:
            raise not_found()
        record = self.org.get(obj, matches[0]) or {}
        return Response.json(200, self._record_json(request, obj.name, record))

    def upsert(self, request: Request) -> Response:
        obj = self.org.schema.require(request.params["sobject"])
        key = self.dml.upsert_key(obj, request.params["field"])
        value = request.params["value"]
        matches = self.dml.matches(obj, key, value) if key.name != "Id" else []
        if len(matches) > 1:
            return self._several(request, obj.name, matches)
        outcome = _raise_for(self.dml.upsert(obj, key, value, request.json_object(), "json"))
        body: dict[str, object] = {"id": outcome.id, "success": True, "errors": []}
        if float(request.version) >= 46:
            body["created"] = outcome.created
        elif not outcome.created:
            return Response.empty()
        return Response.json(201 if outcome.created else 200, body)

    def _several(self, request: Request, name: str, ids: list[str]) -> Response:
        urls = [f"/services/data/v{request.version}/sobjects/{name}/{i}" for i in ids]
        return Response.json(300, urls)

    def _record_json(
        self, request: Request, name: str, record: dict[str, object]
    ) -> dict[str, object]:
        obj = self.org.schema.require(name)
        wanted = [f.strip() for f in (request.arg("fields") or "").split(",") if f.strip()]
        out: dict[str, object] = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{request.version}/sobjects/{obj.name}/{record['Id']}",
            }
        }
        for field_name in wanted or [s.name for s in obj.fields.values()]:
            spec = obj.field(field_name)
            if spec is None:
                raise ApiError(
                    400, "INVALID_FIELD", f"No such column '{field_name}' on entity '{obj.name}'"
                )
            if spec.type not in ("address", "location"):
                out[spec.name] = to_json(spec, record.get(spec.name))
        return out

    # -- query --------------------------------------------------------------------------------

    def query(self, request: Request, include_deleted: bool) -> Response:
        text = request.arg("q")
        if text is None:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        result = self.executor.run(text, include_deleted)
        if result.count_only:
            return Response.json(200, {"totalSize": len(result.rows), "done": True, "records": []})
        records = [self.executor.json_record(result, r, request.version) for r in result.rows]
        cursor = _Cursor(records, self._requested_page_size(request))
        locator = self.org.ids.new(LOCATOR_PREFIX)
        with self._cursor_lock:
            self._cursors[locator] = cursor
            while len(self._cursors) > _MAX_CURSORS:
                self._cursors.popitem(last=False)
        return self._page(request, locator, cursor, 0)

    def query_more(self, request: Request) -> Response:
        locator, _, offset = request.params["locator"].rpartition("-")
        with self._cursor_lock:
            cursor = self._cursors.get(locator)
        if cursor is None or not offset.isdigit():
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(request, locator, cursor, int(offset))

    def _page(self, request: Request, locator: str, cursor: _Cursor, offset: int) -> Response:
        end = offset + cursor.page_size
        total = len(cursor.records)
        body: dict[str, object] = {"totalSize": total, "done": end >= total}
        if end < total:
            body["nextRecordsUrl"] = f"/services/data/v{request.version}/query/{locator}-{end}"
        body["records"] = cursor.records[offset:end]
        return Response.json(200, body)

    def _requested_page_size(self, request: Request) -> int:
        options = request.header("Sforce-Query-Options") or ""
        for option in options.split(","):
            name, _, value = option.strip().partition("=")
            if name.lower() == "batchsize" and value.isdigit():
                return max(200, min(2000, int(value)))
        return self._page_size()

    # -- limits -------------------------------------------------------------------------------

    def limits(self, request: Request) -> Response:
        used, limit = self._usage()
        return Response.json(
            200,
            {
                "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
                "DataStorageMB": {"Max": 5, "Remaining": 5},
            },
        )

    def record_count(self, request: Request) -> Response:
        names = [n for n in (request.arg("sObjects") or "").split(",") if n]
        counts = []
        for name in names:
            obj = self.org.schema.get(name)
            count = sum(1 for _ in self.org.rows(obj)) if obj else 0
            if obj is not None and count:
                counts.append({"count": count, "name": obj.name})
        return Response.json(200, {"sObjects": counts})


def _raise_for(outcome: Outcome) -> Outcome:
    if outcome.error is not None:
        raise ApiError.from_record(outcome.error)
    return outcome
