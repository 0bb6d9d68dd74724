"""Parents by external id (``Account.Conveyor_Key__c``), and Bulk query reads streamed by
locator, against the fake org."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.salesforce import SalesforceConnector
from conveyor.connector import RemoteRecord, WriteRequest
from conveyor.testing.fakes.salesforce.client import simple_salesforce_session
from conveyor.testing.fakes.salesforce.describe import custom_field
from conveyor.testing.fakes.salesforce.fake import FakeSalesforce
from tests.connectors.salesforce.harness import EXTERNAL_ID

PARENT = f"Account.{EXTERNAL_ID}"
FIELDS = ["LastName", PARENT]
KEY = custom_field(EXTERNAL_ID, external_id=True, unique=True)


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce(custom_fields={"Account": [KEY], "Contact": [KEY]}) as fake:
        yield fake


def connect(fake: FakeSalesforce, **settings: object) -> SalesforceConnector:
    from connectors.salesforce import SalesforceSettings

    session, url, token = simple_salesforce_session(fake)
    values = {"instance_url": url, "access_token": token, "page_size": 200, **settings}
    return SalesforceConnector(SalesforceSettings.model_validate(values), session=session)


def read_all(connector: SalesforceConnector, entity: str = "Contact") -> list[RemoteRecord]:
    return [r for b in connector.read_changes(entity, None, FIELDS) for r in b.records]


def test_a_parents_key_is_read_as_a_path_and_null_when_there_is_no_parent(
    fake: FakeSalesforce,
) -> None:
    [acme] = fake.seed("Account", [{"Name": "Acme", EXTERNAL_ID: "A-1"}])
    fake.seed("Contact", [{"LastName": "Under", "AccountId": acme}, {"LastName": "Alone"}])
    connector = connect(fake)
    connector.describe("Contact")
    values = {r.values["LastName"]: r.values[PARENT] for r in read_all(connector)}
    assert values == {"Under": "A-1", "Alone": None}
    assert all("Account" not in r.values for r in read_all(connector))


def test_paths_are_checked_against_the_parents_describe_before_a_run(
    fake: FakeSalesforce,
) -> None:
    connector = connect(fake)
    info = connector.describe("Contact")
    asked = [PARENT, "Account.Nope__c", "Nobody.Name", "Account.Name"]
    assert info.unknown(asked) == ["Account.Nope__c", "Nobody.Name"]
    assert info.read_only([PARENT, "Account.Name"]) == ["Account.Name"], "not an external id"
    assert connector.calls == 2, "Contact, then Account once"
    info.unknown(asked)
    assert connector.calls == 2


def test_writes_set_and_clear_a_parent_by_its_key_and_refuse_an_unknown_one(
    fake: FakeSalesforce,
) -> None:
    [acme] = fake.seed("Account", [{"Name": "Acme", EXTERNAL_ID: "A-1"}])
    connector = connect(fake)
    connector.describe("Contact")
    made = connector.write(
        "Contact",
        [
            WriteRequest("c1", {"LastName": "One", PARENT: "a-1"}),  # keys match without case
            WriteRequest("c2", {"LastName": "Two", PARENT: "A-404"}),
        ],
        EXTERNAL_ID,
    )
    assert made[0].ok and made[0].record is not None
    assert made[1].error is not None and "A-404" in str(made[1].error)
    assert fake.get("Contact", made[0].record.id)["AccountId"] == acme  # type: ignore[index]
    cleared = connector.write(
        "Contact",
        [WriteRequest("c1", {PARENT: None}, remote_id=made[0].record.id)],
        EXTERNAL_ID,
    )
    assert cleared[0].ok
    assert fake.get("Contact", made[0].record.id)["AccountId"] is None  # type: ignore[index]


def test_bulk_writes_and_reads_carry_parents_too(fake: FakeSalesforce) -> None:
    [acme] = fake.seed("Account", [{"Name": "Acme", EXTERNAL_ID: "A-1"}])
    connector = connect(fake, bulk_threshold=50, poll_seconds=0.001)
    connector.describe("Contact")
    rows = [
        WriteRequest(f"c{i}", {"LastName": f"L{i}", PARENT: "A-1" if i % 2 else None})
        for i in range(250)
    ]
    assert all(r.ok for r in connector.write("Contact", rows, EXTERNAL_ID))
    assert fake.ingest_jobs(), "the write went through Bulk"
    parents = {r["LastName"]: r["AccountId"] for r in fake.records("Contact")}
    assert parents == {f"L{i}": acme if i % 2 else None for i in range(250)}
    read = {r.values["LastName"]: r.values[PARENT] for r in read_all(connector)}
    assert fake.query_jobs(), "the read went through Bulk"
    assert read == {f"L{i}": "A-1" if i % 2 else None for i in range(250)}


def test_a_large_read_is_a_bulk_query_streamed_page_by_page_with_tombstones(
    fake: FakeSalesforce,
) -> None:
    ids = fake.seed("Contact", [{"LastName": f"L{i}"} for i in range(450)])
    fake.delete("Contact", ids[7])
    connector = connect(fake, bulk_threshold=300, bulk_page_size=200, poll_seconds=0.001)
    pages = [
        len(batch.records)
        for batch in connector.read_changes("Contact", None, ["LastName", "Email"])
    ]
    assert pages == [200, 200, 50], "one page of maxRecords at a time"
    assert connector.calls == 6, "REST probe, create, poll, three result pages"
    records = {
        r.id: r for b in connector.read_changes("Contact", None, ["LastName"]) for r in b.records
    }
    assert records[ids[7]].deleted and not records[ids[8]].deleted
    assert records[ids[8]].values["LastName"] == "L8"
    assert records[ids[8]].modified_at is not None


def test_a_read_at_or_below_the_threshold_stays_on_rest(fake: FakeSalesforce) -> None:
    fake.seed("Contact", [{"LastName": f"L{i}"} for i in range(250)])
    connector = connect(fake, bulk_threshold=250)
    assert len(read_all(connector)) == 250
    assert not fake.query_jobs()
    assert connector.calls == 2, "two REST pages of 200"


def test_reads_can_be_incremental_on_another_datetime_field(fake: FakeSalesforce) -> None:
    fake.seed("Contact", [{"LastName": "Only"}])
    connector = connect(fake, modified_field="LastModifiedDate")
    assert connector.describe("Contact").modified_field == "LastModifiedDate"
    [record] = read_all(connector)
    assert record.modified_at is not None
    assert record.modified_at.isoformat().startswith(str(record.values["LastModifiedDate"])[:19])
