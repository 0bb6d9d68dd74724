"""Writes above the bulk threshold go through Bulk API 2.0 ingest jobs, counted at the fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.salesforce.bulk import BulkApi
from conveyor.connector import WriteRequest
from conveyor.errors import TransientError
from conveyor.retry import RetryPolicy, with_retries
from tests.connectors.salesforce.harness import EXTERNAL_ID, SalesforceHarness, fake_org

THRESHOLD = 50


@pytest.fixture
def harness() -> Iterator[SalesforceHarness]:
    with fake_org() as fake:
        harness = SalesforceHarness.open(fake)
        harness.connector.settings = harness.connector.settings.model_copy(
            update={"bulk_threshold": THRESHOLD, "poll_seconds": 0.001}
        )
        yield harness
        harness.close()


def requests(harness: SalesforceHarness, n: int, tag: str = "") -> list[WriteRequest]:
    return [WriteRequest(f"k{i}", {**harness.sample(i), "Name": f"A{i}{tag}"}) for i in range(n)]


def test_a_large_write_creates_then_updates_through_bulk_in_few_calls(
    harness: SalesforceHarness,
) -> None:
    fake, connector = harness.fake, harness.connector
    calls = connector.calls
    created = connector.write("Account", requests(harness, 120), EXTERNAL_ID)
    assert all(r.ok for r in created), [r.error for r in created if not r.ok][:3]
    assert connector.calls - calls == 5, "create, upload, close, poll, results"
    assert len(fake.records("Account")) == 120
    assert [r.ref for r in created] == [f"k{i}" for i in range(120)]
    ids = {r.ref: r.record.id for r in created if r.record}
    assert len(set(ids.values())) == 120
    again = connector.write("Account", requests(harness, 120, "-b"), EXTERNAL_ID)
    assert [r.record.id for r in again if r.record] == [ids[f"k{i}"] for i in range(120)]
    assert len(fake.records("Account")) == 120, "an upsert on the external id never duplicates"
    by_id = [WriteRequest(f"k{i}", {"Name": f"B{i}"}, remote_id=ids[f"k{i}"]) for i in range(60)]
    updated = connector.write("Account", by_id, EXTERNAL_ID)
    assert all(r.ok for r in updated)
    assert {r["Name"] for r in fake.records("Account")} >= {f"B{i}" for i in range(60)}


def test_refused_rows_come_back_with_their_reason_and_the_rest_succeed(
    harness: SalesforceHarness,
) -> None:
    harness.fake.faults.reject_records(
        lambda values: str(values.get("Name", "")).endswith("7"),
        error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        message="names ending in 7 are refused",
        fields=["Name"],
    )
    results = harness.connector.write("Account", requests(harness, 80), EXTERNAL_ID)
    refused = {r.ref: str(r.error) for r in results if r.error is not None}
    assert set(refused) == {f"k{i}" for i in range(80) if str(i).endswith("7")}
    assert all(
        "FIELD_CUSTOM_VALIDATION_EXCEPTION" in e and "refused" in e for e in refused.values()
    )
    assert sum(r.ok for r in results) == 80 - len(refused)


def test_a_job_that_fails_part_way_is_sent_again_without_doubling(
    harness: SalesforceHarness,
) -> None:
    harness.fake.faults.fail_bulk_job(after_rows=30, failed_rows=2)
    batch = requests(harness, 100)
    with pytest.raises(TransientError, match="Bulk job ended Failed"):
        harness.connector.write("Account", batch, EXTERNAL_ID)
    results = with_retries(
        lambda: harness.connector.write("Account", batch, EXTERNAL_ID), RetryPolicy(initial=0)
    )
    assert all(r.ok for r in results)
    assert len(harness.fake.records("Account")) == 100


def test_a_large_delete_is_one_bulk_job_and_deleting_twice_is_no_error(
    harness: SalesforceHarness,
) -> None:
    fake, connector = harness.fake, harness.connector
    ids = fake.seed("Account", [{"Name": f"D{i}"} for i in range(120)])
    fake.delete("Account", ids[0])  # already gone: still counts as deleted
    calls = connector.calls
    results = connector.delete("Account", ids)
    assert connector.calls - calls == 6, "create, upload, close, poll, successes, failures"
    assert [r.ref for r in results] == ids
    assert all(r.ok and r.record is not None and r.record.deleted for r in results)
    assert fake.records("Account") == []
    small = connector.delete("Account", ids[:3])  # the REST path says the same
    assert all(r.ok for r in small)


def test_polls_back_off_and_a_job_that_never_ends_is_transient(
    harness: SalesforceHarness,
) -> None:
    waits: list[float] = []
    harness.fake.polls_to_complete = 4  # InProgress three times, then done
    bulk = BulkApi(harness.connector._jobs, 1.0, 3600, sleep=waits.append)
    outcome = bulk.upsert("Account", EXTERNAL_ID, [{"Name": "P", EXTERNAL_ID: "p1"}])
    assert isinstance(outcome["p1"], str)
    assert waits == [1.0, 2.0, 4.0, 8.0], "a first wait, then doubling"
    harness.fake.polls_to_complete = 1_000
    waits.clear()
    slow = BulkApi(harness.connector._jobs, 20.0, 100, sleep=waits.append)
    with pytest.raises(TransientError, match=r"still InProgress after 110 s"):
        slow.upsert("Account", EXTERNAL_ID, [{"Name": "Q", EXTERNAL_ID: "q1"}])
    assert waits == [20.0, 30.0, 30.0, 30.0], "doubling stops at 30 s"
