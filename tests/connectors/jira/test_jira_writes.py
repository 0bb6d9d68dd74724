"""Jira beyond the contract: statuses through transitions, rich text both ways, our key in a
label, throttling without Retry-After, fields that cannot be set, search that lags writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.jira import JiraConnector, from_settings
from conveyor.connector import WriteRequest
from conveyor.errors import TransientError
from conveyor.testing.fakes.jira import FakeJira
from tests.connectors.jira.harness import KEY_FIELD, fake_site, settings_for


@pytest.fixture
def fake() -> Iterator[FakeJira]:
    with fake_site("Cloud") as fake:
        yield fake


@pytest.fixture
def jira(fake: FakeJira) -> Iterator[JiraConnector]:
    connector = from_settings(settings_for(fake))
    connector.describe("TIC")
    yield connector
    connector.close()


def status_of(fake: FakeJira, issue_id: str) -> str:
    issue = fake.issue(issue_id)
    assert issue is not None
    return str(issue["fields"]["status"])  # the fake keeps the status by name


def test_a_status_is_reached_through_its_transition_or_the_issue_is_refused(
    fake: FakeJira, jira: JiraConnector
) -> None:
    [made] = jira.write(
        "TIC", [WriteRequest("t1", {"summary": "S", "status": "In Progress"})], KEY_FIELD
    )
    assert made.ok and made.record is not None, made.error
    assert status_of(fake, made.record.id) == "In Progress"
    [refused] = jira.write(
        "TIC", [WriteRequest("t1", {"status": "Done"}, remote_id=made.record.id)], KEY_FIELD
    )
    assert refused.error is not None
    reason = str(refused.error)
    assert "'Done' cannot be reached" in reason and "Review -> In Review" in reason
    assert status_of(fake, made.record.id) == "In Progress"
    [moved] = jira.write(
        "TIC", [WriteRequest("t1", {"status": "In Review"}, remote_id=made.record.id)], KEY_FIELD
    )
    assert moved.ok and status_of(fake, made.record.id) == "In Review"


def test_a_markdown_description_round_trips_through_adf(
    fake: FakeJira, jira: JiraConnector
) -> None:
    text = "Printer **jams** on `tray 2`:\n\n1. open it\n2. pull the paper\n\nSee [docs](https://example.com)."
    [made] = jira.write(
        "TIC", [WriteRequest("d1", {"summary": "S", "description": text})], KEY_FIELD
    )
    assert made.ok and made.record is not None, made.error
    stored = fake.issue(made.record.id)
    assert stored is not None
    doc = stored["fields"]["description"]
    assert doc["type"] == "doc" and {n["type"] for n in doc["content"]} >= {"orderedList"}
    [record] = [r for b in jira.read_changes("TIC", None, ["description"]) for r in b.records]
    assert record.values["description"] == text


def test_our_key_can_live_in_a_label_and_other_labels_are_kept(fake: FakeJira) -> None:
    jira = from_settings(settings_for(fake, label_prefix="cv-"))
    first = jira.write("TIC", [WriteRequest("k1", {"summary": "A", "labels": ["red"]})], "label")
    assert first[0].ok and first[0].record is not None, first[0].error
    stored = fake.issue(first[0].record.id)
    assert stored is not None and sorted(stored["fields"]["labels"]) == ["cv-k1", "red"]
    fresh = from_settings(settings_for(fake, label_prefix="cv-"))  # knows nothing it created
    again = fresh.write("TIC", [WriteRequest("k1", {"summary": "B", "labels": ["blue"]})], "label")
    assert again[0].record is not None and again[0].record.id == first[0].record.id
    [record] = [r for b in fresh.read_changes("TIC", None, ["labels", "label"]) for r in b.records]
    assert record.values == {"labels": ["blue"], "label": "k1"}, "our label is kept, not shown"
    jira.close()
    fresh.close()


def test_a_create_retried_while_search_lags_finds_its_issue(
    fake: FakeJira, jira: JiraConnector
) -> None:
    fake.defer_indexing = True
    first = jira.write("TIC", [WriteRequest("lag", {"summary": "A"})], KEY_FIELD)
    again = jira.write("TIC", [WriteRequest("lag", {"summary": "B"})], KEY_FIELD)
    assert first[0].record is not None and again[0].record is not None
    assert again[0].record.id == first[0].record.id
    assert len(fake.issues("TIC")) == 1


def test_a_429_without_retry_after_waits_until_the_rate_limit_resets(
    fake: FakeJira, jira: JiraConnector
) -> None:
    fake.faults.fail_next("GET */search*", status=429)  # X-RateLimit-Reset only
    with pytest.raises(TransientError) as raised:
        list(jira.read_changes("TIC", None, ["summary"]))
    assert raised.value.retry_after is not None and 0 <= raised.value.retry_after <= 120


def test_fields_off_the_create_screen_are_reported_as_read_only(jira: JiraConnector) -> None:
    info = jira.describe("TIC")
    assert info.read_only(["summary", "status", "created", "resolution"]) == [
        "created",
        "resolution",
    ]
    assert info.unknown(["summary", "Conveyor Key", "No Such Field"]) == ["No Such Field"]


def test_writes_to_one_issue_are_spaced_and_data_center_basic_auth_works() -> None:
    with fake_site("Server") as fake:
        jira = from_settings(
            {
                "url": fake.url,
                "username": fake.username,
                "password": fake.password,
                "issue_write_interval": 5.0,
            }
        )
        waits: list[float] = []
        jira._sleep = waits.append  # spacing is observed, not waited for
        jira.check()
        [made] = jira.write(
            "TIC", [WriteRequest("s1", {"summary": "A", "status": "In Progress"})], KEY_FIELD
        )
        assert made.ok and made.record is not None, made.error
        jira.write(
            "TIC", [WriteRequest("s1", {"summary": "B"}, remote_id=made.record.id)], KEY_FIELD
        )
        jira.close()
    assert len(waits) == 2 and all(0 < w <= 5.0 for w in waits), waits
