"""The Jira example job (mappings/jira/tickets.yaml) end to end, against the fake Jira.

`conveyor sync tickets` from the command line, on SQLite (and once on PostgreSQL), with the
project seeded from examples/jira/seed.yaml and the connection settings in CONVEYOR_JIRA_DEMO
as the job's header comment says: records both ways, statuses through workflow transitions,
Markdown descriptions through Atlassian Document Format, deletes found by the key scan, no
token in any output; then Jira Data Center with a personal access token, and the same job
through the Prefect flow.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from typer.testing import CliRunner

from conveyor.testing.fakes.jira import CATEGORY, CONVEYOR_KEY, Credentials, FakeJira, ManualClock
from conveyor.testing.fakes.jira.seedfile import apply_seed, load_seed
from tests.e2e.sync_cli import (
    MAPPINGS,
    artifact_data,
    expect_counts,
    invoke,
    now_text,
    parked_list,
    run_sync,
    select,
    update_row,
)
from tests.helpers import EXAMPLES, ROOT

runner = CliRunner()
SEED = EXAMPLES / "jira" / "seed.yaml"
CONNECTION = "CONVEYOR_JIRA_DEMO"
#: A token no other text in a run could contain by chance, so finding it means it leaked.
API_TOKEN = "e2e-jira-token-Q7vX2mK9pL4s"
PAT = "e2e-jira-pat-H3nR8wT1cZ6d"
#: The seeded issues as the local table holds them, by our key (Conveyor Key):
#: key -> (title, priority, labels, category, status). TIC-5 has no key (stored under its id).
SEEDED = {
    "T-001": ("Printer on floor 3 jams", "High", ["hardware", "printer"], "Hardware", "To Do"),
    "T-002": ("VPN drops every hour", "Highest", ["network"], "Software", "In Progress"),
    "T-003": ("New starter laptop for Dana", "Medium", ["onboarding"], "Hardware", "In Review"),
    "T-004": ("Renew the TLS certificate", "Low", [], "Other", "Done"),
    "TIC-5": ("Coffee machine shows error E7", "Lowest", ["kitchen"], None, "To Do"),
}
#: The seeded descriptions (ADF in Jira Cloud) as Markdown in the local `body` column.
SEEDED_BODIES = {
    "T-001": "The printer **jams** on `tray 2`. Tried so far:\n\n"
    "- open the tray and pull the paper\n- power cycle",
    "T-002": "See the [runbook](https://wiki.example.com/vpn) and *only on Wi-Fi*.",
    "T-003": "## Checklist\n\n1. order the laptop\n2. install `vpn-client`",
    "T-004": "Renewed until next year.",
    "TIC-5": "Error **E7** since Monday.",
}
WRITE_ROUTES = ("POST", "PUT", "DELETE")

# -- fixtures and helpers -------------------------------------------------------------------


def _credentials() -> Credentials:
    return Credentials(api_token=SecretStr(API_TOKEN), pat=SecretStr(PAT))


@pytest.fixture
def fake() -> Iterator[FakeJira]:
    """A fake Jira Cloud site (user zone Europe/Berlin) seeded with the example's TIC issues."""
    with FakeJira(deployment="Cloud", credentials=_credentials()) as site:
        apply_seed(site, load_seed(SEED), str(SEED))
        yield site


def connection(site: FakeJira, **extra: object) -> str:
    """The job's connection settings, as CONVEYOR_JIRA_DEMO holds them."""
    if site.deployment == "Cloud":
        auth: dict[str, object] = {"email": site.email, "api_token": site.api_token}
    else:
        auth = {"token": site.pat}
    return json.dumps({"url": site.url, **auth, **extra})


