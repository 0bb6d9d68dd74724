"""The business partners of the fake system, with SAP's number range and a way to roll back.

A partner is a dict of every property of ``A_BusinessPartnerType`` in its stored form (see
:mod:`~conveyor.testing.fakes.sap.values`). Partners are kept in key order as SAP keeps them:
numeric keys compare as the zero-padded internal number (``ALPHA`` conversion), so ``999``
comes before ``1000001``. New partners without a key get the next number of the internal range,
starting at ``1000001``; a deleted partner's number is not given out again.

A ``$batch`` changeset runs between :meth:`Store.snapshot` and, if it fails, :meth:`Store.restore`.
Callers hold :attr:`Store.lock` across a read-modify-write. A stored partner is never changed in
place (a write stores a new dict), so a snapshot is a shallow copy, and :attr:`Store.version`
(moved by every write) tells a reader when its cached rows are out of date.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conveyor.testing.fakes.sap.values import Clock, etag_for

__all__ = ["FIRST_NUMBER", "Snapshot", "Store", "etag_of", "internal_key", "stamp_of"]

FIRST_NUMBER = 1000001
_KEY_LENGTH = 10


def internal_key(key: str) -> str:
    """SAP's internal form of a partner number: numeric keys zero-padded to ten digits."""
    return key.rjust(_KEY_LENGTH, "0") if key.isdigit() else key


def stamp_of(values: dict[str, Any]) -> datetime:
    """When the partner was last written (local wall time): its change stamp, or its creation
    stamp while it has never been changed."""
    day = values["LastChangeDate"] or values["CreationDate"]
    moment = values["LastChangeTime"] if values["LastChangeDate"] else values["CreationTime"]
    return datetime.combine(day.date(), moment)


def etag_of(values: dict[str, Any]) -> str:
    return etag_for(stamp_of(values))


@dataclass(frozen=True)
class Snapshot:
    partners: dict[str, dict[str, Any]]
    next_number: int


class Store:
    """Partners by key (thread-safe when callers hold :attr:`lock`)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._partners: dict[str, dict[str, Any]] = {}
        self._next_number = FIRST_NUMBER
        self.version = 0  # moves on every write
        self._rows: tuple[int, list[dict[str, Any]]] = (-1, [])

    def get(self, key: str) -> dict[str, Any] | None:
        return self._partners.get(key)

    def rows(self) -> list[dict[str, Any]]:
        """Every partner in key order (the stored dicts: do not change them)."""
        if self._rows[0] != self.version:
            ordered = [self._partners[k] for k in sorted(self._partners, key=internal_key)]
            self._rows = (self.version, ordered)
        return list(self._rows[1])

    def put(self, values: dict[str, Any]) -> None:
        self._partners[values["BusinessPartner"]] = values
        self.version += 1

    def remove(self, key: str) -> None:
        """Drop a partner (its number is not drawn again, as SAP's number range moves on)."""
        del self._partners[key]
        self.version += 1

    def next_key(self) -> str:
        """The next free number of the internal number range."""
        while str(self._next_number) in self._partners:
            self._next_number += 1
        key = str(self._next_number)
        self._next_number += 1
        return key

    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self._partners), self._next_number)

    def restore(self, snapshot: Snapshot) -> None:
        self._partners = dict(snapshot.partners)
        self._next_number = snapshot.next_number
        self.version += 1
