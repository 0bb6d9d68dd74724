"""What every fake's ``Faults.fail_next`` (and ``delay``) shares: what is planned by route.

A test plans that the next ``times`` calls of routes whose key matches a shell pattern
(``"POST */issue"``, ``"* */A_BusinessPartner*"``) fail, and the fake asks at every call whether
one is due. That queue is the same for every system: kept in the order planned, the first
matching plan wins, each use counts it down and it goes when used up, and a lock guards it
because the fakes serve from threads. What a plan carries (a status and a message, or a ready
error) and how it becomes the system's own error stays in each fake's ``faults.py``, with its
``fail_next`` signature. A delay is planned the same way (``times=None``: every call).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Generic, TypeVar

__all__ = ["PlannedFailures"]

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    route_glob: str
    failure: T
    remaining: int | None  # None: every call, for good


class PlannedFailures(Generic[T]):
    """Failures of type ``T`` planned for the next calls of routes matching a glob
    (thread-safe)."""

    def __init__(self) -> None:
        self._entries: list[_Entry[T]] = []
        self._lock = threading.Lock()

    def add(self, route_glob: str, failure: T, times: int | None) -> None:
        """The next ``times`` calls (None: every call) of routes whose key matches
        ``route_glob`` (shell wildcards, case-sensitive) get ``failure``, after any failure
        planned earlier for them."""
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._entries.append(_Entry(route_glob, failure, times))

    def take(self, route_key: str) -> T | None:
        """The failure due for one call of ``route_key``: the earliest planned whose glob matches,
        counted down (and dropped when used up); ``None`` when none is due."""
        with self._lock:
            for index, entry in enumerate(self._entries):
                if fnmatchcase(route_key, entry.route_glob):
                    if entry.remaining is not None:
                        entry.remaining -= 1
                        if entry.remaining == 0:
                            del self._entries[index]
                    return entry.failure
        return None

    def clear(self) -> None:
        """Forget every planned failure."""
        with self._lock:
            self._entries.clear()