@pytest.fixture
def sqlite_env(fake: FakeJira, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite local database and the fake's connection in the environment; the URL."""
    return _environment(fake, sqlite_url, monkeypatch)


@pytest.fixture
def any_env(fake: FakeJira, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """As sqlite_env, on SQLite and then on PostgreSQL."""
    return _environment(fake, db_url, monkeypatch)


def _environment(site: FakeJira, url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    monkeypatch.setenv(CONNECTION, connection(site))
    return url


def sync(*args: str) -> dict[str, Any]:
    """`conveyor sync tickets --json`, which must succeed; its report."""
    return run_sync("tickets", *args)


def parked() -> list[dict[str, Any]]:
    return parked_list("tickets")


def expect(report: Mapping[str, Any], **wanted: int) -> None:
    expect_counts("tickets", report, **wanted)


def first_sync(site: FakeJira) -> dict[str, Any]:
    """The first run: every seeded issue becomes a local ticket, none is parked (the parked
    reasons are shown when some are)."""
    report = sync()
    expect(report, created=5, parked=0)
    return report


def counts(report: Mapping[str, Any], *names: str) -> tuple[int, ...]:
    return tuple(int(report["counts"].get(n, 0)) for n in names)


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url)


def insert_ticket(url: str, **values: Any) -> None:
    """What an application does to insert a ticket: bound values; labels as JSON (a list on
    PostgreSQL's jsonb, its JSON text in SQLite's text column)."""
    engine = _engine(url)
    try:
        table = sa.Table("tickets", sa.MetaData(), autoload_with=engine)
        if engine.dialect.name == "sqlite" and "labels" in values:
            values["labels"] = json.dumps(values["labels"])
        with engine.begin() as conn:
            conn.execute(sa.insert(table).values(updated_at=now_text(), **values))
    finally:
        engine.dispose()


def update_ticket(url: str, key: str, **values: Any) -> None:
    update_row(url, "tickets", key, **values)


def _labels(value: Any) -> list[str]:
    """Labels as a list, whether the database returned JSON text or a parsed list."""
    parsed = json.loads(value) if isinstance(value, str) else value
    return sorted(parsed or [])


def local_tickets(url: str) -> dict[str, tuple[Any, ...]]:
    """Live local tickets: id -> (title, priority, labels, category, status)."""
    rows = select(
        url,
        "SELECT id, title, priority, labels, category, status FROM tickets "
        "WHERE deleted_at IS NULL",
    )
    return {
        r["id"]: (r["title"], r["priority"], _labels(r["labels"]), r["category"], r["status"])
        for r in rows
    }


def local_bodies(url: str) -> dict[str, str | None]:
    rows = select(url, "SELECT id, body FROM tickets WHERE deleted_at IS NULL")
    return {r["id"]: r["body"] for r in rows}


def remote_tickets(site: FakeJira) -> dict[str, tuple[Any, ...]]:
    """The project's issues as the local table should hold them, by our key (or issue id)."""
    found = {}
    for issue in site.issues("TIC"):
        f = issue["fields"]
        key = f.get(CONVEYOR_KEY) or issue["id"]
        found[key] = (
            f["summary"],
            f["priority"],
            sorted(f["labels"]),
            f.get(CATEGORY),
            f["status"],
        )
    return found


def issue_of(site: FakeJira, our_key: str) -> dict[str, Any]:
    """The stored issue holding ``our_key`` in Conveyor Key."""
    [issue] = [i for i in site.issues("TIC") if i["fields"].get(CONVEYOR_KEY) == our_key]
    return issue


def seeded(site: FakeJira, values: Mapping[str, Any] = SEEDED) -> dict[str, Any]:
    """SEEDED (or SEEDED_BODIES) with TIC-5 under its Jira issue id, as a record made in
    Jira is stored."""
    tic5 = site.issue("TIC-5")
    assert tic5 is not None
    return {(tic5["id"] if k == "TIC-5" else k): v for k, v in values.items()}


def writes(site: FakeJira) -> dict[str, int]:
    """The write calls the fake answered since its counters were reset."""
    return {r: n for r, n in site.calls_by_route.items() if r.startswith(WRITE_ROUTES)}


# -- the command line -----------------------------------------------------------------------


def test_tickets_both_ways_from_the_cli_then_an_idle_run_changes_nothing(
    fake: FakeJira, any_env: str
) -> None:
    first_sync(fake)
    assert local_tickets(any_env) == seeded(fake)
    assert local_bodies(any_env) == seeded(fake, SEEDED_BODIES), "ADF read as Markdown"
    insert_ticket(
        any_env,
        id="T-100",
        title="Badge reader at the back door",
        body="It beeps **twice**.",
        priority="High",
        labels=["access"],
        category="Hardware",
        status="In Progress",  # created in To Do, then moved by "Start"
    )
    update_ticket(any_env, "T-002", title="VPN drops every hour on Wi-Fi")
    fake.update_issue("TIC-3", {"summary": "Laptop for Dana: ordered"})

    changed = sync()

    expect(changed, created=1, updated=2, parked=0, conflicted=0)
    made = issue_of(fake, "T-100")  # our key is in Conveyor Key
    assert made["fields"]["summary"] == "Badge reader at the back door"
    assert (made["fields"]["priority"], made["fields"][CATEGORY]) == ("High", "Hardware")
    assert made["fields"]["labels"] == ["access"] and made["fields"]["status"] == "In Progress"
    assert issue_of(fake, "T-002")["fields"]["summary"] == "VPN drops every hour on Wi-Fi"
    assert local_tickets(any_env)["T-003"][0] == "Laptop for Dana: ordered"
    echo = sync()  # reads its own writes back once
    expect(echo, created=0, updated=0, parked=0)
    assert remote_tickets(fake) == local_tickets(any_env)
    fake.reset_calls()

    idle = sync()

    expect(idle, created=0, updated=0, deleted=0, parked=0, conflicted=0)
    assert writes(fake) == {}, fake.calls_by_route
    assert remote_tickets(fake) == local_tickets(any_env)


def test_a_status_is_written_through_its_transition_or_parked_with_the_transitions(
    fake: FakeJira, sqlite_env: str
) -> None:
    first_sync(fake)
    update_ticket(sqlite_env, "T-001", status="In Progress")  # To Do -> In Progress: "Start"

    started = sync()

    expect(started, updated=1, parked=0)
    assert issue_of(fake, "T-001")["fields"]["status"] == "In Progress"
    update_ticket(sqlite_env, "T-001", status="Done")  # In Progress has no transition to Done

    refused = sync()

    expect(refused, updated=0, parked=1)
    [entry] = parked()
    assert (entry["key"], entry["side"]) == ("T-001", "remote")
    assert "'Done' cannot be reached" in entry["reason"]
    assert "Review -> In Review" in entry["reason"] and "Stop -> To Do" in entry["reason"]
    assert issue_of(fake, "T-001")["fields"]["status"] == "In Progress", "Jira keeps its status"
    update_ticket(sqlite_env, "T-001", status="In Review")  # "Review"

    reviewed = sync()

    expect(reviewed, updated=1, parked=0)
    assert issue_of(fake, "T-001")["fields"]["status"] == "In Review"
    settled = sync()
    expect(settled, updated=0, parked=0)
    assert local_tickets(sqlite_env)["T-001"][4] == "In Review"


#: A local body in Markdown: bold, a list, a link and inline code.
MARKDOWN_BODY = (
    "The reader at door **B** fails:\n\n"
    "- badge `4711` is refused\n"
    "- see [the log](https://logs.example.com/door-b)"
)


def _marks_and_nodes(node: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """Every mark type and node type in an ADF document."""
    marks = {m["type"] for m in node.get("marks") or []}
    nodes = {str(node["type"])}
    for child in node.get("content") or []:
        child_marks, child_nodes = _marks_and_nodes(child)
        marks |= child_marks
        nodes |= child_nodes
    return marks, nodes


def test_a_markdown_body_travels_as_adf_and_its_echo_is_not_an_update(
    fake: FakeJira, sqlite_env: str
) -> None:
    first_sync(fake)
    insert_ticket(
        sqlite_env, id="T-200", title="Door B", body=MARKDOWN_BODY, priority="Medium",
        labels=["door"], status="In Progress",
    )  # fmt: skip

    made = sync()

    expect(made, created=1, parked=0)
    doc = issue_of(fake, "T-200")["fields"]["description"]
    assert doc["type"] == "doc" and doc["version"] == 1
    marks, nodes = _marks_and_nodes(doc)
    assert {"strong", "code", "link"} <= marks and {"bulletList", "listItem"} <= nodes
    assert "**" not in json.dumps(doc), "Markdown is converted, not sent as text"

    echo = sync()

    expect(echo, echo=1, updated=0, created=0, parked=0)
    assert local_bodies(sqlite_env)["T-200"] == MARKDOWN_BODY, "no ping-pong: text unchanged"
    edited = {
        "version": 1,
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Fixed by "},
                    {"type": "text", "text": "resetting", "marks": [{"type": "em"}]},
                    {"type": "text", "text": " the "},
                    {"type": "text", "text": "controller", "marks": [{"type": "strong"}]},
                ],
            },
            {
                "type": "orderedList",
                "attrs": {"order": 1},
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "a"}]}
                        ],
                    },
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "b"}]}
                        ],
                    },
                ],
            },
        ],
    }
    fake.update_issue(issue_of(fake, "T-200")["key"], {"description": edited})

    back = sync()

    expect(back, updated=1, parked=0)
    assert (
        local_bodies(sqlite_env)["T-200"] == "Fixed by *resetting* the **controller**\n\n1. a\n2. b"
    )
    fake.reset_calls()
    again = sync()
    expect(again, updated=0, created=0)
    assert writes(fake) == {}


