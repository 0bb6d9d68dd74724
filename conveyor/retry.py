"""Retries for remote calls, in one place: only TransientError is retried, with exponential
backoff and jitter, and never sooner than the server's Retry-After.

Connectors raise errors from one vocabulary (:mod:`conveyor.errors`); the table
:data:`STATUS_ERRORS` maps HTTP statuses to it, so each connector only adds its own codes
(Salesforce's ``UNABLE_TO_LOCK_ROW``, say) instead of writing its own if-chain.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from conveyor.errors import ConfigError, ConveyorError, RecordError, TransientError

__all__ = [
    "DEFAULT_RETRY",
    "STATUS_ERRORS",
    "RetryPolicy",
    "error_for_status",
    "parse_retry_after",
    "with_retries",
]

T = TypeVar("T")

#: HTTP status -> the error class it becomes. Statuses not listed: 5xx transient, other 4xx
#: a RecordError (the request was refused for this record).
STATUS_ERRORS: Final[Mapping[int, type[ConveyorError]]] = {
    400: RecordError,
    401: ConfigError,
    403: ConfigError,
    404: RecordError,
    408: TransientError,
    423: TransientError,
    425: TransientError,
    429: TransientError,
    500: TransientError,
    502: TransientError,
    503: TransientError,
    504: TransientError,
}


def error_for_status(status: int, message: str, retry_after: float | None = None) -> ConveyorError:
    """The error an HTTP ``status`` stands for, carrying ``message`` (never a secret)."""
    kind = STATUS_ERRORS.get(status) or (TransientError if status >= 500 else RecordError)
    text = f"HTTP {status}: {message}"
    if kind is TransientError:
        return TransientError(text, retry_after=retry_after)
    if kind is ConfigError and status == 401:
        return ConfigError(f"{text} (check the connection's credentials)")
    return kind(text)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # calls in all, the first included
    initial: float = 1.0  # seconds before the first retry (then doubled, with jitter)
    maximum: float = 60.0  # the longest wait the backoff picks by itself
    max_retry_after: float = 300.0  # a longer Retry-After is not waited for: the error stands


DEFAULT_RETRY = RetryPolicy()


def with_retries(
    call: Callable[[], T],
    policy: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()``, retried on TransientError as ``policy`` says; other errors pass at once."""
    backoff = wait_exponential_jitter(
        multiplier=policy.initial, jitter=policy.initial, max=policy.maximum
    )

    def wait(state: RetryCallState) -> float:
        chosen = backoff(state)
        error = state.outcome.exception() if state.outcome else None
        after = error.retry_after if isinstance(error, TransientError) else None
        if after is not None and after > policy.max_retry_after:
            raise error  # type: ignore[misc]  # waiting that long is the scheduler's job
        return max(chosen, after or 0.0)

    retrying = Retrying(
        retry=retry_if_exception_type(TransientError),
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        sleep=sleep,
        reraise=True,
    )
    return retrying(call)
