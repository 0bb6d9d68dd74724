"""The contract harness of the SAP connector: the fake SAP Gateway plays the remote user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from connectors.sap import SapConnector, from_settings
from conveyor.testing.fakes.salesforce.clock import system_clock
from conveyor.testing.fakes.sap import FakeSap

__all__ = ["KEY_FIELD", "SapHarness", "fake_service", "settings_for"]

KEY_FIELD = "YY1_ConveyorKey"
SERVICE = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
#: Which fake route each contract operation calls (fnmatch patterns of "METHOD template").
ROUTES = {
    "check": f"GET {SERVICE}/",
    "read": f"GET {SERVICE}/A_BusinessPartner",
    "write": f"POST {SERVICE}/$batch",
    "delete": f"DELETE {SERVICE}/A_BusinessPartner(*)",
    "scan": f"GET {SERVICE}/A_BusinessPartner",
}


@contextmanager
def fake_service(page_size: int = 5, deletable: bool = False) -> Iterator[FakeSap]:
    with FakeSap(page_size=page_size, deletable=deletable) as fake:
        yield fake


def settings_for(fake: FakeSap, **extra: Any) -> dict[str, Any]:
    return {
        "service_url": fake.service_url,
        "username": fake.username,
        "password": fake.password,
        "system_time_zone": "Europe/Berlin",
        **extra,
    }


@dataclass
class SapHarness:
    fake: FakeSap
    connector: SapConnector
    entity: str = "A_BusinessPartner"
    fields: Sequence[str] = ("BusinessPartnerCategory", "FirstName", "LastName", "SearchTerm1")
    external_id_field: str = KEY_FIELD
    seeds_share_instants: bool = True  # SAP's change stamps keep whole seconds

    @classmethod
    def open(cls, fake: FakeSap) -> SapHarness:
        settings = settings_for(fake, page_size=fake.page_size, changeset_size=2, batch_size=4)
        connector = from_settings(settings)
        connector.check()
        connector.describe("A_BusinessPartner")
        return cls(fake, connector)

    def close(self) -> None:
        self.connector.close()

    def sample(self, n: int) -> dict[str, Any]:
        return {
            "BusinessPartnerCategory": "1",
            "FirstName": f"Ada {n}",
            "LastName": f"Lovelace-{n}",
            "SearchTerm1": f"ADA{n}",
        }

    def invalid(self, n: int) -> dict[str, Any]:
        return {**self.sample(n), "LastName": "x" * 41}  # MaxLength 40

    def seed(self, values: Mapping[str, Any]) -> str:
        return self.fake.insert(dict(values))

    def update(self, id: str, values: Mapping[str, Any]) -> None:
        self.fake.update(id, dict(values))

    def remove(self, id: str) -> None:
        self.fake.delete(id)

    def set_clock(self, moment: dt.datetime | None) -> None:
        self.fake.clock = (lambda: moment) if moment is not None else system_clock

    def fail_next(self, op: str, status: int, retry_after: float | None = None) -> None:
        seconds = None if retry_after is None else int(retry_after)
        self.fake.faults.fail_next(ROUTES[op], status=status, retry_after=seconds)