def test_two_runs_in_one_minute_apply_nothing_twice(fake: FakeJira, sqlite_env: str) -> None:
    """Jira's JQL reads dates to the minute, so a run reads again everything changed since
    its cursor's minute, less the job's 300 s overlap: runs seconds apart, with the fake's
    stamps all in one minute, read every change again. What the previous run handled is echo
    or seen, never written again."""
    first_sync(fake)
    moment = dt.datetime.now(dt.UTC)
    fake.clock = ManualClock(moment, step=dt.timedelta(milliseconds=3))  # one minute's stamps
    fake.update_issue("TIC-2", {"priority": {"name": "Low"}})
    update_ticket(sqlite_env, "T-004", title="Renew the TLS certificate (2027)")

    once = sync()

    expect(once, updated=2, parked=0)
    fake.reset_calls()

    twice = sync()

    expect(twice, updated=0, created=0, parked=0, conflicted=0)
    assert counts(twice, "echo")[0] + counts(twice, "seen")[0] == 5
    assert writes(fake) == {}, "nothing re-applied"
    thrice = sync()
    expect(thrice, seen=5, updated=0, echo=0)
    assert local_tickets(sqlite_env)["T-002"][1] == "Low"
    assert issue_of(fake, "T-004")["fields"]["summary"] == "Renew the TLS certificate (2027)"


