"""Failures on demand, so connector tests can prove how they cope with a misbehaving system.

- :meth:`Faults.fail_next`: the next ``times`` calls of routes matching a shell pattern answer
  ``status`` with an OData error body (``Retry-After`` when ``retry_after`` is given, as SAP's
  Web Dispatcher and API Management send it with 429 and 503).
- :meth:`Faults.reject`: creates, updates and deletes whose partner (the resulting one; for a
  delete the one to be deleted) matches a predicate are refused (400 by default) with the given
  code, message and ``errordetails``; inside a ``$batch`` changeset the refusal rolls the
  changeset back.
- :attr:`Faults.require_if_match`: updates and deletes without ``If-Match`` answer 428 (some
  SAP services do; off by default, when a missing ``If-Match`` is accepted).
- :attr:`Faults.empty_pages`: the next N entity-set reads answer an empty page that still
  carries a ``__next`` to the same position.
- :meth:`Faults.before_next`: the next call of a route runs an action first (another SAP user
  changing a partner just before a ``$batch`` arrives, so its ETag no longer matches).

Routes are matched by their key
(``"GET /sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner"``) with shell wildcards,
e.g. ``"* */A_BusinessPartner*"`` or ``"DELETE *"``. Requests inside a ``$batch`` are keyed
``"BATCH <method> <template>"``. An injected failure answers before the CSRF check and before
anything is written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http import HTTPStatus
from typing import Any

from conveyor.testing.fakes.planned import PlannedFailures
from conveyor.testing.fakes.sap.errors import ODataError

__all__ = ["Faults", "PartnerPredicate"]

PartnerPredicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class _Planned:
    status: int
    retry_after: int | None
    message: str | None


@dataclass
class _Rejection:
    predicate: PartnerPredicate
    code: str
    message: str
    details: Sequence[Mapping[str, Any]] | None
    status: int
    operations: frozenset[str] | None
    remaining: int | None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


@dataclass
class Faults:
    """The planned failures of one fake (thread-safe)."""

    #: Updates and deletes without ``If-Match`` answer 428 Precondition Required while True.
    require_if_match: bool = False
    #: The next N entity-set reads answer an empty page with a ``__next``.
    empty_pages: int = 0
    _planned: PlannedFailures[_Planned] = field(default_factory=PlannedFailures)
    _rejections: list[_Rejection] = field(default_factory=list)
    _actions: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before_next(self, route_glob: str, action: Callable[[], None]) -> None:
        """The next call of a route matching ``route_glob`` runs ``action`` before it is
        served (once); the action may use the fake as a remote user (``FakeSap.update``)."""
        with self._lock:
            self._actions.append((route_glob, action))

    def run_before(self, route_key: str) -> None:
        with self._lock:
            found = next((a for a in self._actions if fnmatchcase(route_key, a[0])), None)
            if found is not None:
                self._actions.remove(found)
        if found is not None:
            found[1]()

    def fail_next(
        self,
        route_glob: str = "*",
        status: int = 503,
        retry_after: int | None = None,
        times: int = 1,
        message: str | None = None,
    ) -> None:
        """The next ``times`` calls of routes whose key matches ``route_glob`` answer
        ``status`` (``message``: the error text, by default the status's phrase)."""
        self._planned.add(route_glob, _Planned(status, retry_after, message), times)

    def reject(
        self,
        predicate: PartnerPredicate,
        code: str = "R11/499",
        message: str = "The business partner cannot be saved",
        details: Sequence[Mapping[str, Any]] | None = None,
        *,
        status: int = 400,
        operations: Collection[str] | None = None,
        times: int | None = None,
    ) -> None:
        """Creates, updates and deletes whose partner (as :meth:`FakeSap.partner` shows it: the
        resulting one, for a delete the one to be deleted) matches ``predicate`` answer
        ``status`` with ``{"error": {"code": code, "message": {"lang": "en", "value":
        message}, "innererror": {"errordetails": details}}}`` (``details`` entries: ``code``,
        ``message``, ``severity``, ``target``; by default one that repeats the message).
        ``operations`` narrows to ``create``, ``update`` or ``delete``; ``times`` makes the
        refusal transient."""
        ops = frozenset(operations) if operations is not None else None
        with self._lock:
            self._rejections.append(
                _Rejection(predicate, code, message, details, status, ops, times)
            )

    def clear(self) -> None:
        with self._lock:
            self._planned.clear()
            self._rejections.clear()
            self._actions.clear()
            self.require_if_match = False
            self.empty_pages = 0

    # -- used by the fake ---------------------------------------------------------------------

    def error_for(self, route_key: str) -> ODataError | None:
        planned = self._planned.take(route_key)
        if planned is None:
            return None
        headers = {"Retry-After": str(planned.retry_after)} if planned.retry_after else {}
        return ODataError(
            planned.status,
            f"/IWFND/CM_BEC/{planned.status:03d}",
            planned.message or _phrase(planned.status),
            headers=headers,
        )

    def take_empty_page(self) -> bool:
        with self._lock:
            if self.empty_pages <= 0:
                return False
            self.empty_pages -= 1
            return True

    def rejection_for(self, operation: str, partner: Mapping[str, Any]) -> ODataError | None:
        with self._lock:
            for rule in self._rejections:
                if rule.operations is not None and operation not in rule.operations:
                    continue
                if not rule.predicate(partner):
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rejections.remove(rule)
                details = None
                if rule.details is not None:
                    details = [_detail(d) for d in rule.details]
                return ODataError(rule.status, rule.code, rule.message, details)
        return None


def _detail(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A caller's errordetails entry completed with SAP's other keys."""
    return {
        "code": entry.get("code", ""),
        "message": entry.get("message", ""),
        "propertyref": entry.get("propertyref", ""),
        "severity": entry.get("severity", "error"),
        "target": entry.get("target", ""),
        "transition": entry.get("transition", False),
    }
