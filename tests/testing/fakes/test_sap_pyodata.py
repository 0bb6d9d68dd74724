"""pyodata 1.12.1, unmodified, against the fake SAP API_BUSINESS_PARTNER: metadata and its SAP
annotations read through pyodata's model, queries, single reads with ETags, creates and updates
(PATCH and MERGE) with the CSRF token in the session, ``$count``, paging by ``next_url``, and
``$batch`` changesets (one committed, one rolled back)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pyodata.exceptions import HttpError  # type: ignore[import-untyped]

from conveyor.testing.fakes.sap import FakeSap, ManualClock, pyodata_service, sap_session

ROOT = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
LIST = f"GET {ROOT}/A_BusinessPartner"
ONE = f"{ROOT}/A_BusinessPartner({{key}})"


@pytest.fixture
def fake() -> Iterator[FakeSap]:
    clock = ManualClock("2024-01-01T09:30:00Z", step=timedelta(seconds=1))
    with FakeSap(clock=clock, page_size=4) as running:
        for n in range(1, 7):
            running.insert(
                {
                    "BusinessPartnerCategory": "1",
                    "FirstName": f"First{n}",
                    "LastName": f"Last{n}",
                    "YY1_ConveyorKey": f"ext-{n}",
                    "BusinessPartnerIsBlocked": n == 6,
                }
            )
        running.reset_calls()
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def service(fake: FakeSap) -> Iterator[Any]:
    session = sap_session(fake, json=False)
    with session:
        service = pyodata_service(fake, session)  # GET $metadata and a CSRF token fetch
        fake.reset_calls()
        yield service


def test_metadata_annotations_read_through_pyodata_model(service: Any) -> None:
    entity_set = service.schema.entity_set("A_BusinessPartner")
    assert (entity_set.creatable, entity_set.updatable, entity_set.deletable) == (
        True,
        True,
        False,
    )
    entity_type = entity_set.entity_type
    assert entity_type.name == "A_BusinessPartnerType"
    assert [p.name for p in entity_type.key_proprties] == ["BusinessPartner"]
    key = entity_type.proprty("BusinessPartner")
    assert (key.typ.name, key.max_length, key.nullable) == ("Edm.String", 10, False)
    for read_only in (
        "CreationDate",
        "LastChangeDate",
        "LastChangeTime",
        "BusinessPartnerFullName",
    ):
        prop = entity_type.proprty(read_only)
        assert (prop.creatable, prop.updatable) == (False, False), read_only
    change_date = entity_type.proprty("LastChangeDate")
    assert (change_date.typ.name, change_date.date) == ("Edm.DateTime", True)
    assert entity_type.proprty("LastChangeTime").typ.name == "Edm.Time"
    credit = entity_type.proprty("YY1_CreditLimit")
    assert (credit.typ.name, credit.filterable, credit.sortable) == ("Edm.Decimal", False, False)
    assert entity_type.proprty("YY1_ConveyorKey").filterable is True
    assert entity_type.proprty("FirstName").label == "First Name"


def test_query_filter_select_top(fake: FakeSap, service: Any) -> None:
    partners = service.entity_sets.A_BusinessPartner
    request = partners.get_entities()
    found = (
        request.filter(request.YY1_ConveyorKey == "ext-2")
        .select("BusinessPartner,FirstName,YY1_ConveyorKey")
        .execute()
    )
    assert [(p.BusinessPartner, p.FirstName) for p in found] == [("1000002", "First2")]

    blocked = partners.get_entities().filter("BusinessPartnerIsBlocked eq true").execute()
    assert [p.YY1_ConveyorKey for p in blocked] == ["ext-6"]

    top = partners.get_entities().order_by("LastName desc").top(2).execute()
    assert [p.LastName for p in top] == ["Last6", "Last5"]
    assert top.next_url is None  # $top below the page size: one page

    fake.update("1000003", {"FirstName": "Changed"})
    since = partners.get_entities()
    changed = since.filter(
        since.LastChangeDate >= datetime(2024, 1, 1, tzinfo=UTC),  # datetime'2024-01-01T00:00:00'
        LastName__startswith="Last",
    ).execute()
    assert [p.BusinessPartner for p in changed] == ["1000003"]
    assert fake.calls_by_route == {LIST: 4}


def test_paging_with_next_url_and_inline_count(fake: FakeSap, service: Any) -> None:
    partners = service.entity_sets.A_BusinessPartner
    first = partners.get_entities().count(inline=True).execute()
    assert (len(first), first.total_count) == (4, 6)
    assert first.next_url.startswith(fake.service_url + "/A_BusinessPartner?")
    rest = partners.get_entities().next_url(first.next_url).execute()
    assert [p.BusinessPartner for p in [*first, *rest]] == [f"100000{n}" for n in range(1, 7)]
    assert rest.next_url is None
    assert partners.get_entities().count().execute() == 6
    assert partners.get_entities().filter("FirstName eq 'First3'").count().execute() == 1


def test_get_entity_carries_etag_and_local_stamps(fake: FakeSap, service: Any) -> None:
    partner = service.entity_sets.A_BusinessPartner.get_entity("1000001").execute()
    assert partner.etag == fake.etag("1000001")
    assert partner.etag.startswith('W/"')
    # 09:30:00Z on a Berlin system is 10:30 local, written as if UTC
    assert partner.CreationDate == datetime(2024, 1, 1, tzinfo=UTC)
    assert partner.CreationTime == "PT10H30M00S"
    with pytest.raises(HttpError) as missing:
        service.entity_sets.A_BusinessPartner.get_entity("999").execute()
    assert missing.value.response.status_code == 404


def test_create_and_update_with_csrf_token(fake: FakeSap, service: Any) -> None:
    partners = service.entity_sets.A_BusinessPartner
    created = (
        partners.create_entity()
        .set(
            BusinessPartnerCategory="2",
            OrganizationBPName1="ACME",
            SearchTerm1="acme",
            YY1_ConveyorKey="ext-acme",
            YY1_CreditLimit="1500.5",  # Edm.Decimal travels as a string
        )
        .execute()
    )
    assert created.BusinessPartner == "1000007"
    assert created.BusinessPartnerFullName == "ACME"
    assert created.SearchTerm1 == "ACME"  # sap:display-format="UpperCase"
    assert created.etag == fake.etag("1000007")
    stored = fake.partner("1000007")
    assert stored is not None
    assert stored["YY1_CreditLimit"] == Decimal("1500.50")
    assert stored["LastChangeDate"] is None  # never changed yet

    partners.update_entity("1000007").set(OrganizationBPName2="Corp").execute()
    partners.update_entity("1000007", method="MERGE").set(BusinessPartnerIsBlocked=True).execute()
    stored = fake.partner("1000007")
    assert stored is not None
    assert stored["BusinessPartnerFullName"] == "ACME Corp"
    assert stored["BusinessPartnerIsBlocked"] is True
    assert stored["LastChangeDate"] is not None
    assert fake.calls_by_route[f"PATCH {ONE}"] == 1
    assert fake.calls_by_route[f"MERGE {ONE}"] == 1

    with pytest.raises(HttpError) as refused:
        partners.delete_entity("1000007").execute()
    assert refused.value.response.status_code == 405
    assert fake.partner("1000007") is not None


def test_batch_changesets_commit_and_roll_back(fake: FakeSap, service: Any) -> None:
    partners = service.entity_sets.A_BusinessPartner
    batch = service.create_batch()
    batch.add_request(partners.get_entity("1000001"))
    good = service.create_changeset()
    good.add_request(partners.create_entity().set(BusinessPartnerCategory="1", LastName="New"))
    good.add_request(partners.update_entity("1000001").set(FirstName="Ada"))
    batch.add_request(good)
    read, (created, updated) = batch.execute()
    assert read.FirstName == "First1"
    assert (created.LastName, updated) == ("New", None)
    assert fake.partner("1000001") is not None
    assert fake.partner("1000001")["FirstName"] == "Ada"  # type: ignore[index]

    batch = service.create_batch()
    bad = service.create_changeset()
    bad.add_request(partners.create_entity().set(BusinessPartnerCategory="1", LastName="Gone"))
    bad.add_request(partners.update_entity("1000002").set(FirstName="x" * 41))
    batch.add_request(bad)
    with pytest.raises(HttpError, match="single response"):
        batch.execute()
    assert [p["LastName"] for p in fake.partners()][-1] == "New"  # "Gone" rolled back
    assert fake.partner("1000002")["FirstName"] == "First2"  # type: ignore[index]
    assert fake.calls_by_route[f"POST {ROOT}/$batch"] == 2
