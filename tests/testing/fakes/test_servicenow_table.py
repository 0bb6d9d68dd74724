"""The fake ServiceNow's Table API answers over plain HTTP: display values (false/true/all)
with references and the user's time zone, field selection, writes and their system columns, the
data dictionary, delete auditing and ServiceNow's error shapes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.servicenow import (
    FakeServiceNow,
    ManualClock,
    servicenow_session,
    table_url,
)

NETWORK = "287ebd7da9fe198100f92cc8d1d2154e"
BETH = "46d44a23a9fe19810012d100cca80666"


@pytest.fixture
def fake() -> Iterator[FakeServiceNow]:
    # 2024-07-01 12:00 UTC is 05:00 in Los Angeles (PDT, UTC-7)
    with FakeServiceNow(clock=ManualClock("2024-07-01T12:00:00Z")) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeServiceNow) -> Iterator[requests.Session]:
    with servicenow_session(fake) as session:
        yield session


@pytest.fixture
def incident(fake: FakeServiceNow) -> str:
    return fake.insert(
        "incident",
        {
            "short_description": "VPN down",
            "assignment_group": NETWORK,
            "assigned_to": BETH,
            "impact": "1",
            "urgency": "1",
            "state": "2",
            "u_conveyor_key": "ext-1",
        },
    )


def get(http: requests.Session, fake: FakeServiceNow, sys_id: str, **params: str) -> Any:
    answer = http.get(table_url(fake, "incident", sys_id), params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]


def test_raw_values_are_strings_and_references_carry_links(
    fake: FakeServiceNow, http: requests.Session, incident: str
) -> None:
    record = get(http, fake, incident)
    assert record["state"] == "2" and record["priority"] == "1"  # priority from impact+urgency
    assert record["active"] == "true" and record["sys_mod_count"] == "0"
    assert record["opened_at"] == record["sys_created_on"] == "2024-07-01 12:00:00"  # UTC
    assert record["assignment_group"] == {
        "link": f"{fake.url}/api/now/table/sys_user_group/{NETWORK}",
        "value": NETWORK,
    }
    assert record["caller_id"] == ""  # an empty reference is a plain empty string
    assert record["number"] == "INC0010001" and record["sys_class_name"] == "incident"
    bare = get(http, fake, incident, sysparm_exclude_reference_link="true")
    assert bare["assignment_group"] == NETWORK


def test_display_values_true_and_all(
    fake: FakeServiceNow, http: requests.Session, incident: str
) -> None:
    shown = get(http, fake, incident, sysparm_display_value="true")
    assert shown["state"] == "In Progress" and shown["priority"] == "1 - Critical"
    assert shown["opened_at"] == "2024-07-01 05:00:00"  # the user's zone
    assert shown["assignment_group"] == {
        "display_value": "Network",
        "link": f"{fake.url}/api/now/table/sys_user_group/{NETWORK}",
    }
    assert shown["sys_class_name"] == "Incident"
    both = get(http, fake, incident, sysparm_display_value="all")
    assert both["assigned_to"] == {
        "display_value": "Beth Anglin",
        "link": f"{fake.url}/api/now/table/sys_user/{BETH}",
        "value": BETH,
    }
    assert both["state"] == {"display_value": "In Progress", "value": "2"}
    assert both["opened_at"] == {
        "display_value": "2024-07-01 05:00:00",
        "value": "2024-07-01 12:00:00",
        "display_value_internal": "2024-07-01 05:00:00",
    }
    assert both["caller_id"] == {"display_value": "", "value": ""}
    excluded = get(
        http, fake, incident, sysparm_display_value="all", sysparm_exclude_reference_link="true"
    )
    assert excluded["assigned_to"] == {"display_value": "Beth Anglin", "value": BETH}


def test_time_zone_and_date_format_are_the_users() -> None:
    clock = ManualClock("2024-01-06T12:12:43Z")
    with FakeServiceNow(clock=clock, time_zone="Europe/Berlin", date_format="dd/MM/yyyy") as fake:
        sys_id = fake.insert("incident", {"short_description": "x"})
        with servicenow_session(fake) as http:
            both = get(http, fake, sys_id, sysparm_display_value="all")
    assert both["sys_created_on"] == {
        "display_value": "06/01/2024 13:12:43",
        "value": "2024-01-06 12:12:43",
        "display_value_internal": "2024-01-06 13:12:43",
    }


def test_fields_and_dot_walks(fake: FakeServiceNow, http: requests.Session, incident: str) -> None:
    record = get(
        http,
        fake,
        incident,
        sysparm_fields="number,assignment_group.name,assigned_to.email,bogus",
        sysparm_display_value="true",
    )
    assert record == {
        "number": "INC0010001",
        "assignment_group.name": "Network",
        "assigned_to.email": "beth.anglin@example.com",
    }


def test_writes_and_system_columns(fake: FakeServiceNow, http: requests.Session) -> None:
    clock = fake.clock
    assert isinstance(clock, ManualClock)
    created = http.post(
        table_url(fake, "incident"),
        json={
            "short_description": "Printer jam",
            "urgency": 2,
            "impact": 2,
            "assignment_group": "Hardware",
            "unknown_column": "ignored",
            "sys_created_on": "1999-01-01 00:00:00",
        },
    )
    assert created.status_code == 201, created.text
    record = created.json()["result"]
    sys_id = record["sys_id"]
    assert created.headers["Location"] == table_url(fake, "incident", sys_id)
    assert record["priority"] == "3" and record["sys_created_on"] == "2024-07-01 12:00:00"
    assert record["assignment_group"]["value"] == "8a5055c9c61122780043563ef53438e3"  # by name
    assert record["opened_by"]["value"] == "6816f79cc0a8016401c5a33be04be441"  # admin
    assert "unknown_column" not in record
    clock.advance(5)
    patched = http.patch(table_url(fake, "incident", sys_id), json={"state": "7"})
    assert patched.status_code == 200
    after = patched.json()["result"]
    assert after["active"] == "false" and after["closed_at"] == "2024-07-01 12:00:05"
    assert after["sys_mod_count"] == "1" and after["sys_updated_on"] == "2024-07-01 12:00:05"
    put = http.put(table_url(fake, "incident", sys_id), json={"description": "more"})
    assert put.status_code == 200 and put.json()["result"]["short_description"] == "Printer jam"
    quiet = http.patch(
        table_url(fake, "incident", sys_id),
        json={"description": "again"},
        headers={"X-no-response-body": "true"},
    )
    assert quiet.status_code == 200 and quiet.content == b""
    several = http.post(
        table_url(fake, "incident"), json=[{"u_conveyor_key": "a"}, {"u_conveyor_key": "b"}]
    )
    assert several.status_code == 201 and several.json()["result"]["u_conveyor_key"] == "a"
    assert [r["u_conveyor_key"] for r in fake.records("incident")] == ["", "a"]
    local = http.post(
        table_url(fake, "incident"),
        params={"sysparm_input_display_value": "true"},
        json={"opened_at": "2024-07-01 08:00:00", "state": "On Hold"},
    )
    assert local.json()["result"]["opened_at"] == "2024-07-01 15:00:00"
    assert local.json()["result"]["state"] == "3"


def test_delete_is_audited_except_on_no_audit_tables(
    fake: FakeServiceNow, http: requests.Session, incident: str
) -> None:
    clock = fake.clock
    assert isinstance(clock, ManualClock)
    clock.advance(30)
    gone = http.delete(table_url(fake, "incident", incident))
    assert gone.status_code == 204 and gone.content == b""
    assert http.get(table_url(fake, "incident", incident)).status_code == 404
    audit = http.get(
        table_url(fake, "sys_audit_delete"),
        params={"sysparm_query": f"tablename=incident^documentkey={incident}"},
    ).json()["result"]
    assert len(audit) == 1
    row = audit[0]
    assert row["sys_created_on"] == "2024-07-01 12:00:30" and row["display_value"] == "INC0010001"
    assert f"<sys_id>{incident}</sys_id>" in row["payload"]
    assert row["payload"].startswith('<?xml version="1.0" encoding="UTF-8"?><record_update')
    group = fake.insert("sys_user_group", {"name": "Database"})
    assert http.delete(table_url(fake, "sys_user_group", group)).status_code == 204
    fake.set_audit_delete("incident", False)
    other = fake.insert("incident", {"short_description": "quiet"})
    fake.delete("incident", other)
    assert [r["documentkey"] for r in fake.records("sys_audit_delete")] == [incident]


def test_dictionary_rows_belong_to_the_defining_table(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    url = table_url(fake, "sys_dictionary")
    incident_rows = http.get(url, params={"sysparm_query": "name=incident"}).json()["result"]
    elements = {r["element"] for r in incident_rows}
    assert {"caller_id", "u_conveyor_key", ""} <= elements  # "" is the collection row
    assert "state" not in elements and "number" not in elements
    task = http.get(
        url,
        params={
            "sysparm_query": "name=task^elementINstate,assignment_group,opened_at,correlation_id",
            "sysparm_exclude_reference_link": "true",
            "sysparm_query_no_domain": "true",
        },
    ).json()["result"]
    by_element = {r["element"]: r for r in task}
    assert by_element["state"]["internal_type"] == "integer"
    assert by_element["state"]["choice"] == "3"
    assert by_element["assignment_group"]["internal_type"] == "reference"
    assert by_element["assignment_group"]["reference"] == "sys_user_group"
    assert by_element["opened_at"]["internal_type"] == "glide_date_time"
    assert by_element["correlation_id"]["max_length"] == "100"
    collection = next(r for r in incident_rows if r["element"] == "")
    assert collection["internal_type"] == {
        "link": f"{fake.url}/api/now/table/sys_glide_object/collection",
        "value": "collection",
    }
    shown = http.get(
        url,
        params={"sysparm_query": "name=task^element=assigned_to", "sysparm_display_value": "true"},
    ).json()["result"][0]
    assert shown["internal_type"]["display_value"] == "Reference"
    assert shown["reference"]["display_value"] == "User"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"state": "9"}, "state"),
        ({"assigned_to": "0123456789abcdef0123456789abcdef"}, "assigned_to"),
        ({"assignment_group": "No Such Group"}, "assignment_group"),
        ({"opened_at": "2024-13-01 00:00:00"}, "opened_at"),
        ({"impact": "high"}, "impact"),
        ({"active": "maybe"}, "active"),
    ],
)
def test_invalid_values_are_400(
    fake: FakeServiceNow, http: requests.Session, body: dict[str, str], field: str
) -> None:
    answer = http.post(table_url(fake, "incident"), json=body)
    assert answer.status_code == 400
    payload = answer.json()
    assert payload["status"] == "failure" and set(payload["error"]) == {"message", "detail"}
    assert payload["error"]["message"] == f"Invalid value for field: {field}"
    assert fake.records("incident") == []


def test_error_shapes(fake: FakeServiceNow, http: requests.Session, incident: str) -> None:
    missing = http.get(table_url(fake, "incident", "0" * 32))
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "message": "No Record found",
            "detail": "Record doesn't exist or ACL restricts the record retrieval",
        },
        "status": "failure",
    }
    assert http.patch(table_url(fake, "incident", "0" * 32), json={}).status_code == 404
    assert http.delete(table_url(fake, "incident", "0" * 32)).status_code == 404
    table = http.get(table_url(fake, "u_nope"))
    assert table.status_code == 400 and table.json()["error"] == {
        "message": "Invalid table u_nope",
        "detail": None,
    }
    acl = http.post(table_url(fake, "sys_dictionary"), json={"name": "incident"})
    assert acl.status_code == 403 and acl.json()["error"] == {
        "message": "Operation Failed",
        "detail": "ACL Exception Insert Failed due to security constraints",
    }
    bad_json = http.post(
        table_url(fake, "incident"), data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["message"] == "Exception while reading request"
    nowhere = http.get(f"{fake.url}/api/now/tables/incident")
    assert nowhere.status_code == 400
    assert nowhere.json()["error"]["message"] == "Requested URI does not represent any resource"
    fake.faults.reject_records(
        "incident",
        lambda r: r["state"] == "6",
        message="Operation Failed",
        detail="Resolution code is required",
    )
    refused = http.patch(table_url(fake, "incident", incident), json={"state": "6"})
    assert refused.status_code == 403
    assert refused.json()["error"]["detail"] == "Resolution code is required"
    assert fake.get("incident", incident)["state"] == "2"  # type: ignore[index]
    fake.faults.reject_records("incident", lambda r: True, operations=["delete"], times=1)
    blocked = http.delete(table_url(fake, "incident", incident))
    assert blocked.status_code == 403
    assert blocked.json()["error"]["detail"] == "Error during delete of incident (INC0010001)"
    assert http.delete(table_url(fake, "incident", incident)).status_code == 204


def test_fake_side_writes_follow_the_rules_and_refuse_like_the_api(fake: FakeServiceNow) -> None:
    ada = fake.insert(
        "sys_user", {"user_name": "ada", "first_name": "Ada", "last_name": "Lovelace"}
    )
    assert fake.get("sys_user", ada)["name"] == "Ada Lovelace"  # type: ignore[index]
    with pytest.raises(ValueError, match="Invalid value for field: state"):
        fake.insert("incident", {"state": "42"})
    with pytest.raises(KeyError):
        fake.update("incident", "0" * 32, {"state": "1"})
    with pytest.raises(KeyError):
        fake.records("u_nope")
