"""The Batch API: ``POST /api/now/v1/batch`` (pysnc's ``update_multiple``, ``delete_multiple``
and over-long queries go through it).

Request: ``{"batch_request_id", "rest_requests": [{"id", "method", "url" (path and query),
"headers": [{"name", "value"}], "body" (base64), "exclude_response_headers"}]}``. Each item is
served as its own call (as the batch's user; it is counted under ``"BATCH <route key>"``) and
answered in ``serviced_requests``: ``{"id", "status_code", "status_text", "headers" ([] when
excluded), "body" (base64), "execution_time"}``. ``batch_request_id`` comes back as a string
(pysnc compares ``str(id)``); ``unserviced_requests`` is empty (the fake has no time or size
limit). The batch call itself answers 200 even when items failed.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conveyor.testing.fakes.servicenow.env import FORWARDED_PROTO, USER_PARAM
from conveyor.testing.fakes.servicenow.routing import (
    Request,
    Response,
    Router,
    ServiceNowError,
    json_body,
    json_response,
)

__all__ = ["BatchApi", "Dispatch"]

#: Serves one request as a batch item: ``(request, user) -> response``.
Dispatch = Callable[[Request, str], Response]


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class BatchApi:
    def __init__(self, dispatch: Dispatch) -> None:
        self.dispatch = dispatch

    def register(self, router: Router) -> None:
        router.add("POST", "/api/now/v1/batch", self.batch)

    def batch(self, request: Request) -> Response:
        body = json_body(request)
        items = body.get("rest_requests") if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ServiceNowError(400, "Invalid request", "rest_requests is required")
        user = request.params[USER_PARAM]
        serviced = [self._serve(item, user, request) for item in items]
        return json_response(
            200,
            {
                "batch_request_id": str(body.get("batch_request_id", "")),
                "serviced_requests": serviced,
                "unserviced_requests": [],
            },
        )

    def _serve(self, item: dict[str, Any], user: str, outer: Request) -> dict[str, Any]:
        started = time.monotonic()
        parts = urlsplit(str(item.get("url", "")))
        headers = {
            str(h.get("name", "")).lower(): str(h.get("value", ""))
            for h in item.get("headers") or []
            if isinstance(h, dict)
        }
        for name in ("host", FORWARDED_PROTO):  # links in items point where the batch went
            value = outer.header(name)
            if value and name not in headers:
                headers[name] = value
        try:
            payload = base64.b64decode(item.get("body") or "", validate=True)
        except binascii.Error:
            payload = b"\x00"  # undecodable: the item's JSON reader refuses it
        inner = Request(
            method=str(item.get("method", "GET")).upper(),
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=payload,
        )
        response = self.dispatch(inner, user)
        answer: dict[str, Any] = {
            "id": str(item.get("id", "")),
            "status_code": response.status,
            "status_text": _status_text(response.status),
            "headers": []
            if item.get("exclude_response_headers")
            else [{"name": k, "value": v} for k, v in response.headers.items()],
            "execution_time": int((time.monotonic() - started) * 1000),
        }
        if response.body:
            answer["body"] = base64.b64encode(response.body).decode("ascii")
        return answer
