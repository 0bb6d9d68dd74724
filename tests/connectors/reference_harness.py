"""The contract harness of the reference connector: its store plays the remote user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.testing.reference import ReferenceConnector, from_settings

__all__ = ["ENTITY", "FIELDS", "ReferenceHarness", "settings"]

ENTITY = "accounts"
FIELDS: dict[str, Any] = {
    "Name": "string",
    "Employees": "integer",
    "Revenue": "decimal",
    "Active": "boolean",
    "Opened": "date",
    "Reviewed": "datetime",
    "Ext": "string",
}


def settings(url: str, **overrides: Any) -> dict[str, Any]:
    """Settings with one entity (accounts, external id Ext), small pages and batches."""
    entities = {ENTITY: {"fields": FIELDS, "external_id_field": "Ext"}}
    return {"url": url, "entities": entities, "page_size": 5, "batch_size": 4} | overrides


@dataclass
class ReferenceHarness:
    """Arranges the reference remote for the contract suite (see ContractHarness)."""

    connector: ReferenceConnector
    entity: str = ENTITY
    fields: Sequence[str] = ("Name", "Employees", "Revenue", "Active", "Opened", "Reviewed")
    external_id_field: str = "Ext"
    seeds_share_instants: bool = False
    clock_settable: bool = True

    @classmethod
    def open(cls, url: str, **overrides: Any) -> ReferenceHarness:
        return cls(from_settings(settings(url, **overrides)))

    def sample(self, n: int) -> dict[str, Any]:
        # types vary on purpose (float, int, text): the suite compares canonical values
        return {
            "Name": f"Account {n}",
            "Employees": str(10 + n) if n % 2 else 10 + n,
            "Revenue": 1000.5 + n,
            "Active": n % 2 == 0,
            "Opened": dt.date(2024, 1, 1) + dt.timedelta(days=n),
            "Reviewed": f"2024-02-01T10:00:{n % 60:02d}+01:00",
        }

    def invalid(self, n: int) -> dict[str, Any]:
        return self.sample(n) | {"Employees": "a few"}

    def seed(self, values: Mapping[str, Any]) -> str:
        return self.connector.store(self.entity).create(values)

    def update(self, id: str, values: Mapping[str, Any]) -> None:
        self.connector.store(self.entity).update(id, values)

    def remove(self, id: str) -> None:
        self.connector.store(self.entity).remove(id)

    def set_clock(self, moment: dt.datetime | None) -> None:
        if not self.clock_settable:
            raise NotImplementedError("this harness leaves the clock alone")
        self.connector.clock = _now if moment is None else (lambda: moment)

    def fail_next(self, op: str, status: int, retry_after: float | None = None) -> None:
        self.connector.faults.fail_status(op, status, retry_after)  # type: ignore[arg-type]

    def close(self) -> None:
        self.connector.close()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
