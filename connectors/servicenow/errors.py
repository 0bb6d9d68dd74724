"""ServiceNow's answers mapped to Conveyor's error vocabulary.

Error bodies read ``{"error": {"message", "detail"}, "status": "failure"}``. 401 is the
credentials' to fix; 403 on one record's write is that record's refusal (an ACL or a business
rule), otherwise the permissions' to fix; 429 and 5xx are transient (Retry-After, else
``X-RateLimit-Reset``, epoch seconds); 400, 404 and 409 on one record's write park that record.
"""

from __future__ import annotations

import time

from requests import Response

from conveyor.errors import ConfigError, ConveyorError, RecordError, TransientError
from conveyor.retry import parse_retry_after

__all__ = ["call_error", "reason"]


def reason(answer: Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return (answer.text or answer.reason or "").strip()[:300]
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return str(body)[:300]
    message, detail = str(error.get("message") or ""), str(error.get("detail") or "")
    return f"{message}: {detail}" if detail and detail != message else message


def _wait(answer: Response) -> float | None:
    seconds = parse_retry_after(answer.headers.get("Retry-After"))
    if seconds is not None:
        return seconds
    reset = answer.headers.get("X-RateLimit-Reset")
    if reset and reset.isdigit():
        return max(0.0, float(reset) - time.time())
    return None


def call_error(answer: Response, record: bool) -> ConveyorError:
    status = answer.status_code
    why = reason(answer)
    if status == 429 or status >= 500:
        return TransientError(f"ServiceNow: HTTP {status}: {why}", retry_after=_wait(answer))
    if record and status in (400, 403, 404, 409):
        return RecordError(f"ServiceNow refused the record (HTTP {status}): {why}")
    if status in (401, 403):
        return ConfigError(f"ServiceNow refused the call (HTTP {status}): {why}")
    return ConfigError(f"ServiceNow: HTTP {status}: {why}")
