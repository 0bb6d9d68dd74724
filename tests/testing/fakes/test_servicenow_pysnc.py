"""pysnc 1.2.1, unmodified, against the fake ServiceNow: GlideRecord queries and paging, single
writes, display values, the Batch API behind ``update_multiple``/``delete_multiple``, and OAuth
sessions that expire and refresh."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pysnc import ServiceNowClient  # type: ignore[import-untyped]
from pysnc.exceptions import (  # type: ignore[import-untyped]
    AuthenticationException,
    RequestException,
    RoleException,
)

from conveyor.testing.fakes.servicenow import (
    FakeServiceNow,
    ManualClock,
    oauth_session,
    pysnc_client,
)

LIST = "GET /api/now/table/{table}"
BATCH = "POST /api/now/v1/batch"


@pytest.fixture
def fake() -> Iterator[FakeServiceNow]:
    clock = ManualClock("2024-01-06T12:00:00Z", step=timedelta(seconds=1))
    with FakeServiceNow(clock=clock) as running:
        for n in range(1, 6):
            running.insert(
                "incident",
                {
                    "short_description": f"Incident {n}",
                    "u_conveyor_key": f"K-{n}",
                    "state": "2" if n % 2 else "1",
                    "assignment_group": "Network" if n < 4 else "Hardware",
                },
            )
        running.reset_calls()
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def client(fake: FakeServiceNow) -> Iterator[Any]:
    snc = pysnc_client(fake)
    yield snc
    snc.session.close()


def test_query_pages_through_x_total_count(fake: FakeServiceNow, client: Any) -> None:
    gr = client.GlideRecord("incident", batch_size=2)
    gr.add_query("state", "2")
    gr.add_encoded_query("assignment_group.name=Network^ORassignment_group.name=Hardware")
    gr.order_by_desc("u_conveyor_key")
    gr.query()
    assert len(gr) == 3  # X-Total-Count
    assert [str(r.u_conveyor_key) for r in gr] == ["K-5", "K-3", "K-1"]
    assert fake.calls_by_route == {LIST: 2}  # two pages of two

    everything = client.GlideRecord("incident", batch_size=2)
    everything.order_by("number")
    everything.query()
    numbers = [str(r.number) for r in everything]
    assert numbers == [f"INC001000{n}" for n in range(1, 6)]
    assert fake.calls_by_route == {LIST: 5}  # three more pages

    limited = client.GlideRecord("incident", batch_size=10)
    limited.limit = 2
    limited.add_query("short_description", "STARTSWITH", "incident")
    limited.order_by("u_conveyor_key")
    limited.query()
    assert [str(r.u_conveyor_key) for r in limited] == ["K-1", "K-2"]
    assert len(limited) == 5


def test_get_insert_update_delete(fake: FakeServiceNow, client: Any) -> None:
    gr = client.GlideRecord("incident")
    gr.initialize()
    gr.short_description = "Printer jam"
    gr.u_conveyor_key = "NEW-1"
    gr.assigned_to = "46d44a23a9fe19810012d100cca80666"
    sys_id = str(gr.insert())
    assert len(sys_id) == 32
    assert gr.get_display_value("assigned_to") == "Beth Anglin"
    assert gr.get_value("number") == "INC0010006"

    found = client.GlideRecord("incident")
    assert found.get(sys_id)
    found.state = "3"
    found.update()
    stored = fake.get("incident", sys_id)
    assert stored is not None and stored["state"] == "3" and stored["sys_mod_count"] == "1"
    assert found.get_display_value("state") == "On Hold"  # the answer spliced in

    by_key = client.GlideRecord("incident")
    assert by_key.get("u_conveyor_key", "new-1")  # case-insensitive, as ServiceNow compares
    assert str(by_key.sys_id) == sys_id
    assert by_key.delete()
    assert fake.get("incident", sys_id) is None
    assert not client.GlideRecord("incident").get(sys_id)  # 404 becomes False
    audit = client.GlideRecord("sys_audit_delete")
    audit.add_query("documentkey", sys_id)
    audit.query()
    assert len(audit) == 1


def test_display_values_in_the_users_zone(client: Any) -> None:
    gr = client.GlideRecord("incident")
    gr.add_query("u_conveyor_key", "K-1")
    gr.query()
    assert gr.next()
    # the clock steps a second per reading; the instance's start took two
    assert gr.get_value("sys_created_on") == "2024-01-06 12:00:02"
    assert gr.get_display_value("sys_created_on") == "2024-01-06 04:00:02"  # Los Angeles
    assert gr.get_value("assignment_group") == "287ebd7da9fe198100f92cc8d1d2154e"
    assert gr.get_display_value("assignment_group") == "Network"
    assert gr.get_display_value("state") == "In Progress"
    assert gr.sys_created_on.date_value().hour == 12
    raw = client.GlideRecord("incident")
    raw.display_value = False
    raw.exclude_reference_link = False
    raw.fields = "assignment_group,number"
    raw.add_query("u_conveyor_key", "K-1")
    raw.query()
    assert raw.next()
    link = raw.assignment_group.get_link()
    assert link.endswith("/sys_user_group/287ebd7da9fe198100f92cc8d1d2154e")
    assert link.startswith("https://127.0.0.1:")  # the https URL pysnc used
    assert raw.get_display_value("assignment_group") == raw.get_value("assignment_group")


def test_update_and_delete_multiple_go_through_the_batch_api(
    fake: FakeServiceNow, client: Any
) -> None:
    gr = client.GlideRecord("incident")
    gr.add_query("assignment_group.name", "Network")
    gr.query()
    for record in gr:
        record.state = "3"
    assert gr.update_multiple()
    states = {r["u_conveyor_key"]: r["state"] for r in fake.records("incident")}
    assert states == {"K-1": "3", "K-2": "3", "K-3": "3", "K-4": "1", "K-5": "2"}
    assert fake.calls_by_route[BATCH] == 1
    assert fake.calls_by_route["BATCH PATCH /api/now/table/{table}/{sys_id}"] == 3

    doomed = client.GlideRecord("incident")
    doomed.add_query("state", "3")
    assert doomed.delete_multiple()
    assert [r["u_conveyor_key"] for r in fake.records("incident")] == ["K-4", "K-5"]
    assert len(fake.records("sys_audit_delete")) == 3
    assert fake.calls == 4  # list, batch, list, batch: batch items are not HTTP calls

    fake.faults.reject_records("incident", lambda r: r["u_conveyor_key"] == "K-5")
    rest = client.GlideRecord("incident")
    rest.query()
    for record in rest:
        record.short_description = "touched"
    assert not rest.update_multiple()  # one item answered 403 inside a 200 batch
    assert [r["short_description"] for r in fake.records("incident")] == ["touched", "Incident 5"]


def test_refusals_raise_pysnc_exceptions(fake: FakeServiceNow, client: Any) -> None:
    gr = client.GlideRecord("incident")
    gr.initialize()
    gr.state = "42"
    with pytest.raises(RequestException, match="Invalid value for field: state"):
        gr.insert()
    system = client.GlideRecord("sys_dictionary")
    system.initialize()
    system.name = "incident"
    with pytest.raises(RoleException, match="ACL Exception"):
        system.insert()
    wrong = pysnc_client(fake, auth=("admin", "wrong"))
    try:
        with pytest.raises(AuthenticationException, match="User Not Authenticated"):
            wrong.GlideRecord("incident").query()
    finally:
        wrong.session.close()


def test_oauth_sessions_expire_and_refresh(fake: FakeServiceNow) -> None:
    session = oauth_session(fake, "password")
    snc = ServiceNowClient(fake.instance_url, session, auto_retry=False)
    try:
        gr = snc.GlideRecord("incident")
        gr.query()
        assert len(gr) == 5
        fake.expire_tokens()
        with pytest.raises(AuthenticationException, match="User Not Authenticated"):
            snc.GlideRecord("incident").query()
        session.refresh_token(f"{fake.instance_url}/oauth_token.do")
        again = snc.GlideRecord("incident")
        again.query()
        assert len(again) == 5
        assert fake.calls_by_route["POST /oauth_token.do"] == 2
    finally:
        session.close()
    machine = oauth_session(fake, "client_credentials")
    try:
        assert "refresh_token" not in machine.token
        gr = pysnc_client(fake, auth=machine).GlideRecord("sys_user")
        gr.add_query("user_name", "admin")
        gr.query()
        assert len(gr) == 1
    finally:
        machine.close()
