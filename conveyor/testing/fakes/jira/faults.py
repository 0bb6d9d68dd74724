"""Failures on demand, so connector tests can prove how they cope with a misbehaving Jira.

- :meth:`Faults.fail_next`: the next calls of matching routes answer 429 (with or without
  ``Retry-After``; with ``X-RateLimit-Reset`` as an ISO timestamp and ``RateLimit-Reason``),
  503 (optionally with ``Retry-After``), 401 (the deployment's own 401) or any status.
- :meth:`Faults.reject_issues`: creates and edits whose resulting issue matches a predicate
  answer 400 in Jira's shape, ``{"errorMessages": [...], "errors": {field: message}}``.
- :meth:`Faults.delay`: slow answers.

Routes are matched by their key (``"GET /rest/api/{version}/search/jql"``) with shell
wildcards, e.g. ``"POST */issue"`` or ``"GET */search*"``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from conveyor.testing.fakes.jira.routing import JiraError
from conveyor.testing.fakes.planned import PlannedFailures

__all__ = ["Faults", "IssuePredicate"]

IssuePredicate = Callable[[Mapping[str, Any]], bool]

_MESSAGES = {
    429: "Rate limit exceeded.",
    503: "Service Unavailable",
    500: "Internal server error",
}
_REJECTED = "The issue was rejected by a workflow validator."


@dataclass(frozen=True)
class _Planned:
    status: int
    retry_after: int | None
    headers: Mapping[str, str | None]
    message: str | None


@dataclass
class _Rejection:
    predicate: IssuePredicate
    error: JiraError
    operations: frozenset[str] | None
    remaining: int | None


@dataclass
class Faults:
    """The planned failures of one fake (thread-safe). ``clock`` dates ``X-RateLimit-Reset``;
    ``unauthorized`` makes the deployment's 401."""

    clock: Callable[[], datetime]
    unauthorized: Callable[[], JiraError]
    _planned: PlannedFailures[_Planned] = field(default_factory=PlannedFailures)
    _delays: PlannedFailures[float] = field(default_factory=PlannedFailures)
    _rejections: list[_Rejection] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        route: str = "*",
        status: int = 429,
        retry_after: int | None = None,
        headers: Mapping[str, str | None] | None = None,
        times: int = 1,
        message: str | None = None,
    ) -> None:
        """The next ``times`` calls of routes matching ``route`` answer ``status``.

        A 429 carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining: 0``, ``X-RateLimit-Reset``
        (ISO, ``yyyy-MM-ddTHH:mmZ``) and ``RateLimit-Reason: jira-burst-based``, plus
        ``Retry-After`` when ``retry_after`` is given (Jira sends it only sometimes).
        ``headers`` adds or replaces headers; a ``None`` value removes a default one.
        """
        planned = _Planned(status, retry_after, dict(headers or {}), message)
        self._planned.add(route, planned, times)

    def delay(self, route: str = "*", seconds: float = 0.5, times: int | None = None) -> None:
        """Calls of matching routes wait ``seconds`` before answering (``times`` or always)."""
        self._delays.add(route, seconds, times)

    def reject_issues(
        self,
        predicate: IssuePredicate,
        errors: Mapping[str, str] | None = None,
        messages: Collection[str] | None = None,
        operations: Collection[str] | None = None,
        times: int | None = None,
    ) -> None:
        """Creates and edits whose resulting issue (as :meth:`FakeJira.issue` shows it)
        matches ``predicate`` answer 400 with ``messages`` and per-field ``errors``.
        ``operations`` narrows to ``create``, ``update`` or ``transition`` (one that sets
        fields); ``times`` makes it transient."""
        if errors is None and messages is None:
            messages = [_REJECTED]
        error = JiraError(400, tuple(messages or ()), dict(errors or {}))
        ops = frozenset(operations) if operations is not None else None
        with self._lock:
            self._rejections.append(_Rejection(predicate, error, ops, times))

    def clear(self) -> None:
        with self._lock:
            self._planned.clear()
            self._delays.clear()
            self._rejections.clear()

    # -- used by the fake ---------------------------------------------------------------------

    def error_for(self, route_key: str) -> JiraError | None:
        planned = self._planned.take(route_key)
        return None if planned is None else self._error(planned)

    def _error(self, planned: _Planned) -> JiraError:
        if planned.status == 401:
            error = self.unauthorized()
            defaults: dict[str, str] = dict(error.headers)
        else:
            message = planned.message or _MESSAGES.get(planned.status, "Unexpected error")
            error = JiraError(planned.status, (message,))
            defaults = {}
        if planned.retry_after is not None:
            defaults["Retry-After"] = str(planned.retry_after)
        if planned.status == 429:
            wait = planned.retry_after if planned.retry_after is not None else 60
            reset = self.clock().astimezone(UTC) + timedelta(seconds=wait)
            defaults.update(
                {
                    "X-RateLimit-Limit": "100",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
                    "RateLimit-Reason": "jira-burst-based",
                }
            )
        for name, value in planned.headers.items():
            if value is None:
                defaults.pop(name, None)
            else:
                defaults[name] = value
        error.headers = defaults
        return error

    def delay_for(self, route_key: str) -> float:
        return self._delays.take(route_key) or 0.0

    def rejection_for(self, operation: str, issue: Mapping[str, Any]) -> JiraError | None:
        with self._lock:
            for rule in self._rejections:
                if rule.operations is not None and operation not in rule.operations:
                    continue
                if not rule.predicate(issue):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rejections.remove(rule)
                return rule.error
        return None
