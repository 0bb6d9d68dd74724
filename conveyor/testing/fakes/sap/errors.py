"""SAP Gateway's error answers, in JSON or XML as the caller asked.

An OData error of the fake looks like SAP Gateway's::

    {"error": {"code": "R11/401",
               "message": {"lang": "en", "value": "Enter a last name"},
               "innererror": {"application": {...}, "transactionid": "...", "timestamp": "...",
                              "Error_Resolution": {"SAP_Transaction": "...", "SAP_Note": "..."},
                              "errordetails": [{"code", "message", "propertyref", "severity",
                                                "target", "transition"}]}}}

or the same as ``<error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">``
when JSON was not asked for. Inside a ``$batch`` changeset an error detail also names the failing
operation's ``ContentID``.

The message texts follow SAP Gateway's wording where it is known (``Resource not found for
segment ...``, ``CSRF token validation failed``); the message codes (``/IWBEP/CM_MGW_RT/...``,
``R11/...``) are the fake's own picks in SAP's format, not copied from a system, so tests should
assert on status and shape, not on a code's number.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from conveyor.testing.fakes.salesforce.routing import Response

__all__ = [
    "JSON_TYPE",
    "XML_TYPE",
    "ODataError",
    "bad_request",
    "detail",
    "error_response",
    "not_found",
]

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
_M_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
_APPLICATION = {
    "component_id": "LO-MD-BP",
    "service_namespace": "/SAP/",
    "service_id": "API_BUSINESS_PARTNER",
    "service_version": "0001",
}
_NOTE = (
    "See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)"
)


def detail(code: str, message: str, *, target: str = "", severity: str = "error") -> dict[str, Any]:
    """One ``errordetails`` entry as SAP Gateway writes it."""
    return {
        "code": code,
        "message": message,
        "propertyref": "",
        "severity": severity,
        "target": target,
        "transition": False,
    }


@dataclass
class ODataError(Exception):
    """A request the service refused. ``details`` are the ``errordetails`` entries (by default
    one that repeats the message); ``headers`` are added to the answer."""

    status: int
    code: str
    message: str
    details: Sequence[Mapping[str, Any]] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    target: str = ""
    raw: bytes | None = None  # a body in another shape (the CSRF refusal is plain text)
    raw_type: str = "text/plain; charset=utf-8"

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def error_details(self, content_id: str | None = None) -> list[dict[str, Any]]:
        entries = (
            [dict(d) for d in self.details]
            if self.details is not None
            else [detail(self.code, self.message, target=self.target)]
        )
        if content_id is not None:
            for entry in entries:
                entry["ContentID"] = content_id
        return entries

    def payload(self, now: datetime, content_id: str | None = None) -> dict[str, Any]:
        """The JSON error object (``now`` is the system-local time SAP stamps it with)."""
        return {
            "error": {
                "code": self.code,
                "message": {"lang": "en", "value": self.message},
                "innererror": {
                    "application": dict(_APPLICATION),
                    "transactionid": uuid.uuid4().hex.upper(),
                    "timestamp": now.strftime("%Y%m%d%H%M%S") + ".0000000",
                    "Error_Resolution": {
                        "SAP_Transaction": "For backend administrators: use ADT feed reader "
                        '"SAP Gateway Error Log" or run transaction /IWFND/ERROR_LOG on SAP '
                        "Gateway hub system and search for entries with the timestamp above "
                        "for more details",
                        "SAP_Note": _NOTE,
                    },
                    "errordetails": self.error_details(content_id),
                },
            }
        }


def error_response(
    error: ODataError, as_json: bool, now: datetime, content_id: str | None = None
) -> Response:
    """The HTTP answer for ``error``: JSON when the caller asked for JSON, else XML."""
    headers = dict(error.headers)
    if error.raw is not None:
        return Response(error.status, error.raw, {"Content-Type": error.raw_type, **headers})
    payload = error.payload(now, content_id)
    if as_json:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return Response(error.status, body, {"Content-Type": JSON_TYPE, **headers})
    return Response(
        error.status, _xml(payload).encode("utf-8"), {"Content-Type": XML_TYPE, **headers}
    )


def _xml(payload: dict[str, Any]) -> str:
    error = payload["error"]
    inner = error["innererror"]
    application = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in inner["application"].items())
    resolution = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in inner["Error_Resolution"].items())
    details = "".join(
        "<errordetail>"
        + "".join(f"<{k}>{escape(_text(v))}</{k}>" for k, v in entry.items())
        + "</errordetail>"
        for entry in inner["errordetails"]
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<error xmlns="{_M_NS}"><code>{escape(error["code"])}</code>'
        f'<message xml:lang="en">{escape(error["message"]["value"])}</message>'
        f"<innererror><application>{application}</application>"
        f"<transactionid>{inner['transactionid']}</transactionid>"
        f"<timestamp>{inner['timestamp']}</timestamp>"
        f"<Error_Resolution>{resolution}</Error_Resolution>"
        f"<errordetails>{details}</errordetails></innererror></error>"
    )


def _text(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def bad_request(message: str, code: str = "/IWBEP/CM_MGW_RT/004", target: str = "") -> ODataError:
    """400: the request is malformed or names something the service does not have."""
    return ODataError(400, code, message, target=target)


def not_found(segment: str) -> ODataError:
    """404 in SAP Gateway's words for an unknown resource path segment or key."""
    return ODataError(404, "/IWBEP/CM_MGW_RT/020", f"Resource not found for segment '{segment}'")
