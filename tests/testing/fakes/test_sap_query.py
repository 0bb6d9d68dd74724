"""Reading ``A_BusinessPartner`` with plain ``requests``: server paging through ``__next`` to the
end, an empty page that still carries ``__next``, ``$inlinecount``, ``$orderby``/``$select``, the
incremental filter on ``LastChangeDate``/``LastChangeTime`` (system-local time written as UTC),
refused filters, and the Atom answer when JSON is not asked for."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.sap import FakeSap, ManualClock, partner_url, sap_session

LIST = "GET /sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner"
INCREMENTAL = (
    "LastChangeDate gt datetime'{day}T00:00:00' or "
    "(LastChangeDate eq datetime'{day}T00:00:00' and LastChangeTime ge time'{time}')"
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2024-01-01T09:00:00Z")


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSap]:
    with FakeSap(clock=clock, page_size=100) as running:
        for n in range(1, 251):
            running.insert(
                {
                    "BusinessPartnerCategory": "1" if n % 2 else "2",
                    "LastName": f"Person {n:03d}",
                    "OrganizationBPName1": f"Org {n % 7}",
                    "YY1_ConveyorKey": f"ext-{n:03d}",
                    "YY1_EmployeeCount": n,
                }
            )
        running.reset_calls()
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeSap) -> Iterator[requests.Session]:
    with sap_session(fake) as session:
        yield session


def _all_pages(http: requests.Session, url: str, params: dict[str, str]) -> list[dict[str, Any]]:
    page = http.get(url, params=params).json()["d"]
    results = list(page["results"])
    while "__next" in page:
        page = http.get(page["__next"]).json()["d"]
        results += page["results"]
    return results


def test_server_paging_follows_next_to_the_end(fake: FakeSap, http: requests.Session) -> None:
    first = http.get(partner_url(fake), params={"$inlinecount": "allpages"})
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("application/json")
    page = first.json()["d"]
    assert page["__count"] == "250"  # a string, as SAP sends it
    assert len(page["results"]) == 100
    assert page["__next"] == f"{partner_url(fake)}?$inlinecount=allpages&$skiptoken=100"
    every = _all_pages(http, partner_url(fake), {"$inlinecount": "allpages"})
    assert [p["YY1_ConveyorKey"] for p in every] == [f"ext-{n:03d}" for n in range(1, 251)]
    assert fake.calls_by_route == {LIST: 3 + 1}  # three pages, after the first look

    windowed = _all_pages(
        http, partner_url(fake), {"$skip": "20", "$top": "130", "$select": "BusinessPartner"}
    )
    assert [p["BusinessPartner"] for p in windowed] == [str(1000001 + n) for n in range(20, 150)]
    assert set(windowed[0]) == {"__metadata", "BusinessPartner"}


def test_empty_page_with_next_loses_nothing(fake: FakeSap, http: requests.Session) -> None:
    fake.faults.empty_pages = 1
    page = http.get(partner_url(fake), params={"$filter": "BusinessPartnerCategory eq '1'"})
    body = page.json()["d"]
    assert body["results"] == []
    assert body["__next"].endswith("$skiptoken=0")
    keys = [p["YY1_ConveyorKey"] for p in _all_pages(http, body["__next"], {})]
    assert keys == [f"ext-{n:03d}" for n in range(1, 251, 2)]


def test_orderby_several_keys_and_values_as_sap_sends_them(
    fake: FakeSap, http: requests.Session
) -> None:
    answer = http.get(
        partner_url(fake),
        params={
            "$filter": "BusinessPartnerCategory eq '2' and YY1_EmployeeCount le 28",
            "$orderby": "OrganizationBPName1 desc,YY1_EmployeeCount asc",
            "$select": "OrganizationBPName1,YY1_EmployeeCount,YY1_CreditLimit,CreationDate",
            "$top": "3",
        },
    ).json()["d"]["results"]
    assert [(p["OrganizationBPName1"], p["YY1_EmployeeCount"]) for p in answer] == [
        ("Org 6", "6"),
        ("Org 6", "20"),
        ("Org 5", "12"),
    ]
    assert answer[0]["YY1_CreditLimit"] == "0.00"  # Edm.Decimal and Edm.Int64 as strings
    assert answer[0]["CreationDate"] == "/Date(1704067200000)/"
    assert set(answer[0]["__metadata"]) == {"id", "uri", "type", "etag"}


def test_incremental_filter_on_local_change_stamps(
    fake: FakeSap, clock: ManualClock, http: requests.Session
) -> None:
    clock.set("2024-01-01T09:29:59Z")
    fake.update("1000001", {"FirstName": "Before"})
    clock.set("2024-01-01T09:30:00Z")  # 10:30 in Berlin
    fake.update("1000002", {"FirstName": "At"})
    clock.set("2024-01-01T23:30:00Z")  # 00:30 on 2 January in Berlin
    fake.update("1000003", {"FirstName": "Next day"})
    answer = http.get(
        partner_url(fake),
        params={
            "$filter": INCREMENTAL.format(day="2024-01-01", time="PT10H30M00S"),
            "$select": "BusinessPartner,LastChangeDate,LastChangeTime",
        },
    ).json()["d"]["results"]
    assert [(p["BusinessPartner"], p["LastChangeDate"], p["LastChangeTime"]) for p in answer] == [
        ("1000002", "/Date(1704067200000)/", "PT10H30M00S"),
        ("1000003", "/Date(1704153600000)/", "PT00H30M00S"),
    ]
    never = http.get(
        partner_url(fake, "1000004"), params={"$select": "LastChangeDate,LastChangeTime"}
    ).json()["d"]
    assert (never["LastChangeDate"], never["LastChangeTime"]) == (None, "PT00H00M00S")
    unchanged = http.get(
        partner_url(fake), params={"$filter": "LastChangeDate eq null", "$inlinecount": "allpages"}
    ).json()["d"]
    assert unchanged["__count"] == "247"


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("LastChangeDate gt '2024-01-01'", "cannot compare a datetime with a string"),
        ("YY1_CreditLimit gt 5", "not filterable"),
        ("Nickname eq 'x'", "Property 'Nickname' not found"),
        ("LastName eq 'unterminated", "unexpected character"),
        ("YY1_EmployeeCount add 1 eq 2", "'add' is not supported"),
    ],
)
def test_refused_filters_are_400_odata_errors(
    fake: FakeSap, http: requests.Session, expression: str, why: str
) -> None:
    answer = http.get(partner_url(fake), params={"$filter": expression})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert why in error["message"]["value"]
    assert error["message"]["lang"] == "en"
    assert error["innererror"]["errordetails"][0]["severity"] == "error"


def test_string_literals_and_functions(fake: FakeSap, http: requests.Session) -> None:
    fake.insert({"BusinessPartnerCategory": "1", "LastName": "O'Brien"})
    found = http.get(
        partner_url(fake),
        params={"$filter": "LastName eq 'O''Brien' or startswith(LastName, 'Person 24') eq true"},
    ).json()["d"]["results"]
    assert [p["LastName"] for p in found] == [f"Person 24{n}" for n in range(10)] + ["O'Brien"]
    inside = http.get(
        partner_url(fake),
        params={"$filter": "substringof('son 10', LastName) and not (YY1_EmployeeCount gt 105)"},
    ).json()["d"]["results"]
    assert [p["LastName"] for p in inside] == [f"Person 10{n}" for n in range(6)]


def test_atom_unless_json_is_asked_for(fake: FakeSap) -> None:
    with sap_session(fake, json=False) as http:
        answer = http.get(partner_url(fake), params={"$top": "2", "$inlinecount": "allpages"})
        assert answer.headers["Content-Type"].startswith("application/atom+xml;type=feed")
        feed = ET.fromstring(answer.content)
        atom = "{http://www.w3.org/2005/Atom}"
        meta = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
        data = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
        assert feed.findtext(f"{meta}count") == "250"
        entries = feed.findall(f"{atom}entry")
        assert len(entries) == 2
        properties = entries[0].find(f"{atom}content/{meta}properties")
        assert properties is not None
        assert properties.findtext(f"{data}BusinessPartner") == "1000001"
        change = properties.find(f"{data}LastChangeDate")
        assert change is not None and change.get(f"{meta}null") == "true"
        as_json = http.get(partner_url(fake), params={"$top": "1", "$format": "json"})
        assert as_json.json()["d"]["results"][0]["BusinessPartner"] == "1000001"
