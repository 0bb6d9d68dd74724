"""Salesforce's answers mapped to Conveyor's error vocabulary, by table.

Transient: 429, 503, REQUEST_LIMIT_EXCEEDED (the daily allowance: the next run continues),
UNABLE_TO_LOCK_ROW. INVALID_SESSION_ID: re-authenticate once, then a ConfigError. Per-record
errors (``errorCode``, ``message``, ``fields``) become RecordErrors that park their record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from conveyor.errors import ConfigError, ConveyorError, RecordError, TransientError
from conveyor.retry import error_for_status

__all__ = ["CODE_ERRORS", "error_for_code", "record_error"]

#: errorCode -> the error it is, where the HTTP status alone would say otherwise.
CODE_ERRORS: Final[Mapping[str, type[ConveyorError]]] = {
    "REQUEST_LIMIT_EXCEEDED": TransientError,
    "UNABLE_TO_LOCK_ROW": TransientError,
    "SERVER_UNAVAILABLE": TransientError,
    "INVALID_SESSION_ID": ConfigError,
    "INVALID_AUTH_HEADER": ConfigError,
    "API_DISABLED_FOR_ORG": ConfigError,
    "INSUFFICIENT_ACCESS": ConfigError,
    "INVALID_FIELD": ConfigError,
    "INVALID_TYPE": ConfigError,
    "MALFORMED_QUERY": ConfigError,
}


def error_for_code(status: int, body: Any, retry_after: float | None = None) -> ConveyorError:
    """The error for a whole failed call: the errorCode's entry, else the status's."""
    code, message = _first(body)
    kind = CODE_ERRORS.get(code or "")
    text = f"{code}: {message}" if code else message
    if kind is TransientError:
        return TransientError(f"Salesforce: {text}", retry_after=retry_after)
    if kind is ConfigError:
        return ConfigError(f"Salesforce refused the call: {text}")
    return error_for_status(status, f"Salesforce: {text}", retry_after)


def record_error(errors: Sequence[Mapping[str, Any]]) -> RecordError:
    """One record's errors from a collection or Bulk result, as one RecordError."""
    parts = []
    for error in errors or [{}]:
        code = error.get("statusCode") or error.get("errorCode") or "UNKNOWN_ERROR"
        fields = error.get("fields") or []
        where = f" ({', '.join(fields)})" if fields else ""
        parts.append(f"{code}: {error.get('message', 'no message')}{where}")
    return RecordError("; ".join(parts))


def _first(body: Any) -> tuple[str | None, str]:
    if isinstance(body, list) and body and isinstance(body[0], Mapping):
        return body[0].get("errorCode"), str(body[0].get("message", ""))
    if isinstance(body, Mapping):
        return body.get("errorCode") or body.get("error"), str(
            body.get("message") or body.get("error_description") or ""
        )
    return None, str(body)[:200]
