"""The SAP connector's first steps (issue 9, in progress), against the fake SAP Gateway:
values read exactly, describe from the annotated $metadata, reads through __next, writes in
$batch changesets with CSRF and ETags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from connectors.sap import SapConnector, from_settings
from connectors.sap.values import change_moment, parse_date, parse_time, to_odata
from conveyor.connector import WriteRequest
from conveyor.testing.fakes.sap import FakeSap

SET = "A_BusinessPartner"
KEY = "YY1_ConveyorKey"


@pytest.fixture
def fake() -> Iterator[FakeSap]:
    with FakeSap(stamp_on_create=True) as fake:
        yield fake


@pytest.fixture
def sap(fake: FakeSap) -> Iterator[SapConnector]:
    connector = from_settings(
        {
            "service_url": fake.service_url,
            "username": fake.username,
            "password": fake.password,
            "system_time_zone": "Europe/Berlin",
        }
    )
    yield connector
    connector.close()


def test_odata_values_are_read_exactly() -> None:
    assert parse_date("/Date(1704067200000)/") == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert parse_date("/Date(1704067200000+0100)/") == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert parse_time("PT10H30M05S") == dt.timedelta(hours=10, minutes=30, seconds=5)
    berlin = ZoneInfo("Europe/Berlin")
    moment = change_moment("/Date(1704067200000)/", "PT10H30M00S", berlin)
    assert moment == dt.datetime(2024, 1, 1, 9, 30, tzinfo=dt.UTC), "system time is local"
    assert to_odata("12.50", "Edm.Decimal") == "12.50"
    assert to_odata("2024-01-01T00:00:00+00:00", "Edm.DateTime") == "/Date(1704067200000)/"


def test_describe_reads_the_sap_annotations(sap: SapConnector) -> None:
    info = sap.describe(SET)
    assert info.id_field == "BusinessPartner" and info.modified_field == "LastChangeDate"
    assert info.read_only(["LastName", "LastChangeDate", "CreationDate"]) == [
        "LastChangeDate",
        "CreationDate",
    ]
    assert info.fields[KEY].external_id


def test_reads_follow_next_links_and_writes_go_in_batch_changesets(
    fake: FakeSap, sap: SapConnector
) -> None:
    for n in range(230):
        fake.insert({"BusinessPartnerCategory": "1", "LastName": f"L{n}", KEY: f"s{n}"})
    fake.faults.empty_pages = 1  # an empty page that still carries __next goes on
    records = [r for b in sap.read_changes(SET, None, ["LastName", KEY]) for r in b.records]
    assert len(records) == 230 and all(r.modified_at is not None for r in records)
    by_key = {r.values[KEY]: r.id for r in records}
    requests = [
        WriteRequest("new1", {"BusinessPartnerCategory": "1", "LastName": "New"}),
        WriteRequest("s1", {"LastName": "Changed"}, remote_id=by_key["s1"]),
        WriteRequest("bad", {"BusinessPartnerCategory": "1", "LastName": "x" * 200}),
    ]
    results = sap.write(SET, requests, KEY)
    assert results[0].ok and results[1].ok, [r.error for r in results]
    assert results[2].error is not None, "too long: refused, the others kept"
    assert fake.partner(by_key["s1"])["LastName"] == "Changed"  # type: ignore[index]
    again = sap.write(SET, [requests[0]], KEY)
    assert again[0].record is not None and results[0].record is not None
    assert again[0].record.id == results[0].record.id, "a retried create finds its partner"
