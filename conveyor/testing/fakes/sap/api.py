"""The service's resources: service document, ``$metadata``, and ``A_BusinessPartner`` read,
counted, created and changed as SAP Gateway answers them.

- ``GET A_BusinessPartner``: see :mod:`~conveyor.testing.fakes.sap.query` (paging, ``__next``).
  ``$expand`` is refused: the fake's type has no navigation properties.
- ``GET A_BusinessPartner('1000001')``: the entity with its ``ETag`` header (the same value as
  ``__metadata.etag``, which pyodata checks); ``.../FirstName`` reads one property.
- ``POST A_BusinessPartner``: 201 with ``Location``, ``ETag`` and the new entity.
- ``MERGE``/``PATCH`` (partial) and ``PUT`` (full) on an entity: 204 with the new ``ETag``.
  ``If-Match`` is compared weakly with the current ETag (``*`` matches any): a stale one is 412;
  a missing one is accepted, or 428 while ``faults.require_if_match`` is on.
- ``DELETE`` on an entity: by default the set is ``sap:deletable="false"``, so 405 with SAP's
  "Deleting operations are disabled" message (the status is the fake's decision; SAP documents
  only the annotation). With ``FakeSap(deletable=True)`` (a custom CDS/YY1 service whose set is
  ``sap:deletable="true"``) it removes the entity and answers 204 without a body; ``If-Match``
  is checked as for MERGE, an unknown key is 404, and planned refusals see the partner as it
  stands.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from conveyor.testing.fakes.salesforce.routing import Request, Response
from conveyor.testing.fakes.sap.errors import ODataError, bad_request, not_found
from conveyor.testing.fakes.sap.faults import Faults
from conveyor.testing.fakes.sap.metadata import (
    metadata_xml,
    service_document_json,
    service_document_xml,
)
from conveyor.testing.fakes.sap.query import (
    QueryOptions,
    Row,
    cut,
    next_link,
    ordered_rows,
    run_query,
    select_names,
)
from conveyor.testing.fakes.sap.render import (
    ATOM_ENTRY_TYPE,
    ATOM_FEED_TYPE,
    entity_path,
    json_response,
    render_atom_entry,
    render_atom_feed,
    render_entity,
)
from conveyor.testing.fakes.sap.routing import Target
from conveyor.testing.fakes.sap.schema import EntityType
from conveyor.testing.fakes.sap.store import Store, etag_of
from conveyor.testing.fakes.sap.values import to_atom, to_json
from conveyor.testing.fakes.sap.writes import Writer

__all__ = ["Call", "ServiceApi"]

_XML = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class Call:
    """One request as the handlers see it: who sent it, what it targets, how to answer."""

    method: str
    request: Request
    target: Target
    user: str
    service_url: str
    as_json: bool


class ServiceApi:
    """Handlers of the service's resources (callers hold the store's lock)."""

    def __init__(
        self,
        entity: EntityType,
        store: Store,
        writer: Writer,
        faults: Faults,
        page_size: Callable[[], int],
        now: Callable[[], datetime],
    ) -> None:
        self.entity = entity
        self.store = store
        self.writer = writer
        self.faults = faults
        self.page_size = page_size
        self.now = now
        self._queries: dict[tuple[int, str | None, str | None], list[Row]] = {}

    def handle(self, call: Call) -> Response:
        template = call.target.template
        method = "GET" if call.method == "HEAD" else call.method
        if template == "/":
            return self._service_document(call)
        if template == "/$metadata":
            body = metadata_xml(self.entity, call.service_url).encode("utf-8")
            return Response(200, body, {"Content-Type": _XML, "dataserviceversion": "2.0"})
        if template.endswith("/$count"):
            return self._count(call)
        if template == f"/{self.entity.set_name}":
            return self._list(call) if method == "GET" else self._create(call)
        if template.endswith("/{property}"):
            return self._property(call)
        if method == "GET":
            return self._read(call)
        if method == "DELETE":
            return self._delete(call)
        return self._update(call, replace=method == "PUT")

    # -- reads --------------------------------------------------------------------------------

    def _service_document(self, call: Call) -> Response:
        if call.as_json:
            return json_response(200, service_document_json(self.entity))
        body = service_document_xml(self.entity, call.service_url).encode("utf-8")
        return Response(200, body, {"Content-Type": "application/atomsvc+xml; charset=utf-8"})

    def _list(self, call: Call) -> Response:
        request = call.request
        if request.arg("$expand"):
            raise bad_request(
                f"Property '{request.arg('$expand')}' not found in type '{self.entity.name}'"
            )
        options = QueryOptions.of(request.query)
        select = select_names(options.select, self.entity)
        page = cut(
            self._selected(options),
            options,
            self.page_size(),
            empty_page=self.faults.take_empty_page(),
        )
        base = f"{call.service_url}/{self.entity.set_name}"
        next_url = (
            None if page.next_token is None else next_link(base, request.query, page.next_token)
        )
        if not call.as_json:
            feed = render_atom_feed(
                self.entity, page.rows, call.service_url, select, self.now(), page.count, next_url
            )
            return Response(200, feed.encode("utf-8"), {"Content-Type": ATOM_FEED_TYPE})
        payload: dict[str, Any] = {}
        if page.count is not None:
            payload["__count"] = str(page.count)
        payload["results"] = [
            render_entity(self.entity, row, call.service_url, select) for row in page.rows
        ]
        if next_url is not None:
            payload["__next"] = next_url
        return json_response(200, {"d": payload})

    def _selected(self, options: QueryOptions) -> list[Row]:
        """The partners a query keeps, in its order; kept while the store does not change, so
        following ``__next`` through a large result does not filter and sort it per page."""
        key = (self.store.version, options.filter, options.orderby)
        if key not in self._queries:
            if len(self._queries) >= 8:
                self._queries.pop(next(iter(self._queries)))
            self._queries[key] = ordered_rows(self.store.rows(), options, self.entity)
        return self._queries[key]

    def _count(self, call: Call) -> Response:
        options = QueryOptions.of(call.request.query)
        unpaged = QueryOptions(options.filter, None, None, options.top, options.skip)
        page = run_query(self.store.rows(), unpaged, self.entity, 2**31)
        return Response(200, str(len(page.rows)).encode(), {"Content-Type": "text/plain"})

    def _read(self, call: Call) -> Response:
        values = self._existing(call.target.key)
        select = select_names(call.request.arg("$select"), self.entity)
        return self._entity_answer(call, 200, values, select)

    def _property(self, call: Call) -> Response:
        values = self._existing(call.target.key)
        name = call.target.prop or ""
        prop = self.entity.get(name)
        assert prop is not None
        if call.as_json:
            return json_response(200, {"d": {name: to_json(prop, values[name])}})
        text = to_atom(prop, values[name])
        ns = "http://schemas.microsoft.com/ado/2007/08/dataservices"
        element = f'<d:{name} xmlns:d="{ns}">{escape(text or "")}</d:{name}>'
        body = '<?xml version="1.0" encoding="utf-8"?>' + element
        return Response(200, body.encode("utf-8"), {"Content-Type": _XML})

    # -- writes -------------------------------------------------------------------------------

    def _create(self, call: Call) -> Response:
        values = self.writer.create(_body(call.request), call.user)
        location = f"{call.service_url}/{entity_path(self.entity, values[self.entity.key])}"
        return self._entity_answer(call, 201, values, None, {"Location": location})

    def _update(self, call: Call, *, replace: bool) -> Response:
        key = call.target.key or ""
        self._check_if_match(call, self._existing(key))
        values = self.writer.update(key, _body(call.request), call.user, replace=replace)
        return Response(204, b"", {"ETag": etag_of(values), "dataserviceversion": "2.0"})

    def _delete(self, call: Call) -> Response:
        if not self.entity.deletable:
            raise ODataError(
                405,
                "/IWBEP/CM_MGW_RT/021",
                "Deleting operations are disabled for entity "
                "'API_BUSINESS_PARTNER~A_BUSINESSPARTNER'",
            )
        key = call.target.key or ""
        self._check_if_match(call, self._existing(key))
        self.writer.delete(key)
        return Response(204, b"", {"dataserviceversion": "2.0"})

    def _check_if_match(self, call: Call, current: dict[str, Any]) -> None:
        """``If-Match`` against the entity's ETag: compared weakly, ``*`` matches any, a stale
        one is 412; a missing one is accepted unless ``faults.require_if_match`` (428)."""
        if_match = call.request.header("if-match")
        if if_match is None:
            if self.faults.require_if_match:
                raise ODataError(
                    428,
                    "/IWBEP/CM_MGW_RT/019",
                    "Precondition required: send If-Match with the entity's ETag",
                )
        elif if_match.strip() != "*" and _weak(if_match) != _weak(etag_of(current)):
            raise ODataError(
                412,
                "/IWBEP/CM_MGW_RT/018",
                "Precondition failed: the entity was changed since its ETag was read",
            )

    # -- helpers ------------------------------------------------------------------------------

    def _existing(self, key: str | None) -> dict[str, Any]:
        values = self.store.get(key or "")
        if values is None:
            raise not_found(self.entity.name)
        return values

    def _entity_answer(
        self,
        call: Call,
        status: int,
        values: dict[str, Any],
        select: list[str] | None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        extra = {"ETag": etag_of(values), **(headers or {})}
        if call.as_json:
            payload = render_entity(self.entity, values, call.service_url, select)
            return json_response(status, {"d": payload}, extra)
        entry = render_atom_entry(self.entity, values, call.service_url, select, self.now())
        body = ('<?xml version="1.0" encoding="utf-8"?>' + entry).encode("utf-8")
        return Response(status, body, {"Content-Type": ATOM_ENTRY_TYPE, **extra})


def _body(request: Request) -> Any:
    """The JSON request body. SAP also takes Atom entries; the fake does not (415)."""
    content_type = (request.header("content-type") or "").lower()
    if "xml" in content_type:
        raise ODataError(
            415,
            "/IWBEP/CM_MGW_RT/006",
            f"Content type '{content_type}' is not supported by the fake; send application/json",
        )
    try:
        return json.loads(request.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad_request("The request body is not valid JSON", "/IWBEP/CM_MGW_RT/007") from None


def _weak(etag: str) -> str:
    text = etag.strip()
    return text[2:] if text.startswith("W/") else text
