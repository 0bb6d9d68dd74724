"""ServiceNow's error shape, the route table and request helpers of the fake instance.

The transport (:class:`~conveyor.testing.fakes.salesforce.routing.Request` and ``Response``,
served by :class:`~conveyor.testing.fakes.salesforce.server.HttpServer`) is shared with the other
fakes; what is ServiceNow's own lives here:

- :class:`ServiceNowError`: a refused request, rendered as the REST API renders it,
  ``{"error": {"message": ..., "detail": ...}, "status": "failure"}`` (or a raw body where
  ServiceNow answers in another shape, as ``/oauth_token.do`` does).
- :class:`Router`: routes keyed ``"GET /api/now/table/{table}"``; calls are counted and faults
  aimed by that key. A ``[/{api_version}]`` segment in a template matches an optional ``/v1`` or
  ``/v2`` (the Table and Import Set APIs answer on both the default and the versioned URL) and is
  left out of the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from conveyor.testing.fakes.salesforce.routing import Request, Response

__all__ = [
    "JSON_TYPE",
    "Handler",
    "Request",
    "Response",
    "Route",
    "Router",
    "ServiceNowError",
    "arg",
    "bool_arg",
    "int_arg",
    "json_body",
    "json_response",
    "not_found",
]

JSON_TYPE = "application/json;charset=UTF-8"
Handler = Callable[[Request], Response]


@dataclass
class ServiceNowError(Exception):
    """A request ServiceNow refused as a whole."""

    status: int
    message: str = ""
    detail: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: object | None = None  # a body in another shape than {"error": ..., "status": ...}

    def __post_init__(self) -> None:
        super().__init__(f"{self.status}: {self.message} ({self.detail})")

    def payload(self) -> object:
        if self.raw is not None:
            return self.raw
        return {"error": {"message": self.message, "detail": self.detail}, "status": "failure"}

    def response(self) -> Response:
        return json_response(self.status, self.payload(), self.headers)


def json_response(
    status: int, payload: object, headers: Mapping[str, str] | None = None
) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(status, body, {"Content-Type": JSON_TYPE, **(headers or {})})


def not_found(
    detail: str = "Record doesn't exist or ACL restricts the record retrieval",
) -> ServiceNowError:
    return ServiceNowError(404, "No Record found", detail)


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    authenticated: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.template.replace('[/{api_version}]', '')}"


class Router:
    """Matches a method and path to a route. An unknown path is ServiceNow's 400 "Requested URI
    does not represent any resource"; a known path with another method is 405."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        regex = re.escape(template).replace(r"\[/\{api_version\}\]", r"(?:/(?P<api_version>v\d+))?")
        regex = re.sub(r"\\\{(\w+)\\\}", lambda m: rf"(?P<{m.group(1)}>[^/]+)", regex)
        self.routes.append(
            Route(method, template, re.compile(f"^{regex}/?$"), handler, authenticated=auth)
        )

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                params = {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
                return route, params
            allowed = True
        if allowed:
            raise ServiceNowError(405, "Method not Supported", f"HTTP method {method} not allowed")
        raise ServiceNowError(400, "Requested URI does not represent any resource", None)


# -- request helpers ---------------------------------------------------------------------------


def arg(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


def bool_arg(request: Request, name: str, default: bool = False) -> bool:
    """A ``sysparm_*`` flag: ``true`` (any case) is true, anything else false."""
    text = arg(request, name)
    if text is None or text == "":
        return default
    return text.strip().lower() == "true"


def int_arg(request: Request, name: str, default: int) -> int:
    """A number parameter; an unreadable one falls back to the default (a decision: ServiceNow
    does not document an error for it)."""
    text = arg(request, name)
    try:
        return int(text) if text not in (None, "") else default
    except ValueError:
        return default


def json_body(request: Request) -> Any:
    """The request body as JSON; ServiceNow answers 400 "Exception while reading request" for a
    body it cannot parse."""
    try:
        text = request.body.decode("utf-8")
        return json.loads(text) if text.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ServiceNowError(
            400, "Exception while reading request", "The payload is not valid JSON."
        ) from None
