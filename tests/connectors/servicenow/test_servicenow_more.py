"""ServiceNow beyond the contract: deletes from the audit table, display values and reference
fields, keyset paging through same-second updates, OAuth grants, the Import Set API with each
row's outcome, rate limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.servicenow import ServiceNowConnector, from_settings
from conveyor.connector import RemoteRecord, WriteRequest
from conveyor.errors import ConfigError, TransientError
from conveyor.testing.fakes.servicenow import FakeServiceNow
from tests.connectors.servicenow.harness import KEY_FIELD, fake_instance, settings_for

T0 = dt.datetime(2030, 1, 1, 8, 0, 0, tzinfo=dt.UTC)


@pytest.fixture
def fake() -> Iterator[FakeServiceNow]:
    with fake_instance() as fake:
        yield fake


def connect(fake: FakeServiceNow, **extra: Any) -> ServiceNowConnector:
    connector = from_settings(settings_for(fake, **extra))
    connector.describe("incident")
    return connector


def read(
    connector: ServiceNowConnector,
    since: dt.datetime | None = None,
    fields: tuple[str, ...] = ("short_description",),
) -> list[RemoteRecord]:
    return [r for b in connector.read_changes("incident", since, list(fields)) for r in b.records]


def groups(fake: FakeServiceNow) -> dict[str, str]:
    return {str(g["name"]): str(g["sys_id"]) for g in fake.records("sys_user_group")}


def test_a_delete_comes_back_as_a_tombstone_from_the_audit_table(fake: FakeServiceNow) -> None:
    connector = connect(fake)  # deletes: audit, the default
    kept, gone = (fake.insert("incident", {"short_description": n}) for n in ("a", "b"))
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    fake.delete("incident", gone)
    records = {r.id: r for r in read(connector, since)}
    assert records[gone].deleted and not records[kept].deleted
    assert connector.capabilities.delete_detection == "tombstones"
    connector.close()


def test_same_second_updates_are_all_read_across_pages(fake: FakeServiceNow) -> None:
    fake.clock = lambda: T0
    ids = {fake.insert("incident", {"short_description": f"s{n}"}) for n in range(7)}
    connector = connect(fake, page_size=3)
    calls = connector.calls
    got = [r.id for r in read(connector, T0)]
    assert sorted(got) == sorted(ids) and len(got) == 7, "keyset paging keeps same-second ties"
    assert connector.calls - calls == 3 + 1, "three pages, then the audit table"
    connector.close()


def test_display_values_and_references_are_read_per_field(fake: FakeServiceNow) -> None:
    named = groups(fake)
    group_name, group_id = next(iter(named.items()))
    fake.insert("incident", {"short_description": "x", "assignment_group": group_id, "state": "2"})
    connector = connect(fake)
    [record] = read(
        connector, fields=("assignment_group", "assignment_group:display", "state", "state:display")
    )
    assert record.values["assignment_group"] == group_id
    assert record.values["assignment_group:display"] == group_name
    assert record.values["state"] == "2" and record.values["state:display"] == "In Progress"
    info = connector.describe("incident")
    assert info.read_only(["assignment_group", "assignment_group:display"]) == [
        "assignment_group:display"
    ]
    assert info.fields["assignment_group"].type == "reference"
    assert info.fields["state"].type == "integer", "state is defined on task"
    connector.close()


def test_a_writes_answer_brings_the_fields_the_instance_computes(fake: FakeServiceNow) -> None:
    """After a read, a write's answer is asked in the read's shape: the number ServiceNow gives
    and a reference's display value come back with the write, not one run later."""
    group_name, group_id = next(iter(groups(fake).items()))
    connector = connect(fake)
    fields = ("short_description", "assignment_group", "assignment_group:display", "number")
    assert read(connector, fields=fields) == []
    [created] = connector.write(
        "incident",
        [WriteRequest("a", {"short_description": "new", "assignment_group": group_id})],
        KEY_FIELD,
    )
    assert created.record is not None, created.error
    values = created.record.values
    assert values["number"] == "INC0010001" and values["assignment_group:display"] == group_name
    assert values["short_description"] == "new" and values[KEY_FIELD] == "a"
    [updated] = connector.write(
        "incident",
        [WriteRequest("a", {"short_description": "changed"}, created.record.id)],
        KEY_FIELD,
    )
    assert updated.record is not None and updated.record.values["number"] == "INC0010001"
    connector.close()


