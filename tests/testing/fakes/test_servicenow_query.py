"""Encoded queries, ordering and paging of the fake ServiceNow's Table API, over plain HTTP:
each operator, AND/OR/NQ precedence, both date-time operand forms, the silent widening on an
unknown field, and keyset paging over same-second updates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.servicenow import (
    FakeServiceNow,
    ManualClock,
    servicenow_session,
    table_url,
)

START = "2024-01-06T12:00:00Z"  # 04:00 in Los Angeles (PST, UTC-8)


@pytest.fixture
def fake() -> Iterator[FakeServiceNow]:
    with FakeServiceNow(clock=ManualClock(START)) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeServiceNow) -> Iterator[requests.Session]:
    with servicenow_session(fake) as session:
        yield session


def seed(fake: FakeServiceNow) -> None:
    """Five incidents a minute apart: keys K-1..K-5, states 1,2,3,6,7, K-5 without a group."""
    clock = fake.clock
    assert isinstance(clock, ManualClock)
    rows = [
        ("K-1", "1", "Printer jam", "Network"),
        ("K-2", "2", "Printer on fire", "Hardware"),
        ("K-3", "3", "VPN down", "Network"),
        ("k-4", "6", "Disk full", "Software"),
        ("K-5", "7", "Mouse lost", ""),
    ]
    for key, state, text, group in rows:
        fake.insert(
            "incident",
            {
                "u_conveyor_key": key,
                "state": state,
                "short_description": text,
                "assignment_group": group,
            },
        )
        clock.advance(60)


def keys(http: requests.Session, fake: FakeServiceNow, query: str, **params: Any) -> list[str]:
    answer = http.get(
        table_url(fake, "incident"),
        params={"sysparm_query": query, "sysparm_fields": "u_conveyor_key", **params},
    )
    assert answer.status_code == 200, answer.text
    return [r["u_conveyor_key"] for r in answer.json()["result"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=2", ["K-2"]),
        ("state!=2", ["K-1", "K-3", "k-4", "K-5"]),
        ("state>3", ["k-4", "K-5"]),
        ("state>=3", ["K-3", "k-4", "K-5"]),
        ("state<2", ["K-1"]),
        ("state<=2", ["K-1", "K-2"]),
        ("stateIN1,7", ["K-1", "K-5"]),
        ("u_conveyor_keyINk-1,K-4", ["K-1", "k-4"]),  # case-insensitive, as the database
        ("short_descriptionSTARTSWITHprinter", ["K-1", "K-2"]),
        ("short_descriptionLIKEfire", ["K-2"]),
        ("short_descriptionNOT LIKEprinter", ["K-3", "k-4", "K-5"]),
        ("short_descriptionENDSWITHfull", ["k-4"]),
        ("assignment_groupISEMPTY", ["K-5"]),
        ("assignment_groupISNOTEMPTY", ["K-1", "K-2", "K-3", "k-4"]),
        ("assignment_group.name=network", ["K-1", "K-3"]),  # dot-walked
        ("assignment_group.name!=Network", ["K-2", "k-4", "K-5"]),  # != keeps empty values
        ("u_conveyor_key=K-4", ["k-4"]),
        ("active=false", ["K-5"]),  # the business rule: Closed is inactive
    ],
)
def test_operators(
    fake: FakeServiceNow, http: requests.Session, query: str, expected: list[str]
) -> None:
    seed(fake)
    assert keys(http, fake, query) == expected


def test_and_or_and_new_query_precedence(fake: FakeServiceNow, http: requests.Session) -> None:
    seed(fake)
    # ^OR binds to the condition before it: state=1 AND (group=Network OR group=Hardware)
    assert keys(
        http, fake, "state=1^assignment_group.name=Hardware^ORassignment_group.name=Network"
    ) == ["K-1"]
    assert keys(http, fake, "state=2^ORstate=3^short_descriptionLIKEvpn") == ["K-3"]
    # ^NQ ORs whole queries
    assert keys(http, fake, "state=1^NQstate=7^ORstate=6") == ["K-1", "k-4", "K-5"]


def test_name_value_parameters_filter_without_sysparm_query(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    seed(fake)
    answer = http.get(
        table_url(fake, "incident"),
        params={"state": "2", "bogus": "x", "sysparm_fields": "u_conveyor_key"},
    )
    assert answer.json()["result"] == [{"u_conveyor_key": "K-2"}]


def test_ordering(fake: FakeServiceNow, http: requests.Session) -> None:
    seed(fake)
    assert keys(http, fake, "ORDERBYDESCstate") == ["K-5", "k-4", "K-3", "K-2", "K-1"]
    # a reference orders by display value; empty values first ascending
    assert keys(http, fake, "ORDERBYassignment_group^ORDERBYDESCnumber") == [
        "K-5",
        "K-2",
        "K-3",
        "K-1",
        "k-4",
    ]
    assert keys(http, fake, "ORDERBYu_conveyor_key") == ["K-1", "K-2", "K-3", "k-4", "K-5"]


def test_date_time_operands(fake: FakeServiceNow, http: requests.Session) -> None:
    seed(fake)  # created 12:00, 12:01, 12:02, 12:03, 12:04 UTC
    assert keys(http, fake, "sys_created_on>=2024-01-06 12:02:00") == ["K-3", "k-4", "K-5"]
    assert keys(http, fake, "sys_created_on>2024-01-06 12:02:00") == ["k-4", "K-5"]
    between = "sys_created_onBETWEEN2024-01-06 12:01:00@2024-01-06 12:03:00"
    assert keys(http, fake, between) == ["K-2", "K-3", "k-4"]
    # dateGenerate is read in the user's zone: 04:02 in Los Angeles is 12:02 UTC
    generated = "sys_created_on>=javascript:gs.dateGenerate('2024-01-06','04:02:00')"
    assert keys(http, fake, generated) == ["K-3", "k-4", "K-5"]
    fake.date_generate_zone = "UTC"
    assert keys(http, fake, generated) == ["K-1", "K-2", "K-3", "k-4", "K-5"]
    assert keys(http, fake, "sys_created_on<javascript:gs.dateGenerate('2024-01-06','start')") == []


def test_an_unknown_field_is_dropped_and_widens_the_result(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    seed(fake)
    # a typo in a watermark filter returns the whole table, with no error
    assert len(keys(http, fake, "sys_updated_onn>=2024-01-06 12:03:00")) == 5
    assert keys(http, fake, "state=1^u_no_such_field=x") == ["K-1"]
    assert keys(http, fake, "state=1^ORbogus=2") == ["K-1"]
    # so does an unreadable date-time and an unknown ORDERBY field
    assert len(keys(http, fake, "sys_updated_on>=yesterday")) == 5
    assert keys(http, fake, "ORDERBYbogus^state=2") == ["K-2"]


def test_paging_headers(fake: FakeServiceNow, http: requests.Session) -> None:
    seed(fake)
    url = table_url(fake, "incident")
    params = {"sysparm_query": "ORDERBYnumber", "sysparm_limit": "2", "sysparm_fields": "number"}
    first = http.get(url, params=params)
    assert first.headers["X-Total-Count"] == "5"
    links = {rel: link["url"] for rel, link in first.links.items()}
    assert set(links) == {"first", "prev", "next", "last"}
    assert links["next"].endswith("sysparm_offset=2") and links["last"].endswith("sysparm_offset=4")
    assert links["prev"].endswith("sysparm_offset=-2")  # as a recorded ServiceNow answer shows
    numbers = []
    page: requests.Response | None = first
    while page is not None:
        numbers += [r["number"] for r in page.json()["result"]]
        following = page.links.get("next")
        page = http.get(following["url"]) if following else None
    assert numbers == [f"INC001000{n}" for n in range(1, 6)]
    quiet = http.get(
        url,
        params={**params, "sysparm_suppress_pagination_header": "true", "sysparm_no_count": "true"},
    )
    assert "Link" not in quiet.headers and "X-Total-Count" not in quiet.headers
    empty = http.get(url, params={"sysparm_query": "state=5"})
    assert empty.status_code == 200 and empty.json() == {"result": []}
    assert empty.headers["X-Total-Count"] == "0"
    v1 = http.get(f"{fake.url}/api/now/v1/table/incident", params={"sysparm_query": "state=5"})
    assert v1.status_code == 404 and v1.json()["error"]["message"] == "No Record found"


ORDER = "^ORDERBYsys_updated_on^ORDERBYsys_id"


def page(http: requests.Session, fake: FakeServiceNow, query: str) -> list[dict[str, str]]:
    answer = http.get(
        table_url(fake, "incident"),
        params={
            "sysparm_query": query + ORDER,
            "sysparm_limit": "3",
            "sysparm_fields": "sys_id,sys_updated_on",
        },
    )
    rows: list[dict[str, str]] = answer.json()["result"]
    return rows


def test_keyset_paging_over_same_second_updates(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    """Seven records share one second: a ``>`` watermark loses the ones past the first page;
    keyset paging on (sys_updated_on, sys_id) with ``>=``/``^NQ`` loses none."""
    clock = fake.clock
    assert isinstance(clock, ManualClock)
    ids = [fake.insert("incident", {"u_conveyor_key": f"S-{n}"}) for n in range(7)]
    for n in range(3):
        clock.advance(1)
        ids.append(fake.insert("incident", {"u_conveyor_key": f"T-{n}"}))
    assert {r["sys_updated_on"] for r in fake.records("incident")[:7]} == {"2024-01-06 12:00:00"}

    naive, watermark = [], "2024-01-01 00:00:00"
    while rows := page(http, fake, f"sys_updated_on>{watermark}"):
        naive += [r["sys_id"] for r in rows]
        watermark = rows[-1]["sys_updated_on"]
    assert len(naive) == 6  # 4 of the same-second records were skipped

    seen: list[str] = []
    query = "sys_updated_on>=2024-01-01 00:00:00"
    while rows := page(http, fake, query):
        seen += [r["sys_id"] for r in rows if r["sys_id"] not in seen]
        last = rows[-1]
        stamp, sys_id = last["sys_updated_on"], last["sys_id"]
        query = f"sys_updated_on>{stamp}^NQsys_updated_on={stamp}^sys_id>{sys_id}"
    assert sorted(seen) == sorted(ids) and len(seen) == 10

    # an update in the watermark's second: > misses it, >= sees it
    fake.update("incident", ids[0], {"short_description": "changed"})
    assert keys(http, fake, "sys_updated_on>2024-01-06 12:00:03") == []
    assert "S-0" in keys(http, fake, "sys_updated_on>=2024-01-06 12:00:03")
    changed = fake.get("incident", ids[0])
    assert changed is not None and changed["sys_mod_count"] == "1"
    fake.update("incident", ids[0], {"short_description": "changed"})  # no change: no write
    again = fake.get("incident", ids[0])
    assert again is not None and again["sys_mod_count"] == "1"


def test_step_clock_stamps_and_task_sees_incidents(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    fake.clock = ManualClock(START, step=timedelta(seconds=1))
    first = fake.insert("incident", {"short_description": "a"})
    fake.insert("incident", {"short_description": "b"})
    stamps = [r["sys_created_on"] for r in fake.records("incident")]
    assert stamps[0] < stamps[1]
    tasks = http.get(table_url(fake, "task"), params={"sysparm_query": "ORDERBYnumber"}).json()
    assert [t["sys_class_name"] for t in tasks["result"]] == ["incident", "incident"]
    assert "u_conveyor_key" not in tasks["result"][0]  # task's columns only
    assert tasks["result"][0]["sys_id"] == first
