"""The contract harness of the Salesforce connector: the fake org plays the remote user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connectors.salesforce import SalesforceConnector, SalesforceSettings
from conveyor.testing.fakes.salesforce.client import simple_salesforce_session
from conveyor.testing.fakes.salesforce.clock import system_clock
from conveyor.testing.fakes.salesforce.describe import custom_field
from conveyor.testing.fakes.salesforce.fake import FakeSalesforce

__all__ = ["EXTERNAL_ID", "SalesforceHarness", "fake_org"]

EXTERNAL_ID = "Conveyor_Key__c"
CUSTOM = [
    custom_field(EXTERNAL_ID, external_id=True, unique=True),
    custom_field("Flag__c", "boolean"),
    custom_field("Opened__c", "date"),
    custom_field("Reviewed__c", "datetime"),
]
#: Which fake route each contract operation calls (fnmatch patterns of "METHOD template").
ROUTES = {
    "check": "GET */limits",
    "read": "GET */queryAll*",
    "write": "PATCH */composite/sobjects*",
    "delete": "DELETE */composite/sobjects",
    "scan": "GET */query*",
}


@contextmanager
def fake_org() -> Iterator[FakeSalesforce]:
    with FakeSalesforce(custom_fields={"Account": CUSTOM}) as fake:
        yield fake


@dataclass
class SalesforceHarness:
    fake: FakeSalesforce
    connector: SalesforceConnector
    entity: str = "Account"
    fields: Sequence[str] = (
        "Name",
        "NumberOfEmployees",
        "AnnualRevenue",
        "Flag__c",
        "Opened__c",
        "Reviewed__c",
    )
    external_id_field: str = EXTERNAL_ID
    seeds_share_instants: bool = True  # SystemModstamp has whole seconds

    @classmethod
    def open(cls, fake: FakeSalesforce) -> SalesforceHarness:
        session, url, token = simple_salesforce_session(fake)
        settings = SalesforceSettings.model_validate(
            {"instance_url": url, "access_token": token, "page_size": 200}  # the smallest page
        )
        return cls(fake, SalesforceConnector(settings, session=session))

    def close(self) -> None:
        self.connector.close()

    def sample(self, n: int) -> dict[str, Any]:
        return {
            "Name": f"Account {n}",
            "NumberOfEmployees": 10 + n,
            "AnnualRevenue": str(Decimal(1000 + n) / 4),
            "Flag__c": n % 2 == 0,
            "Opened__c": (dt.date(2024, 1, 1) + dt.timedelta(days=n)).isoformat(),
            "Reviewed__c": f"2024-02-{1 + n % 27:02d}T08:00:00.000Z",
        }

    def invalid(self, n: int) -> dict[str, Any]:
        return {**self.sample(n), "NumberOfEmployees": "many"}

    def seed(self, values: Mapping[str, Any]) -> str:
        return self.fake.seed(self.entity, [dict(values)])[0]

    def update(self, id: str, values: Mapping[str, Any]) -> None:
        self.fake.update(self.entity, id, values)

    def remove(self, id: str) -> None:
        self.fake.delete(self.entity, id)

    def set_clock(self, moment: dt.datetime | None) -> None:
        self.fake.clock = system_clock if moment is None else (lambda: moment)

    def fail_next(self, op: str, status: int, retry_after: float | None = None) -> None:
        self.fake.faults.fail_next(ROUTES[op], status=status, retry_after=retry_after)
