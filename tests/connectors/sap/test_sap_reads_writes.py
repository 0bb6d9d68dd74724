"""The SAP connector's reads and writes against the fake SAP Gateway: values read exactly,
describe from the annotated $metadata, reads through __next (never-changed partners by their
creation stamp), writes in $batch changesets with CSRF and ETags, a 412 as a stale record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from connectors.sap import SapConnector, from_settings
from connectors.sap.values import change_moment, parse_date, parse_time, to_odata
from conveyor.connector import WriteRequest
from conveyor.errors import StaleRecordError
from conveyor.testing.fakes.salesforce.clock import ManualClock
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


def test_a_partner_never_changed_is_read_by_its_creation_stamp() -> None:
    """SAP leaves LastChangeDate empty until the first change: a partner created after the
    cursor and never changed is read by CreationDate/CreationTime, and only once."""
    clock = ManualClock("2025-03-01T08:00:00Z")
    with FakeSap(clock=clock) as fake:
        sap = from_settings(
            {
                "service_url": fake.service_url,
                "username": fake.username,
                "password": fake.password,
                "system_time_zone": "Europe/Berlin",
            }
        )
        try:
            old = fake.insert({"BusinessPartnerCategory": "1", "LastName": "Old", KEY: "o"})
            first = [r for b in sap.read_changes(SET, None, ["LastName"]) for r in b.records]
            assert [r.id for r in first] == [old]
            assert first[0].modified_at == dt.datetime(2025, 3, 1, 8, tzinfo=dt.UTC)
            cursor = clock.advance(60)
            new = fake.insert({"BusinessPartnerCategory": "1", "LastName": "New", KEY: "n"})
            assert fake.partner(new)["LastChangeDate"] is None  # type: ignore[index]
            later = [r for b in sap.read_changes(SET, cursor, ["LastName"]) for r in b.records]
            assert [(r.id, r.values["LastName"]) for r in later] == [(new, "New")]
            assert later[0].modified_at == cursor
            clock.advance(60)
            fake.update(old, {"LastName": "Older"})
            cursor = clock.advance(1)
            fake.update(old, {"LastName": "Oldest"})
            latest = [r for b in sap.read_changes(SET, cursor, ["LastName"]) for r in b.records]
            assert [(r.id, r.values["LastName"]) for r in latest] == [(old, "Oldest")]
        finally:
            sap.close()


def test_a_stale_etag_is_a_stale_record_carrying_the_partner_as_it_is_now(
    fake: FakeSap, sap: SapConnector
) -> None:
    key = fake.insert({"BusinessPartnerCategory": "1", "LastName": "Before", KEY: "k1"})
    [record] = [r for b in sap.read_changes(SET, None, ["LastName"]) for r in b.records]
    assert record.version == fake.etag(key)
    fake.clock = lambda: dt.datetime(2030, 1, 1, tzinfo=dt.UTC)  # a later second: a new ETag
    fake.update(key, {"LastName": "Changed in SAP"})
    [result] = sap.write(SET, [WriteRequest("k1", {"LastName": "Mine"}, key, record.version)], KEY)
    assert isinstance(result.error, StaleRecordError), result.error
    assert result.current is not None and result.current.values["LastName"] == "Changed in SAP"
    assert result.current.version == fake.etag(key)
    assert fake.partner(key)["LastName"] == "Changed in SAP"  # type: ignore[index]
    [again] = sap.write(
        SET, [WriteRequest("k1", {"LastName": "Mine"}, key, result.current.version)], KEY
    )
    assert again.ok and again.record is not None and again.record.version == fake.etag(key)
    assert fake.partner(key)["LastName"] == "Mine"  # type: ignore[index]


def test_values_metadata_says_sap_refuses_are_refused_before_sending(
    fake: FakeSap, sap: SapConnector
) -> None:
    """One refused change rolls its whole changeset back: a value that does not fit the
    property's MaxLength or Precision/Scale is refused without a call."""
    person = {"BusinessPartnerCategory": "1", "LastName": "Fine"}
    requests = [
        WriteRequest("long", {**person, "LastName": "y" * 41}),
        WriteRequest("cents", {**person, "YY1_CreditLimit": "10.005"}),
        WriteRequest("big", {**person, "YY1_CreditLimit": "12345678901234"}),
        WriteRequest("ok", {**person, "YY1_CreditLimit": "1234567890123.45"}),
    ]
    results = sap.write(SET, requests, KEY)
    reasons = [str(r.error) if r.error else None for r in results]
    assert reasons[0] and "LastName holds 41 characters; SAP takes at most 40" in reasons[0]
    assert reasons[1] and "does not fit Edm.Decimal(15,2)" in reasons[1]
    assert reasons[2] and "at most 13 digits before the point" in reasons[2]
    assert reasons[3] is None and results[3].record is not None
    assert (
        fake.calls_by_route.get(
            "BATCH POST /sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner"
        )
        == 1
    )