def test_an_unknown_reference_is_refused_for_that_record_only(fake: FakeServiceNow) -> None:
    connector = connect(fake)
    results = connector.write(
        "incident",
        [
            WriteRequest("a", {"short_description": "ok"}),
            WriteRequest("b", {"short_description": "bad", "assignment_group": "0" * 32}),
        ],
        KEY_FIELD,
    )
    assert results[0].ok and results[1].error is not None
    assert "assignment_group" in str(results[1].error)
    connector.close()


@pytest.mark.parametrize("grant", ["password", "client_credentials"])
def test_oauth_grants_sign_in_and_an_expired_token_is_renewed(
    fake: FakeServiceNow, grant: str
) -> None:
    extra: dict[str, Any] = {"client_id": fake.client_id, "client_secret": fake.client_secret}
    settings = settings_for(fake, **extra)
    if grant == "client_credentials":
        settings.pop("username"), settings.pop("password")
    connector = from_settings(settings)
    connector.check()
    fake.expire_tokens()
    fake.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)  # past its expiry
    connector.check()  # renewed: refresh token (password), a new token (client credentials)
    connector.close()


def test_a_wrong_secret_is_a_config_error_that_shows_no_secret(fake: FakeServiceNow) -> None:
    connector = from_settings(settings_for(fake, password="hunter2-wrong"))
    with pytest.raises(ConfigError) as raised:
        connector.check()
    assert "hunter2" not in str(raised.value)
    connector.close()


def test_many_writes_go_through_the_import_set_api_with_each_rows_outcome(
    fake: FakeServiceNow,
) -> None:
    connector = connect(
        fake, import_table="u_incident_import", import_threshold=5, import_poll_seconds=0.01
    )
    requests = [
        WriteRequest(f"k{n}", {"short_description": f"n{n}", "state": "1"}) for n in range(8)
    ]
    requests[3] = WriteRequest("k3", {"short_description": "bad", "state": "99"})
    fake.reset_calls()
    results = connector.write("incident", requests, KEY_FIELD)
    assert [r.ref for r in results] == [r.ref for r in requests]
    assert results[3].error is not None and "skipped" in str(results[3].error)
    assert all(r.ok for i, r in enumerate(results) if i != 3), [r.error for r in results]
    assert any("insertMultiple" in route for route in fake.calls_by_route)
    made = {str(r[KEY_FIELD]): str(r["sys_id"]) for r in fake.records("incident")}
    assert {r.ref: r.record.id for r in results if r.record} == {
        k: v for k, v in made.items() if k != "k3"
    }
    again = connector.write("incident", requests, KEY_FIELD)
    assert len(fake.records("incident")) == 7, "coalesced on our key: nothing doubled"
    assert sum(r.ok for r in again) == 7
    connector.close()


def test_a_429_waits_as_retry_after_says(fake: FakeServiceNow) -> None:
    connector = connect(fake)
    fake.faults.fail_next("GET /api/now/table/{table}", status=429, retry_after=9)
    with pytest.raises(TransientError) as raised:
        read(connector)
    assert raised.value.retry_after == 9
    connector.close()


def test_audit_deletes_are_paged_past_one_page(fake: FakeServiceNow) -> None:
    connector = connect(fake, page_size=3)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    ids = [fake.insert("incident", {"short_description": f"d{n}"}) for n in range(7)]
    for sys_id in ids:
        fake.delete("incident", sys_id)
    gone = {r.id for r in read(connector, since) if r.deleted}
    assert gone == set(ids)
    connector.close()
