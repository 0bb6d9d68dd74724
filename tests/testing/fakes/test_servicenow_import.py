"""The fake ServiceNow's Import Set API into ``u_incident_import``: single rows answer 201 with
a per-row status (even for errors), ``insertMultiple`` answers only ids and its outcomes are read
back from the staging rows, keys map by label by default, and the transform coalesces on the
Conveyor key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.servicenow import (
    STAGING_TABLE,
    FakeServiceNow,
    ManualClock,
    servicenow_session,
    table_url,
)

SINGLE = f"/api/now/import/{STAGING_TABLE}"
MULTIPLE = f"/api/now/import/{STAGING_TABLE}/insertMultiple"


@pytest.fixture
def fake() -> Iterator[FakeServiceNow]:
    with FakeServiceNow(clock=ManualClock("2024-03-01T09:00:00Z")) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeServiceNow) -> Iterator[requests.Session]:
    with servicenow_session(fake) as session:
        yield session


def single(http: requests.Session, fake: FakeServiceNow, row: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(fake.url + SINGLE, json=row)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    assert body["staging_table"] == STAGING_TABLE and body["import_set"].startswith("ISET")
    assert len(body["result"]) == 1
    result: dict[str, Any] = body["result"][0]
    assert result["transform_map"] == "Conveyor incident import" and result["table"] == "incident"
    return result


def test_single_rows_report_each_outcome_with_201(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    inserted = single(
        http,
        fake,
        {
            "u_conveyor_key": "ext-1",
            "u_short_description": "VPN down",
            "u_state": "In Progress",
            "u_assignment_group": "Network",
            "u_impact": "1",
        },
    )
    assert inserted["status"] == "inserted"
    target = fake.get("incident", inserted["sys_id"])
    assert target is not None
    assert (target["state"], target["impact"], target["u_conveyor_key"]) == ("2", "1", "ext-1")
    assert target["assignment_group"] == "287ebd7da9fe198100f92cc8d1d2154e"
    assert inserted["display_name"] == "number" and inserted["display_value"] == "INC0010001"
    assert inserted["record_link"] == table_url(fake, "incident", inserted["sys_id"])

    # coalesce on the key (case-insensitive); empty values leave the target alone
    updated = single(http, fake, {"u_conveyor_key": "EXT-1", "u_state": "6", "u_impact": ""})
    assert updated["status"] == "updated" and updated["sys_id"] == inserted["sys_id"]
    after = fake.get("incident", inserted["sys_id"])
    assert after is not None and after["state"] == "6" and after["impact"] == "1"

    assert after["u_conveyor_key"] == "EXT-1"  # the coalesce field is written too
    ignored = single(http, fake, {"u_conveyor_key": "EXT-1", "u_state": "Resolved"})
    assert ignored["status"] == "ignored" and ignored["sys_id"] == inserted["sys_id"]

    skipped = single(http, fake, {"u_conveyor_key": "ext-2", "u_state": "Pending Vendor"})
    assert skipped["status"] == "skipped" and "sys_id" not in skipped
    assert "Pending Vendor" in skipped["status_message"]

    fake.faults.reject_records(
        "incident", lambda r: r["u_conveyor_key"] == "ext-3", detail="Caller is required"
    )
    error = single(http, fake, {"u_conveyor_key": "ext-3", "u_short_description": "x"})
    assert error["status"] == "error" and error["error_message"] == "Caller is required"
    assert [r["u_conveyor_key"] for r in fake.records("incident")] == ["EXT-1"]

    unknown_name = single(http, fake, {"Conveyor key": "ext-4", "u_short_description": "y"})
    assert unknown_name["status"] == "inserted"  # by name here: the label key was dropped
    stored = fake.get("incident", unknown_name["sys_id"])
    assert stored is not None and stored["u_conveyor_key"] == ""


def test_insert_multiple_is_asynchronous_and_maps_by_label(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    fake.insert("incident", {"u_conveyor_key": "ext-1", "short_description": "old"})
    fake.defer_imports = True
    records = [
        {"Conveyor key": "ext-1", "Short description": "new text"},
        {"Conveyor key": "ext-2", "Short description": "second", "State": "3"},
        {"Conveyor key": "ext-3", "Assignment group": "No Such Group"},
        {"u_conveyor_key": "ext-4", "Short description": "named by column name"},
    ]
    answer = http.post(fake.url + MULTIPLE, json={"records": records})
    assert answer.status_code == 201
    ids = answer.json()
    assert set(ids) == {"import_set_id", "multi_import_set_id"}

    url = table_url(fake, STAGING_TABLE)
    query = {"sysparm_query": f"sys_import_set={ids['import_set_id']}^ORDERBYsys_import_row"}
    pending = http.get(url, params=query).json()["result"]
    assert [r["sys_import_state"] for r in pending] == ["pending"] * 4
    assert fake.process_imports() == 4

    rows = http.get(url, params={**query, "sysparm_exclude_reference_link": "true"}).json()[
        "result"
    ]
    states = [r["sys_import_state"] for r in rows]
    assert states == ["updated", "inserted", "skipped", "inserted"]
    assert rows[0]["u_short_description"] == "new text"  # the label "Short description"
    assert rows[2]["sys_import_state_comment"].startswith("Row skipped")
    assert rows[2]["sys_target_sys_id"] == ""
    # the column-name key was not a label: the row arrived without its key (and inserted)
    assert rows[3]["u_conveyor_key"] == ""
    assert rows[3]["u_short_description"] == "named by column name"
    keys = {r["u_conveyor_key"]: r["sys_id"] for r in fake.records("incident")}
    assert rows[0]["sys_target_sys_id"] == keys["ext-1"]
    assert rows[1]["sys_target_sys_id"] == keys["ext-2"]
    assert fake.get("incident", keys["ext-2"])["state"] == "3"  # type: ignore[index]
    import_set = http.get(table_url(fake, "sys_import_set", ids["import_set_id"])).json()
    assert import_set["result"]["state"] == "processed"
    assert import_set["result"]["mode"] == "asynchronous"

    shown = http.get(f"{fake.url}/api/now/import/{STAGING_TABLE}/{rows[1]['sys_id']}").json()
    assert shown["result"][0]["status"] == "inserted"
    assert shown["result"][0]["sys_id"] == keys["ext-2"]


def test_insert_multiple_by_name_and_immediate_transform(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    fake.insert_multiple_mapping = "name"
    answer = http.post(
        fake.url + MULTIPLE,
        json={
            "records": [
                {
                    "u_conveyor_key": "n-1",
                    "u_category": "Network",
                    "u_caller_id": "beth.anglin@example.com",
                }
            ]
        },
    )
    assert answer.status_code == 201
    rows = fake.records(STAGING_TABLE)
    assert [r["sys_import_state"] for r in rows] == ["skipped"]  # no user named by email
    answer = http.post(
        fake.url + MULTIPLE,
        json={
            "records": [
                {
                    "u_conveyor_key": "n-1",
                    "u_category": "Network",
                    "u_caller_id": "Beth Anglin",
                    "u_description": {"a": 1},
                }
            ]
        },
    )
    row = fake.records(STAGING_TABLE)[-1]
    assert row["sys_import_state"] == "inserted" and row["u_description"] == "{a=1}"
    target = fake.get("incident", row["sys_target_sys_id"])
    assert target is not None and target["category"] == "network"
    assert target["caller_id"] == "46d44a23a9fe19810012d100cca80666"


def test_import_refusals(fake: FakeServiceNow, http: requests.Session) -> None:
    wrong_table = http.post(f"{fake.url}/api/now/import/incident", json={})
    assert wrong_table.status_code == 400
    assert wrong_table.json()["error"]["message"] == "Invalid table incident"
    no_records = http.post(fake.url + MULTIPLE, json={"rows": []})
    assert no_records.status_code == 400 and no_records.json()["status"] == "failure"
    staging_write = http.post(table_url(fake, STAGING_TABLE), json={"u_conveyor_key": "x"})
    assert staging_write.status_code == 403
    missing = http.get(f"{fake.url}/api/now/import/{STAGING_TABLE}/{'0' * 32}")
    assert missing.status_code == 404