def test_a_delete_in_jira_is_found_by_the_key_scan_and_soft_deletes_the_row(
    fake: FakeJira, sqlite_env: str
) -> None:
    first_sync(fake)
    fake.delete_issue(issue_of(fake, "T-003")["key"])
    fake.reset_calls()

    report = sync()

    expect(report, deleted=1, created=0, updated=0)
    scans = [r for r in fake.calls_by_route if "search" in r]
    assert sum(fake.calls_by_route[r] for r in scans) >= 2, "the changes, then the key scan"
    rows = select(sqlite_env, "SELECT id, deleted_at FROM tickets ORDER BY id")
    assert len(rows) == 5, "soft: the row is kept"
    assert [r["id"] for r in rows if r["deleted_at"] is not None] == ["T-003"]
    again = sync()
    expect(again, created=0, updated=0, deleted=0)
    assert "T-003" not in remote_tickets(fake), "the kept row is not sent back"


def test_the_api_token_never_reaches_the_output(
    fake: FakeJira,
    sqlite_env: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs = []
    for args in (["--json"], [], ["--dry-run"]):
        result = invoke("sync", "tickets", "--mappings", MAPPINGS, *args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    wrong = API_TOKEN[:-6] + "wrong0"
    monkeypatch.setenv(CONNECTION, json.dumps({"url": fake.url, "email": fake.email,
                                               "api_token": wrong}))  # fmt: skip
    refused = invoke("sync", "tickets", "--mappings", MAPPINGS)
    assert refused.exit_code == 1 and "401" in refused.output, refused.output
    refused_json = invoke("sync", "tickets", "--mappings", MAPPINGS, "--json")
    assert refused_json.exit_code == 1
    report = json.loads(refused_json.stdout)
    assert report["status"] == "failed" and "401" in report["error"]
    monkeypatch.setenv(CONNECTION, json.dumps({"url": "ftp://x", "api_token": API_TOKEN}))
    invalid = invoke("sync", "tickets", "--mappings", MAPPINGS)
    assert invalid.exit_code == 2 and "url" in invalid.output, invalid.output
    listed = invoke("parked", "list", "tickets")
    texts = [*outputs, refused.output, refused_json.output, invalid.output, listed.output]
    for text in [*texts, caplog.text]:
        assert API_TOKEN not in text and wrong not in text


# -- Jira Data Center -----------------------------------------------------------------------


def test_data_center_with_a_personal_access_token(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Data Center (REST v2) descriptions are text both ways and the PAT signs in."""
    with FakeJira(deployment="Server", credentials=_credentials()) as site:
        apply_seed(site, load_seed(SEED), str(SEED))
        _environment(site, sqlite_url, monkeypatch)
        first_sync(site)
        assert local_tickets(sqlite_url) == seeded(site)
        assert local_bodies(sqlite_url)["T-004"] == "Renewed until next year."
        insert_ticket(
            sqlite_url, id="T-300", title="Server room too warm", body="28 degrees.\n\nFan?",
            priority="High", status="In Progress",
        )  # fmt: skip
        update_ticket(sqlite_url, "T-002", status="In Review")

        changed = sync()

        expect(changed, created=1, updated=1, parked=0)
        made = issue_of(site, "T-300")
        assert made["fields"]["status"] == "In Progress", "created, then moved by Start"
        assert issue_of(site, "T-002")["fields"]["status"] == "In Review"
        site.reset_calls()
        sync()  # the echo
        idle = sync()
        expect(idle, created=0, updated=0, parked=0)
        assert writes(site) == {}
        assert remote_tickets(site) == local_tickets(sqlite_url)
        assert local_bodies(sqlite_url)["T-300"] == "28 degrees.\n\nFan?"


# -- found by these tests and fixed (connector: nulls on create, the first status, empty lists;
#    engine: parked entries of a key written since) ---------------------------------------


def test_a_new_ticket_without_a_priority_takes_jiras_default(
    fake: FakeJira, sqlite_env: str
) -> None:
    """A local ticket with no priority (or no category) is created with Jira's defaults: the
    connector leaves empty fields out of a create instead of sending them as null."""
    first_sync(fake)
    insert_ticket(sqlite_env, id="T-400", title="No priority yet", status="In Progress")

    report = sync()

    expect(report, created=1, parked=0)
    assert issue_of(fake, "T-400")["fields"]["priority"] == "Medium"


def test_a_new_ticket_in_the_initial_status_needs_no_transition(
    fake: FakeJira, sqlite_env: str
) -> None:
    """A new issue starts in To Do: a local ticket in To Do is created as it is, without a
    transition (there is none from To Do to To Do, and none is needed)."""
    first_sync(fake)
    insert_ticket(sqlite_env, id="T-500", title="Still to do", priority="Low", status="To Do")

    report = sync()

    expect(report, created=1, parked=0)
    assert issue_of(fake, "T-500")["fields"]["status"] == "To Do"


def test_a_parked_ticket_written_since_leaves_the_parked_list(
    fake: FakeJira, sqlite_env: str
) -> None:
    """A ticket parked for an unreachable status, then changed locally to a reachable one and
    written: `conveyor parked list` no longer shows it (its old reason is no longer true)."""
    first_sync(fake)
    update_ticket(sqlite_env, "T-002", status="Done")  # In Progress: Review or Stop only
    expect(sync(), parked=1)
    update_ticket(sqlite_env, "T-002", status="In Review")

    report = sync()

    expect(report, updated=1, parked=0)
    assert issue_of(fake, "T-002")["fields"]["status"] == "In Review"
    assert [(p["key"], p["reason"]) for p in parked()] == []


def test_a_ticket_created_without_labels_reads_back_as_an_echo(
    fake: FakeJira, sqlite_env: str
) -> None:
    """A local ticket with no labels (NULL) becomes an issue with no labels, which Jira reads
    as an empty list: the next run sees its own write (echo), not a change to copy back."""
    first_sync(fake)
    insert_ticket(sqlite_env, id="T-600", title="No labels", priority="Low", status="In Progress")
    expect(sync(), created=1, parked=0)
    assert issue_of(fake, "T-600")["fields"]["labels"] == []

    echo = sync()

    expect(echo, echo=1, updated=0)


# -- the Prefect flow -----------------------------------------------------------------------


def test_the_prefect_flow_syncs_the_tickets_and_publishes_the_counts(
    prefect_server: None,
    fake: FakeJira,
    sqlite_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.sync_job import sync_job_flow

    monkeypatch.chdir(ROOT)  # the job is found in mappings/jira/
    state = sync_job_flow(job="tickets", return_state=True)
    assert state.is_completed() and state.name == "Completed", state
    assert local_tickets(sqlite_env) == seeded(fake)
    tables = asyncio.run(artifact_data("sync-counts"))
    ours = [t for t in tables if '"tickets"' in t]
    assert ours, f"no sync-counts artifact for tickets among {tables}"
    [row] = json.loads(ours[0])
    assert (row["created"], row["read_remote"], row["status"]) == (5, 5, "succeeded")
