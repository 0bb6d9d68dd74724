"""Jira's answers mapped to Conveyor's error vocabulary.

401 and 403 are the credentials' or permissions' to fix (ConfigError); 429 and 5xx are
transient, waiting as Retry-After says or, without it, until ``X-RateLimit-Reset``; a refused
issue (400, 404, 409, 422 in a write) is a RecordError naming Jira's ``errorMessages`` and each
field's message; a 400 on a search is the job's JQL to fix. Messages are built from the status
and Jira's error body only: never the request (its headers carry the credentials).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from jira.exceptions import JIRAError
from requests import Response

from conveyor.errors import ConfigError, ConveyorError, RecordError, TransientError
from conveyor.retry import parse_retry_after

__all__ = ["call_error", "jira_reason", "retry_after"]


def jira_reason(response: Response | None) -> str:
    """``errorMessages`` and ``errors`` of Jira's body, in one line."""
    if response is None:
        return "no answer"
    try:
        body: Any = response.json()
    except (ValueError, json.JSONDecodeError):
        return (response.text or response.reason or "").strip()[:300]
    if not isinstance(body, dict):
        return str(body)[:300]
    parts = [str(m) for m in body.get("errorMessages") or []]
    parts += [f"{field}: {message}" for field, message in (body.get("errors") or {}).items()]
    return "; ".join(parts) or str(body.get("message") or "")[:300]


def retry_after(response: Response | None) -> float | None:
    if response is None:
        return None
    seconds = parse_retry_after(response.headers.get("Retry-After"))
    if seconds is not None:
        return seconds
    reset = response.headers.get("X-RateLimit-Reset")
    if not reset:
        return None
    try:
        moment = dt.datetime.fromisoformat(reset.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())


def call_error(exc: JIRAError, record: bool = False) -> ConveyorError:
    """The error for a failed call; ``record``: the call wrote one issue."""
    status = exc.status_code or 0
    response = exc.response if isinstance(exc.response, Response) else None
    reason = jira_reason(response)
    if status == 429 or status >= 500:
        name = "rate limited" if status == 429 else f"HTTP {status}"
        return TransientError(f"Jira: {name}: {reason}", retry_after=retry_after(response))
    if status in (401, 403):
        return ConfigError(
            f"Jira refused the call (HTTP {status}): {reason or 'check the credentials'}"
        )
    if record and status in (400, 404, 409, 422):
        return RecordError(f"Jira refused the issue (HTTP {status}): {reason}")
    return ConfigError(f"Jira: HTTP {status}: {reason}")
