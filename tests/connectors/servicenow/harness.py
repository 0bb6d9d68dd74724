"""The contract harness of the ServiceNow connector: the fake instance plays the remote user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from connectors.servicenow import ServiceNowConnector, from_settings
from conveyor.testing.fakes.servicenow import FakeServiceNow

__all__ = ["KEY_FIELD", "ServiceNowHarness", "fake_instance", "settings_for"]

KEY_FIELD = "u_conveyor_key"
STATES = ("1", "2", "3")
#: Which fake route each contract operation calls (fnmatch patterns of "METHOD template").
ROUTES = {
    "check": "GET /api/now/table/{table}",
    "read": "GET /api/now/table/{table}",
    "write": "POST /api/now/table/{table}",
    "delete": "DELETE /api/now/table/{table}/{sys_id}",
    "scan": "GET /api/now/table/{table}",
}


@contextmanager
def fake_instance() -> Iterator[FakeServiceNow]:
    with FakeServiceNow() as fake:
        yield fake


def settings_for(fake: FakeServiceNow, **extra: Any) -> dict[str, Any]:
    return {"instance_url": fake.url, "username": fake.username, "password": fake.password, **extra}


@dataclass
class ServiceNowHarness:
    fake: FakeServiceNow
    connector: ServiceNowConnector
    entity: str = "incident"
    fields: Sequence[str] = ("short_description", "description", "state", "impact")
    external_id_field: str = KEY_FIELD
    seeds_share_instants: bool = True  # sys_updated_on keeps whole seconds

    @classmethod
    def open(
        cls, fake: FakeServiceNow, page_size: int = 5, deletes: str = "key_scan"
    ) -> ServiceNowHarness:
        connector = from_settings(settings_for(fake, page_size=page_size, deletes=deletes))
        connector.check()
        connector.describe("incident")
        return cls(fake, connector)

    def close(self) -> None:
        self.connector.close()

    def sample(self, n: int) -> dict[str, Any]:
        return {
            "short_description": f"Incident {n}",
            "description": f"Printer {n} jams\nsecond line",
            "state": STATES[n % len(STATES)],
            "impact": str(1 + n % 3),
        }

    def invalid(self, n: int) -> dict[str, Any]:
        return {**self.sample(n), "state": "99"}

    def seed(self, values: Mapping[str, Any]) -> str:
        return self.fake.insert(self.entity, dict(values))

    def update(self, id: str, values: Mapping[str, Any]) -> None:
        self.fake.update(self.entity, id, dict(values))

    def remove(self, id: str) -> None:
        self.fake.delete(self.entity, id)

    def set_clock(self, moment: dt.datetime | None) -> None:
        self.fake.clock = (lambda: moment) if moment is not None else _now

    def fail_next(self, op: str, status: int, retry_after: float | None = None) -> None:
        seconds = None if retry_after is None else int(retry_after)
        # ServiceNow sends Retry-After on its own 429s only; a proxy's 503 may carry one
        headers = {"Retry-After": str(seconds)} if seconds is not None and status != 429 else None
        self.fake.faults.fail_next(ROUTES[op], status=status, retry_after=seconds, headers=headers)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
