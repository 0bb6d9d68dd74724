"""Failures on demand, so connector tests can prove how they cope with a misbehaving instance.

- :meth:`Faults.fail_next`: the next calls of matching routes answer ``status``. A 429 is
  ServiceNow's rate-limit refusal: ``Retry-After`` plus ``X-RateLimit-Limit``,
  ``X-RateLimit-Reset`` (Unix time of the next hourly reset) and ``X-RateLimit-Rule`` (the rule's
  sys_id), never ``X-RateLimit-Remaining``; a 401 is the not-authenticated answer; others carry
  ``{"error": {"message", "detail"}, "status": "failure"}``.
- :meth:`Faults.rate_limit`: a real rate-limit rule, counted per clock hour: every matching
  answer carries the three ``X-RateLimit-*`` headers, and calls past the limit get the 429.
- :meth:`Faults.reject_records`: writes whose resulting record matches a predicate answer 403,
  as a business rule that aborts the write (in an import, the row's state is ``error``).
- :meth:`Faults.delay`: slow answers.

Routes are matched by their key (``"GET /api/now/table/{table}"``) with shell wildcards, e.g.
``"POST */import/*"`` or ``"* /api/now/table/*"``. Requests inside a batch are keyed
``"BATCH <method> <template>"``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from http import HTTPStatus
from typing import Any

from conveyor.testing.fakes.planned import PlannedFailures
from conveyor.testing.fakes.servicenow.routing import ServiceNowError

__all__ = ["RATE_RULE", "Faults", "RecordPredicate"]

RecordPredicate = Callable[[Mapping[str, str]], bool]
#: The sys_id ``X-RateLimit-Rule`` names (a rate limit rule of the fake instance).
RATE_RULE = "d5d1c5b3db3e3010c0a8e5f0ca96191e"
_DEFAULT_LIMIT = 1000


@dataclass(frozen=True)
class _Planned:
    status: int
    retry_after: int | None
    headers: Mapping[str, str | None]
    message: str | None
    detail: str | None


@dataclass
class _Rejection:
    table: str
    predicate: RecordPredicate
    message: str
    detail: str | None
    operations: frozenset[str] | None
    remaining: int | None


@dataclass
class _RateRule:
    route: str
    limit: int
    hour: datetime | None = None
    count: int = 0


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _api_name(route_key: str) -> str:
    for part, name in (
        ("/table", "Table API"),
        ("/import", "Import Set API"),
        ("/batch", "Batch API"),
    ):
        if part in route_key:
            return name
    return "REST API"


@dataclass
class Faults:
    """The planned failures of one fake (thread-safe). ``clock`` dates the rate-limit reset;
    ``unauthorized`` makes the 401."""

    clock: Callable[[], datetime]
    unauthorized: Callable[[], ServiceNowError]
    _planned: PlannedFailures[_Planned] = field(default_factory=PlannedFailures)
    _delays: PlannedFailures[float] = field(default_factory=PlannedFailures)
    _rejections: list[_Rejection] = field(default_factory=list)
    _rules: list[_RateRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        route: str = "*",
        status: int = 429,
        retry_after: int | None = None,
        headers: Mapping[str, str | None] | None = None,
        times: int = 1,
        message: str | None = None,
        detail: str | None = None,
    ) -> None:
        """The next ``times`` calls of routes matching ``route`` answer ``status``.
        ``retry_after`` sets a 429's ``Retry-After`` (default: the seconds to the reset);
        ``headers`` adds or replaces headers, a ``None`` value removes a default one."""
        planned = _Planned(status, retry_after, dict(headers or {}), message, detail)
        self._planned.add(route, planned, times)

    def rate_limit(self, limit: int, route: str = "*") -> None:
        """A rate-limit rule: ``limit`` calls per clock hour to routes matching ``route``."""
        with self._lock:
            self._rules.append(_RateRule(route, limit))

    def delay(self, route: str = "*", seconds: float = 0.5, times: int | None = None) -> None:
        """Calls of matching routes wait ``seconds`` before answering (``times`` or always)."""
        self._delays.add(route, seconds, times)

    def reject_records(
        self,
        table: str,
        predicate: RecordPredicate,
        message: str = "Operation Failed",
        detail: str | None = None,
        operations: Collection[str] | None = None,
        times: int | None = None,
    ) -> None:
        """Inserts, updates and deletes of ``table`` whose resulting record (stored values, as
        :meth:`FakeServiceNow.get` shows them) matches ``predicate`` are refused with 403 and
        ``{"error": {"message", "detail"}}`` (detail by default ``Error during insert of
        incident (INC0010001)``). ``operations`` narrows to ``insert``, ``update``,
        ``delete``; ``times`` makes it transient."""
        ops = frozenset(operations) if operations is not None else None
        with self._lock:
            self._rejections.append(_Rejection(table, predicate, message, detail, ops, times))

    def clear(self) -> None:
        with self._lock:
            self._planned.clear()
            self._delays.clear()
            self._rejections.clear()
            self._rules.clear()

    # -- used by the fake ---------------------------------------------------------------------

    def error_for(self, route_key: str) -> ServiceNowError | None:
        planned = self._planned.take(route_key)
        return None if planned is None else self._error(planned, route_key)

    def _error(self, planned: _Planned, route_key: str) -> ServiceNowError:
        headers: dict[str, str] = {}
        if planned.status == 401:
            error = self.unauthorized()
            headers.update(error.headers)
        elif planned.status == 429:
            limit = next(
                (r.limit for r in self._rules if fnmatchcase(route_key, r.route)), _DEFAULT_LIMIT
            )
            error = self._too_many(limit, route_key)
            headers.update(error.headers)
            if planned.retry_after is not None:
                headers["Retry-After"] = str(planned.retry_after)
        else:
            error = ServiceNowError(planned.status, _phrase(planned.status), planned.detail)
        if planned.message is not None:
            error.message = planned.message
        if planned.detail is not None:
            error.detail = planned.detail
        for name, value in planned.headers.items():
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        error.headers = headers
        return error

    def _too_many(self, limit: int, route_key: str) -> ServiceNowError:
        reset = self._next_reset()
        wait = max(1, int((reset - self.clock()).total_seconds()))
        return ServiceNowError(
            429,
            "Rate limit exceeded",
            f"Rate limit of {limit} requests per hour for {_api_name(route_key)} exceeded",
            headers={"Retry-After": str(wait), **self._rate_headers(limit, reset)},
        )

    def _next_reset(self) -> datetime:
        now = self.clock().astimezone(UTC)
        return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)

    @staticmethod
    def _rate_headers(limit: int, reset: datetime) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Reset": str(int(reset.timestamp())),
            "X-RateLimit-Rule": RATE_RULE,
        }

    def rate_check(self, route_key: str) -> tuple[dict[str, str], ServiceNowError | None]:
        """Count a call against the matching rate-limit rule: its headers, and the 429 when
        the call is past the limit."""
        with self._lock:
            rule = next((r for r in self._rules if fnmatchcase(route_key, r.route)), None)
            if rule is None:
                return {}, None
            hour = self.clock().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            if rule.hour != hour:
                rule.hour, rule.count = hour, 0
            rule.count += 1
            if rule.count > rule.limit:
                return {}, self._too_many(rule.limit, route_key)
            return self._rate_headers(rule.limit, self._next_reset()), None

    def delay_for(self, route_key: str) -> float:
        return self._delays.take(route_key) or 0.0

    def rejection_for(
        self, table: str, operation: str, record: Mapping[str, Any]
    ) -> ServiceNowError | None:
        with self._lock:
            for rule in self._rejections:
                if rule.table != table or (
                    rule.operations is not None and operation not in rule.operations
                ):
                    continue
                if not rule.predicate(record):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rejections.remove(rule)
                name = record.get("number") or record.get("sys_id") or ""
                detail = rule.detail or f"Error during {operation} of {table} ({name})"
                return ServiceNowError(403, rule.message, detail)
        return None
