"""OData v2 error answers mapped to Conveyor's error vocabulary.

SAP's error body is ``{"error": {"code", "message": {"value"}, "innererror": {"errordetails":
[{"code", "message", "target"}]}}}``; a record's reason names the message and each detail.
401 and 403 are the credentials' or permissions' to fix; 429 and 503 are transient.
"""

from __future__ import annotations

import json
from typing import Any

from requests import Response

from conveyor.errors import ConfigError, ConveyorError, RecordError, TransientError
from conveyor.retry import parse_retry_after

__all__ = ["call_error", "odata_reason"]


def odata_reason(text: str) -> str:
    try:
        body: Any = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return str(body)[:300]
    message = error.get("message")
    value = message.get("value") if isinstance(message, dict) else message
    parts = [f"{error.get('code', '')}: {value}".strip(": ")]
    details = (error.get("innererror") or {}).get("errordetails") or []
    for detail in details:
        if isinstance(detail, dict) and detail.get("message") != value:
            target = f" ({detail['target']})" if detail.get("target") else ""
            parts.append(f"{detail.get('message')}{target}")
    return "; ".join(p for p in parts if p)


def call_error(answer: Response, record: bool) -> ConveyorError:
    status = answer.status_code
    why = odata_reason(answer.text)
    if status in (429, 503) or status >= 500:
        wait = parse_retry_after(answer.headers.get("Retry-After"))
        return TransientError(f"SAP: HTTP {status}: {why}", retry_after=wait)
    if status in (401, 403):
        return ConfigError(f"SAP refused the call (HTTP {status}): {why}")
    if record:
        return RecordError(f"SAP refused the change (HTTP {status}): {why}")
    return ConfigError(f"SAP: HTTP {status}: {why}")
