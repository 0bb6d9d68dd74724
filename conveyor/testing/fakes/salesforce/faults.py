"""Failures on demand, so connector tests can prove how they cope with a misbehaving Salesforce.

- :meth:`Faults.fail_next`: the next calls of matching routes answer 429 or 503 (or any status)
  with ``Retry-After``.
- :meth:`Faults.expire_session`: every issued token turns invalid (401 INVALID_SESSION_ID) until a
  client authenticates again through the token endpoint.
- :meth:`Faults.reject_records`: records matching a predicate fail with an error code, message and
  fields (REQUIRED_FIELD_MISSING, UNABLE_TO_LOCK_ROW...), optionally only a number of times.
- :meth:`Faults.delay`: slow responses.
- :meth:`Faults.fail_bulk_job`: the next Bulk ingest job fails part way: some rows processed,
  then failed rows, the rest unprocessed, state ``Failed``.

Routes are matched by their key (``"GET /services/data/{version}/query"``) with shell wildcards,
e.g. ``"*query*"`` or ``"POST */jobs/ingest"``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from conveyor.testing.fakes.planned import PlannedFailures
from conveyor.testing.fakes.salesforce.api_errors import ApiError, RecordError

__all__ = ["BulkJobFailure", "Faults", "RecordPredicate"]

RecordPredicate = Callable[[Mapping[str, object]], bool]

_DEFAULT_ERRORS = {
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests; retry after the indicated time"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable; retry after the indicated time"),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId"),
}


@dataclass
class _Rejection:
    predicate: RecordPredicate
    error: RecordError
    objects: frozenset[str] | None
    operations: frozenset[str] | None
    remaining: int | None


@dataclass(frozen=True)
class BulkJobFailure:
    """How the next ingest job fails: rows before ``after_rows`` are processed normally, the
    next ``failed_rows`` fail with ``error``, the rest stay unprocessed."""

    after_rows: int
    failed_rows: int
    error: RecordError
    job_message: str


@dataclass
class Faults:
    """The planned failures of one fake (thread-safe)."""

    on_expire: Callable[[], None] = lambda: None
    _planned: PlannedFailures[ApiError] = field(default_factory=PlannedFailures)
    _delays: PlannedFailures[float] = field(default_factory=PlannedFailures)
    _rejections: list[_Rejection] = field(default_factory=list)
    _bulk: list[BulkJobFailure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        route: str = "*",
        *,
        status: int = 503,
        times: int = 1,
        retry_after: float | None = 1,
        error_code: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``times`` calls of routes matching ``route`` answer ``status``."""
        default_code, default_message = _DEFAULT_ERRORS.get(status, ("UNKNOWN_EXCEPTION", "error"))
        headers = {"Retry-After": _seconds(retry_after)} if retry_after is not None else {}
        error = ApiError(
            status, error_code or default_code, message or default_message, headers=headers
        )
        self._planned.add(route, error, times)

    def throttle(self, route: str = "*", *, times: int = 1, retry_after: float = 1) -> None:
        """Shorthand for ``fail_next(route, status=429, ...)``."""
        self.fail_next(route, status=429, times=times, retry_after=retry_after)

    def expire_session(self) -> None:
        """Invalidate every issued access token (clients must authenticate again)."""
        self.on_expire()

    def delay(self, route: str = "*", seconds: float = 0.5, times: int | None = None) -> None:
        """Calls of matching routes wait ``seconds`` before answering (``times`` or forever)."""
        self._delays.add(route, seconds, times)

    def reject_records(
        self,
        predicate: RecordPredicate,
        *,
        error_code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        message: str = "rejected by a validation rule",
        fields: Collection[str] = (),
        objects: Collection[str] | None = None,
        operations: Collection[str] | None = None,
        times: int | None = None,
    ) -> None:
        """Writes whose resulting record (REST JSON values) matches ``predicate`` fail.

        ``operations`` narrows to ``insert``, ``update`` or ``delete``; ``times`` makes the
        failure transient (e.g. UNABLE_TO_LOCK_ROW twice, then success).
        """
        with self._lock:
            self._rejections.append(
                _Rejection(
                    predicate,
                    RecordError(error_code, message, tuple(fields)),
                    frozenset(o.lower() for o in objects) if objects is not None else None,
                    frozenset(operations) if operations is not None else None,
                    times,
                )
            )

    def fail_bulk_job(
        self,
        *,
        after_rows: int,
        failed_rows: int = 1,
        error_code: str = "UNABLE_TO_LOCK_ROW",
        message: str = "unable to obtain exclusive access to this record",
        job_message: str = "InternalServerError : the job was stopped part way",
    ) -> None:
        """The next Bulk ingest job ends ``Failed`` after ``after_rows`` rows."""
        with self._lock:
            self._bulk.append(
                BulkJobFailure(
                    after_rows, failed_rows, RecordError(error_code, message), job_message
                )
            )

    def clear(self) -> None:
        with self._lock:
            self._planned.clear()
            self._delays.clear()
            self._rejections.clear()
            self._bulk.clear()

    # -- used by the fake ---------------------------------------------------------------------

    def error_for(self, route_key: str) -> ApiError | None:
        return self._planned.take(route_key)

    def delay_for(self, route_key: str) -> float:
        return self._delays.take(route_key) or 0.0

    def check(
        self, obj: str, operation: str, record: Callable[[], Mapping[str, object]]
    ) -> RecordError | None:
        with self._lock:
            if not self._rejections:
                return None
            rendered = record()
            for rule in self._rejections:
                if rule.objects is not None and obj.lower() not in rule.objects:
                    continue
                if rule.operations is not None and operation not in rule.operations:
                    continue
                if not rule.predicate(rendered):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rejections.remove(rule)
                return rule.error
        return None

    def next_bulk_failure(self) -> BulkJobFailure | None:
        with self._lock:
            return self._bulk.pop(0) if self._bulk else None


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
