"""Jira's error shape, the route table and request helpers of the fake Jira.

The transport (:class:`~conveyor.testing.fakes.salesforce.routing.Request` and ``Response``,
served by :class:`~conveyor.testing.fakes.salesforce.server.HttpServer`) is shared with the fake
Salesforce; what is Jira's own lives here:

- :class:`JiraError`: a refused request, rendered as Jira renders it,
  ``{"errorMessages": [...], "errors": {field: message}}`` (or a raw body where Jira answers in
  another shape, such as 401s and Jersey's 404 for unknown resources).
- :class:`Router`: routes keyed ``"GET /rest/api/{version}/search/jql"``; calls are counted and
  faults aimed by that key. ``{version}`` is ``2``, ``3`` or ``latest``.
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
    "Handler",
    "JiraError",
    "Request",
    "Response",
    "Route",
    "Router",
    "api_version",
    "arg",
    "args",
    "bad_request",
    "field_errors",
    "int_arg",
    "json_body",
    "json_object",
    "not_found",
    "unknown_resource",
]

Handler = Callable[[Request], Response]


@dataclass
class JiraError(Exception):
    """A request Jira refused as a whole."""

    status: int
    messages: tuple[str, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: object | None = None  # a body in another shape than errorMessages/errors
    content_type: str = "application/json;charset=UTF-8"

    def __post_init__(self) -> None:
        super().__init__(f"{self.status}: {'; '.join(self.messages)} {dict(self.errors)}")

    def payload(self) -> object:
        if self.raw is not None:
            return self.raw
        return {"errorMessages": list(self.messages), "errors": dict(self.errors)}

    def response(self) -> Response:
        payload = self.payload()
        if isinstance(payload, str):
            body = payload.encode("utf-8")
        else:
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return Response(self.status, body, {"Content-Type": self.content_type, **self.headers})


def bad_request(*messages: str) -> JiraError:
    return JiraError(400, tuple(messages))


def field_errors(errors: Mapping[str, str]) -> JiraError:
    return JiraError(400, (), dict(errors))


def not_found(message: str) -> JiraError:
    return JiraError(404, (message,))


def unknown_resource(url: str) -> JiraError:
    """Jersey's answer for a path no REST resource serves (e.g. ``search/jql`` on Data
    Center, or ``/rest/api/3`` there)."""
    return JiraError(404, raw={"message": f"null for uri: {url}", "status-code": 404})


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    authenticated: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


class Router:
    """Matches a method and path to a route; an unknown path is Jersey's 404, a known path
    with another method 405 (no body, as Jersey answers)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        regex = re.sub(
            r"\\\{(\w+)\\\}",
            lambda m: (
                r"(?P<version>2|3|latest)"
                if m.group(1) == "version"
                else rf"(?P<{m.group(1)}>[^/]+)"
            ),
            re.escape(template),
        )
        self.routes.append(
            Route(method, template, re.compile(f"^{regex}/?$"), handler, authenticated=auth)
        )

    def match(self, method: str, path: str, url: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
            allowed = True
        if allowed:
            raise JiraError(405, raw="", content_type="text/plain")
        raise unknown_resource(url)


# -- request helpers ---------------------------------------------------------------------------


def api_version(request: Request) -> int:
    """The REST version a request addressed: ``latest`` is version 2 (a decision: Atlassian
    does not document what ``latest`` resolves to on Cloud)."""
    return 3 if request.params.get("version") == "3" else 2


def arg(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


def args(request: Request, name: str) -> list[str]:
    """A list parameter, given repeated (``fields=a&fields=b``) or comma separated."""
    return [p.strip() for v in request.query.get(name, []) for p in v.split(",") if p.strip()]


def int_arg(request: Request, name: str, default: int) -> int:
    text = arg(request, name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise bad_request(f"The '{name}' parameter must be a number, not '{text}'.") from None


def json_body(request: Request) -> Any:
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("The request body is not valid UTF-8.") from None
    if not text.strip():
        raise bad_request("No content to map to Object due to end of input")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad_request(
            f"Unexpected character at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def json_object(request: Request) -> dict[str, Any]:
    body = json_body(request)
    if not isinstance(body, dict):
        raise bad_request("Can not deserialize instance of the request out of a non-object")
    return body
