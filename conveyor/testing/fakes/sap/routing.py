"""Where a request goes: OData resource paths of the service, their route keys, and the format
the caller asked for.

The transport (:class:`~conveyor.testing.fakes.salesforce.routing.Request` and ``Response``) is
shared with the other fakes. OData paths do not fit a template router (keys are quoted literals
in parentheses, percent-encoded by pyodata), so they are resolved here segment by segment after
percent-decoding each one. Route keys are the method and the path template below the service
root, e.g. ``"GET /sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner({key})"``; calls
are counted and faults aimed by that key.

Format: JSON when ``$format=json`` or ``Accept`` names ``application/json``; otherwise SAP's
default, Atom/XML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from conveyor.testing.fakes.salesforce.routing import Request, Response
from conveyor.testing.fakes.sap.errors import ODataError, bad_request, not_found
from conveyor.testing.fakes.sap.schema import EntityType

__all__ = [
    "SERVICE_PATH",
    "TOKEN_PATH",
    "Request",
    "Response",
    "Target",
    "allowed_methods",
    "batch_path",
    "method_not_allowed",
    "resolve",
    "route_key",
    "service_relative",
    "wants_json",
]

SERVICE_PATH = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
TOKEN_PATH = "/oauth/token"

_ROOT = "/"
_METADATA = "/$metadata"
_BATCH = "/$batch"
_GET = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Target:
    """A resolved resource: its template below the service root and its parameters."""

    template: str
    key: str | None = None
    prop: str | None = None


def route_key(method: str, template: str) -> str:
    if template == TOKEN_PATH:
        return f"{method} {TOKEN_PATH}"
    return f"{method} {SERVICE_PATH}{template}"


def allowed_methods(target: Target, entity: EntityType) -> frozenset[str]:
    if target.template in (_ROOT, _METADATA) or target.template.endswith(
        ("/$count", "/{property}")
    ):
        return _GET
    if target.template == _BATCH:
        return frozenset({"POST"})
    if target.template == f"/{entity.set_name}":
        return _GET | {"POST"}
    return _GET | {"PUT", "PATCH", "MERGE", "DELETE"}


def service_relative(path: str) -> str | None:
    """The part of a request path below the service root (``""`` for the root itself), or None
    when the path is outside the service."""
    if path == SERVICE_PATH:
        return ""
    if path.startswith(SERVICE_PATH + "/"):
        return path[len(SERVICE_PATH) + 1 :]
    return None


def resolve(relative: str, entity: EntityType) -> Target:
    """The target of a path below the service root (raw, still percent-encoded)."""
    segments = [unquote(s) for s in relative.split("/")]
    if segments and segments[-1] == "" and len(segments) > 1:
        segments.pop()
    if segments in ([], [""]):
        return Target(_ROOT)
    first, rest = segments[0], segments[1:]
    if first in ("$metadata", "$batch") and not rest:
        return Target("/" + first)
    if first == entity.set_name:
        if not rest:
            return Target(f"/{entity.set_name}")
        if rest == ["$count"]:
            return Target(f"/{entity.set_name}/$count")
        raise not_found(rest[0])
    key = _key(first, entity)
    if key is None:
        raise not_found(first)
    template = f"/{entity.set_name}({{key}})"
    if not rest:
        return Target(template, key)
    if len(rest) == 1:
        if entity.get(rest[0]) is None:
            raise not_found(rest[0])
        return Target(template + "/{property}", key, rest[0])
    raise not_found(rest[1])


def _key(segment: str, entity: EntityType) -> str | None:
    prefix = entity.set_name + "("
    if not (segment.startswith(prefix) and segment.endswith(")")):
        return None
    inside = segment[len(prefix) : -1]
    match = re.fullmatch(rf"(?:{entity.key}=)?'((?:[^']|'')*)'", inside)
    if match is None:
        raise bad_request(f"Invalid key predicate '{inside}' for entity set '{entity.set_name}'")
    return match.group(1).replace("''", "'")


def batch_path(url: str) -> tuple[str, str]:
    """A request line's URL inside ``$batch`` as (path, query): relative URLs are relative to
    the service root, as SAP and Olingo read them."""
    parts = urlsplit(url)
    path = parts.path
    if not path.startswith("/"):
        path = f"{SERVICE_PATH}/{path}"
    return path, parts.query


def wants_json(request: Request) -> bool:
    fmt = (request.arg("$format") or "").lower()
    if fmt:
        return fmt == "json"
    return "application/json" in (request.header("accept") or "").lower()


def method_not_allowed(method: str) -> ODataError:
    return ODataError(
        405, "/IWBEP/CM_MGW_RT/021", f"The HTTP method '{method}' is not allowed for this resource"
    )
