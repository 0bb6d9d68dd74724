"""Requests, responses and the route table of the fake Salesforce.

Each route has a key (``"GET /services/data/{version}/query"``) under which calls are counted and
faults are aimed, so tests can assert API budgets per resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from conveyor.testing.fakes.salesforce.api_errors import ApiError, not_found

__all__ = ["Handler", "Request", "Response", "Route", "Router"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.params.get("version", "")

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not UTF-8") from None

    def json(self) -> Any:
        try:
            return json.loads(self.text() or "null")
        except json.JSONDecodeError as exc:
            raise ApiError(
                400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc}"
            ) from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        return body


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, payload: object, headers: Mapping[str, str] | None = None
    ) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return cls(
            status, body, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
        )

    @classmethod
    def csv(cls, text: str, headers: Mapping[str, str] | None = None) -> Response:
        return cls(
            200,
            text.encode("utf-8"),
            {"Content-Type": "text/csv; charset=UTF-8", **(headers or {})},
        )

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status)

    @classmethod
    def error(cls, error: ApiError) -> Response:
        return cls.json(error.status, error.body(), error.headers)


Handler = Callable[[Request], Response]


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
    """Matches a method and path to a route; unknown paths are NOT_FOUND as on Salesforce."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        regex = re.sub(
            r"\{(\w+)\}",
            lambda m: (
                r"v(?P<version>\d+\.\d)" if m.group(1) == "version" else rf"(?P<{m.group(1)}>[^/]+)"
            ),
            re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
        )
        self.routes.append(
            Route(method, template, re.compile(f"^{regex}/?$"), handler, authenticated=auth)
        )

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = []
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{method}' not allowed. Allowed are {','.join(sorted(set(allowed)))}",
            )
        raise not_found()
