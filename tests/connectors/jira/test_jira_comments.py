"""Issue comments as a child stream (``TIC/comments``): read with their issue's key and our
ticket key, written under the issue found by our key, idempotent through a comment property,
and synced both ways by the engine into a local comments table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.jira import JiraConnector, from_settings
from connectors.jira.adf import to_adf
from conveyor.connector import RemoteRecord, WriteRequest
from conveyor.sync.engine import SyncEngine
from conveyor.sync.spec import SyncJobSpec
from conveyor.testing.fakes.jira import FakeJira
from tests.connectors.jira.harness import KEY_FIELD, fake_site, settings_for

ENTITY = "TIC/comments"
PARENT = f"issue.{KEY_FIELD}"
FIELDS = ["body", "issue", PARENT, "author"]


@pytest.fixture
def fake() -> Iterator[FakeJira]:
    with fake_site("Cloud") as fake:
        yield fake


@pytest.fixture
def jira(fake: FakeJira) -> Iterator[JiraConnector]:
    connector = from_settings(settings_for(fake))
    yield connector
    connector.close()


def ticket(fake: FakeJira, our_key: str) -> str:
    return fake.create_issue("TIC", {"summary": f"T {our_key}", "customfield_10050": our_key})


def read(jira: JiraConnector, fields: list[str] = FIELDS) -> list[RemoteRecord]:
    return [
        r for b in jira.read_changes(ENTITY, None, [*fields, "conveyor_key"]) for r in b.records
    ]


def test_comments_are_read_with_their_issue_and_our_ticket_key(
    fake: FakeJira, jira: JiraConnector
) -> None:
    first, second = ticket(fake, "t1"), ticket(fake, "t2")
    bold = to_adf("Looking **into** it")  # bold, as Jira's editor makes it
    assert bold is not None
    fake.add_comment(first, bold)
    fake.add_comment(second, "Fixed")
    records = read(jira)
    assert [r.values["body"] for r in records] == ["Looking **into** it", "Fixed"]
    assert [(r.values["issue"], r.values[PARENT]) for r in records] == [
        (first, "t1"),
        (second, "t2"),
    ]
    assert all("/" in r.id and r.modified_at is not None for r in records)
    assert records[0].values["conveyor_key"] is None, "made in Jira: no key of ours yet"


def test_a_new_comment_lands_on_the_issue_found_by_our_key_and_only_once(
    fake: FakeJira, jira: JiraConnector
) -> None:
    issue = ticket(fake, "t1")
    request = WriteRequest("c1", {"body": "Hello *there*", PARENT: "t1"})
    [made] = jira.write(ENTITY, [request], "conveyor_key")
    assert made.ok and made.record is not None, made.error
    fresh = from_settings(settings_for(fake))  # remembers nothing: the property finds it
    [again] = fresh.write(ENTITY, [request], "conveyor_key")
    fresh.close()
    assert again.record is not None and again.record.id == made.record.id
    [record] = read(jira)
    assert record.values["body"] == "Hello *there*" and record.values["issue"] == issue
    assert record.values["conveyor_key"] == "c1"
    [edited] = jira.write(
        ENTITY, [WriteRequest("c1", {"body": "Bye"}, remote_id=made.record.id)], "conveyor_key"
    )
    assert edited.ok and read(jira)[0].values["body"] == "Bye"


def test_a_comment_for_an_unknown_ticket_is_refused_and_the_rest_go_through(
    fake: FakeJira, jira: JiraConnector
) -> None:
    ticket(fake, "t1")
    results = jira.write(
        ENTITY,
        [
            WriteRequest("c1", {"body": "ok", PARENT: "t1"}),
            WriteRequest("c2", {"body": "lost?", PARENT: "t404"}),
        ],
        "conveyor_key",
    )
    assert results[0].ok and results[1].error is not None
    assert "t404" in str(results[1].error)


def test_deletes_are_found_by_the_key_scan(fake: FakeJira, jira: JiraConnector) -> None:
    ticket(fake, "t1")
    made = jira.write(
        ENTITY,
        [WriteRequest(f"c{n}", {"body": f"n{n}", PARENT: "t1"}) for n in range(2)],
        "conveyor_key",
    )
    ids = [r.record.id for r in made if r.record]
    [gone] = jira.delete(ENTITY, [ids[0]])
    assert gone.ok
    assert [i for page in jira.scan_ids(ENTITY) for i in page] == [ids[1]]


def test_parent_paths_are_checked_before_a_run(jira: JiraConnector) -> None:
    info = jira.describe(ENTITY)
    assert info.unknown([*FIELDS, "conveyor_key", "issue.Nope", "nope"]) == ["issue.Nope", "nope"]
    assert info.read_only(["body", PARENT, "author"]) == ["author"]


JOB = SyncJobSpec.model_validate(
    {
        "name": "ticket_comments",
        "local": {"table": "ticket_comments", "key": "id", "modified_column": "updated_at"},
        "remote": {
            "connector": "jira",
            "connection": "jira",
            "entity": ENTITY,
            "external_id_field": "conveyor_key",
        },
        "fields": {
            "ticket": {"remote": PARENT},
            "body": {"remote": "body"},
            "author": {"remote": "author", "direction": "inbound"},
        },
        "conflict": {"policy": "newest_wins"},
    }
)


def test_the_engine_syncs_a_comments_table_both_ways(
    fake: FakeJira, jira: JiraConnector, tmp_path: Path
) -> None:
    issue = ticket(fake, "t1")
    fake.add_comment(issue, "from Jira")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'local.db'}")
    first = SyncEngine(JOB, jira, engine).run()
    assert first.status == "succeeded", first.error
    with engine.begin() as conn:
        rows = conn.execute(sa.text("SELECT ticket, body FROM ticket_comments")).all()
        assert [tuple(r) for r in rows] == [("t1", "from Jira")]
        conn.execute(
            sa.text(
                "INSERT INTO ticket_comments (id, ticket, body, updated_at) "
                "VALUES ('local-1', 't1', 'from **us**', '2099-01-01T00:00:00.000000+00:00')"
            )
        )
    second = SyncEngine(JOB, jira, engine).run()
    assert second.status == "succeeded", second.error
    assert second.counts["created"] == 1, second.counts
    bodies = sorted(r.values["body"] for r in read(jira))
    assert bodies == ["from **us**", "from Jira"]
    engine.dispose()
