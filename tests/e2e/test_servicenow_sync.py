"""The ServiceNow example job (mappings/servicenow/incidents.yaml) end to end, against the fake.

`conveyor sync incidents` from the command line, on SQLite (and once on PostgreSQL), with the
instance seeded from examples/servicenow/seed.yaml and the connection settings in
CONVEYOR_SERVICENOW_DEMO as the job's header comment says: incidents both ways, the assignment
group as a reference (its sys_id written, its display value read), an unknown sys_id parked
with ServiceNow's reason, deletes read from sys_audit_delete, many writes through the Import Set
API with each row's outcome, no password in any output; then the same job through the Prefect
flow.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from conveyor.testing.fakes.servicenow import GROUPS, STAGING_TABLE, Credentials, FakeServiceNow
from conveyor.testing.fakes.servicenow.seedfile import apply_seed, load_seed
from tests.e2e.sync_cli import (
    MAPPINGS,
    artifact_data,
    expect_counts,
    insert_rows,
    invoke,
    parked_list,
    run_sync,
    select,
    update_row,
)
from tests.helpers import EXAMPLES, ROOT

runner = CliRunner()
SEED = EXAMPLES / "servicenow" / "seed.yaml"
CONNECTION = "CONVEYOR_SERVICENOW_DEMO"
#: Secrets no other text in a run could contain by chance, so finding one means it leaked.
PASSWORD = "e2e-snow-password-W4kZ9qT2"
CLIENT_SECRET = "e2e-snow-client-secret-B7mX3rN8"
#: Group name -> sys_id (the fake's demo groups), and back.
GROUP = {name: sys_id for sys_id, name, _ in GROUPS}
GROUP_NAME = {sys_id: name for name, sys_id in GROUP.items()}
#: A sys_id no record of sys_user_group has.
UNKNOWN_GROUP = "0123456789abcdef0123456789abcdef"
#: The seeded incidents as the local table holds them, by our key (u_conveyor_key):
#: key -> (title, state, impact, urgency, group_name, number). INC0010005 has no key.
SEEDED = {
    "I-001": ("Printer on floor 3 jams", 1, 2, 2, "Hardware", "INC0010001"),
    "I-002": ("VPN drops every hour", 2, 1, 1, "Network", "INC0010002"),
    "I-003": ("New starter laptop for Dana", 3, 3, 2, "Service Desk", "INC0010003"),
    "I-004": ("Renew the TLS certificate", 6, 2, 3, "Software", "INC0010004"),
    "INC0010005": ("Coffee machine shows error E7", 1, 3, 3, None, "INC0010005"),
}
WRITE_ROUTES = ("POST", "PUT", "PATCH", "DELETE")
TABLE_GET = "GET /api/now/table/{table}"
INSERT_MULTIPLE = "POST /api/now/import/{staging_table}/insertMultiple"

# -- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeServiceNow]:
    """A fake ServiceNow instance seeded with the example's incidents."""
    credentials = Credentials(password=SecretStr(PASSWORD), client_secret=SecretStr(CLIENT_SECRET))
    with FakeServiceNow(credentials=credentials) as instance:
        apply_seed(instance, load_seed(SEED), str(SEED))
        yield instance


def connection(instance: FakeServiceNow, **extra: object) -> str:
    """The job's connection settings (basic auth), as CONVEYOR_SERVICENOW_DEMO holds them."""
    basic = {"username": instance.username, "password": instance.password}
    return json.dumps({"instance_url": instance.url, **basic, **extra})


@pytest.fixture
def sqlite_env(fake: FakeServiceNow, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite local database and the fake's connection in the environment; the URL."""
    return _environment(fake, sqlite_url, monkeypatch)


@pytest.fixture
def any_env(fake: FakeServiceNow, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """As sqlite_env, on SQLite and then on PostgreSQL."""
    return _environment(fake, db_url, monkeypatch)


def _environment(instance: FakeServiceNow, url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    monkeypatch.setenv(CONNECTION, connection(instance))
    return url


def sync(*args: str) -> dict[str, Any]:
    """`conveyor sync incidents --json`, which must succeed; its report."""
    return run_sync("incidents", *args)


def parked() -> list[dict[str, Any]]:
    return parked_list("incidents")


def expect(report: Mapping[str, Any], **wanted: int) -> None:
    expect_counts("incidents", report, **wanted)


def first_sync() -> None:
    """The first run: every seeded incident becomes a local row, none is parked."""
    expect(sync(), created=5, parked=0)


def insert_incidents(url: str, *rows: Mapping[str, Any]) -> None:
    insert_rows(url, "incidents", *rows)


def update_incident(url: str, key: str, **values: Any) -> None:
    update_row(url, "incidents", key, **values)


def local_incidents(url: str) -> dict[str, tuple[Any, ...]]:
    """Live local incidents: id -> (title, state, impact, urgency, group_name, number)."""
    rows = select(
        url,
        "SELECT id, title, state, impact, urgency, group_name, number FROM incidents "
        "WHERE deleted_at IS NULL",
    )
    return {
        r["id"]: (r["title"], r["state"], r["impact"], r["urgency"], r["group_name"], r["number"])
        for r in rows
    }


def local_groups(url: str) -> dict[str, tuple[str | None, str | None]]:
    """Live local incidents: id -> (group, group_name)."""
    rows = select(url, 'SELECT id, "group", group_name FROM incidents WHERE deleted_at IS NULL')
    return {r["id"]: (r["group"], r["group_name"]) for r in rows}


def remote_incidents(instance: FakeServiceNow) -> dict[str, tuple[Any, ...]]:
    """The instance's incidents as the local table should hold them, by our key (else the
    incident's sys_id)."""
    return {
        (r["u_conveyor_key"] or r["sys_id"]): (
            r["short_description"],
            int(r["state"]),
            int(r["impact"]),
            int(r["urgency"]),
            GROUP_NAME.get(r["assignment_group"]),
            r["number"],
        )
        for r in instance.records("incident")
    }


def incident_of(instance: FakeServiceNow, our_key: str) -> dict[str, str]:
    """The stored incident holding ``our_key`` in u_conveyor_key."""
    [found] = [r for r in instance.records("incident") if r["u_conveyor_key"] == our_key]
    return found


def seeded(instance: FakeServiceNow) -> dict[str, tuple[Any, ...]]:
    """SEEDED with INC0010005 under its sys_id, as an incident made in ServiceNow is stored."""
    [coffee] = [r for r in instance.records("incident") if r["number"] == "INC0010005"]
    return {(coffee["sys_id"] if k == "INC0010005" else k): v for k, v in SEEDED.items()}


def writes(instance: FakeServiceNow) -> dict[str, int]:
    """The write calls the fake answered since its counters were reset."""
    return {r: n for r, n in instance.calls_by_route.items() if r.startswith(WRITE_ROUTES)}


# -- the command line -----------------------------------------------------------------------


def test_incidents_both_ways_from_the_cli_then_an_idle_run_changes_nothing(
    fake: FakeServiceNow, any_env: str
) -> None:
    first_sync()
    assert local_incidents(any_env) == seeded(fake)
    assert local_groups(any_env)["I-001"] == (GROUP["Hardware"], "Hardware"), "sys_id and name"
    insert_incidents(
        any_env,
        {
            "id": "I-100",
            "title": "Badge reader at the back door",
            "body": "It beeps twice.",
            "state": 2,
            "impact": 2,
            "urgency": 1,
            "group": GROUP["Hardware"],
        },
    )
    update_incident(any_env, "I-002", title="VPN drops every hour on Wi-Fi", urgency=2)
    fake.update("incident", incident_of(fake, "I-003")["sys_id"], {"state": 2})

    changed = sync()

    expect(changed, created=1, updated=2, parked=0, conflicted=0)
    made = incident_of(fake, "I-100")  # our key is in u_conveyor_key
    assert (made["short_description"], made["description"]) == (
        "Badge reader at the back door",
        "It beeps twice.",
    )
    assert (made["state"], made["impact"], made["urgency"]) == ("2", "2", "1")
    assert made["assignment_group"] == GROUP["Hardware"] and made["number"] == "INC0010006"
    vpn = incident_of(fake, "I-002")
    assert (vpn["short_description"], vpn["urgency"]) == ("VPN drops every hour on Wi-Fi", "2")
    assert vpn["priority"] == "2", "the instance computes priority from impact and urgency"
    assert local_incidents(any_env)["I-003"][1] == 2
    # the create's answer is read as the job reads: the number and the group's name at once
    assert local_incidents(any_env)["I-100"][4:] == ("Hardware", "INC0010006")
    echo = sync()  # reads its own writes back once: nothing left to change

    expect(echo, created=0, updated=0, written_remote=0, parked=0)
    assert remote_incidents(fake) == local_incidents(any_env)
    fake.reset_calls()

    idle = sync()

    expect(idle, created=0, updated=0, deleted=0, parked=0, conflicted=0)
    assert writes(fake) == {}, fake.calls_by_route
    assert remote_incidents(fake) == local_incidents(any_env)


def test_a_reference_moves_the_assignment_group_and_an_unknown_sys_id_is_parked(
    fake: FakeServiceNow, sqlite_env: str
) -> None:
    first_sync()
    update_incident(sqlite_env, "I-001", group=GROUP["Network"])
    update_incident(sqlite_env, "I-002", group=UNKNOWN_GROUP)  # the instance refuses it
    update_incident(sqlite_env, "I-003", title="Laptop for Dana: ordered")

    moved = sync()

    expect(moved, updated=2, parked=1, conflicted=0)
    assert incident_of(fake, "I-001")["assignment_group"] == GROUP["Network"]
    assert incident_of(fake, "I-003")["short_description"] == "Laptop for Dana: ordered"
    assert incident_of(fake, "I-002")["assignment_group"] == GROUP["Network"], "unchanged"
    [entry] = parked()
    assert (entry["key"], entry["side"]) == ("I-002", "remote")
    assert "HTTP 400" in entry["reason"], entry
    assert f"Assignment group: '{UNKNOWN_GROUP}' names no record" in entry["reason"], entry

    follows = sync()  # I-002's local change is still pending: tried again, refused again

    expect(follows, created=0, parked=1, conflicted=0)
    assert local_groups(sqlite_env)["I-001"] == (GROUP["Network"], "Network")
    assert local_groups(sqlite_env)["I-002"] == (UNKNOWN_GROUP, "Network"), "until it is fixed"
    update_incident(sqlite_env, "I-002", group=GROUP["Software"])  # fixed: written, unparked

    fixed = sync()

    expect(fixed, updated=1, parked=0)
    assert incident_of(fake, "I-002")["assignment_group"] == GROUP["Software"]
    assert parked() == []
    sync()
    assert local_groups(sqlite_env)["I-002"] == (GROUP["Software"], "Software")


def test_a_delete_in_servicenow_reaches_the_table_through_the_audit_table(
    fake: FakeServiceNow, sqlite_env: str
) -> None:
    """The run that finds the delete makes exactly the reads of an idle run (describe, the
    changes, sys_audit_delete): no listing of every sys_id. A delete the instance does not
    audit is not found at all, so the audit table is where deletes come from."""
    first_sync()
    sync()
    fake.reset_calls()
    expect(sync(), created=0, updated=0, deleted=0)
    idle_reads = fake.calls_by_route[TABLE_GET]
    doomed = incident_of(fake, "I-003")["sys_id"]
    fake.delete("incident", doomed)
    tombstones = fake.records("sys_audit_delete")
    assert [(t["tablename"], t["documentkey"]) for t in tombstones] == [("incident", doomed)]
    fake.reset_calls()

    report = sync()

    expect(report, deleted=1, created=0, updated=0)
    assert fake.calls_by_route == {TABLE_GET: idle_reads}, "no key scan: the same reads"
    rows = select(sqlite_env, "SELECT id, deleted_at FROM incidents ORDER BY id")
    assert len(rows) == 5, "soft: the row is kept"
    assert [r["id"] for r in rows if r["deleted_at"] is not None] == ["I-003"]
    again = sync()
    expect(again, created=0, updated=0, deleted=0)
    assert "I-003" not in remote_incidents(fake), "the kept row is not sent back"
    fake.set_audit_delete("incident", False)
    fake.delete("incident", incident_of(fake, "I-004")["sys_id"])

    unaudited = sync()

    expect(unaudited, deleted=0)
    assert "I-004" in local_incidents(sqlite_env), "deletes are read from the audit table only"


#: Of the bulk inserts, the one with a state ServiceNow does not have.
BAD_STATE_KEY = "B-017"


def _bulk_rows(count: int) -> list[dict[str, Any]]:
    """``count`` new local incidents with every field set (an empty value cannot go through
    an import set); BAD_STATE_KEY's state 5 is no choice of incident.state."""
    groups = list(GROUP.values())
    return [
        {
            "id": f"B-{n:03}",
            "title": f"Bulk incident {n}",
            "body": f"Found by the monitoring run {n}.",
            "state": 5 if f"B-{n:03}" == BAD_STATE_KEY else 1 + n % 3,
            "impact": 1 + n % 3,
            "urgency": 3 - n % 3,
            "group": groups[n % len(groups)],
        }
        for n in range(count)
    ]


def test_many_writes_go_through_the_import_set_api_with_each_rows_outcome(
    fake: FakeServiceNow, sqlite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk = connection(
        fake, import_table=STAGING_TABLE, import_threshold=10, import_poll_seconds=0.05
    )
    monkeypatch.setenv(CONNECTION, bulk)
    first_sync()
    insert_incidents(sqlite_env, *_bulk_rows(50))
    fake.reset_calls()

    imported = sync()

    expect(imported, created=49, parked=1, conflicted=0)
    assert fake.calls_by_route[INSERT_MULTIPLE] == 1, fake.calls_by_route
    assert writes(fake) == {INSERT_MULTIPLE: 1}, "no Table API write"
    made = {r["u_conveyor_key"]: r for r in fake.records("incident")}
    assert len([k for k in made if k.startswith("B-")]) == 49 and BAD_STATE_KEY not in made
    sample = made["B-004"]
    assert (sample["short_description"], sample["state"], sample["impact"]) == (
        "Bulk incident 4",
        "2",
        "2",
    )
    assert sample["assignment_group"] == GROUP["Service Desk"]  # groups[4 % 4]
    [entry] = parked()
    assert (entry["key"], entry["side"]) == (BAD_STATE_KEY, "remote")
    assert "import set row skipped" in entry["reason"], entry
    assert "'5' is not a valid State" in entry["reason"], entry
    staged = {r["u_conveyor_key"]: r for r in fake.records(STAGING_TABLE)}
    assert staged[BAD_STATE_KEY]["sys_import_state"] == "skipped"

    update_incident(sqlite_env, BAD_STATE_KEY, state=1)  # fixed: a valid state
    fake.reset_calls()

    back = sync()

    # The 49 come back linked: none is created or written again; each brings its number and
    # group name (computed by the instance; an import set's answer does not carry them).
    # B-017 is created through the Table API (one record, under the threshold), whose answer
    # brings its number and group name at once.
    expect(back, created=1, updated=49, written_remote=1, parked=0, conflicted=0)
    assert writes(fake) == {"POST /api/now/table/{table}": 1}, fake.calls_by_route
    assert len(fake.records("incident")) == 5 + 50
    assert (
        local_incidents(sqlite_env)[BAD_STATE_KEY][4:] == remote_incidents(fake)[BAD_STATE_KEY][4:]
    )
    expect(sync(), updated=0, written_remote=0)
    assert remote_incidents(fake) == local_incidents(sqlite_env)
    fake.reset_calls()

    idle = sync()

    expect(idle, created=0, updated=0, parked=0, conflicted=0)
    assert writes(fake) == {}, fake.calls_by_route
    assert parked() == []


def test_the_password_never_reaches_the_output(
    fake: FakeServiceNow,
    sqlite_env: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs = []
    for args in (["--json"], [], ["--dry-run"]):
        result = invoke("sync", "incidents", "--mappings", MAPPINGS, *args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    wrong = PASSWORD[:-6] + "wrong0"
    monkeypatch.setenv(
        CONNECTION,
        json.dumps({"instance_url": fake.url, "username": fake.username, "password": wrong}),
    )
    refused = invoke("sync", "incidents", "--mappings", MAPPINGS)
    assert refused.exit_code == 1 and "401" in refused.output, refused.output
    refused_json = invoke("sync", "incidents", "--mappings", MAPPINGS, "--json")
    assert refused_json.exit_code == 1
    report = json.loads(refused_json.stdout)
    assert report["status"] == "failed" and "401" in report["error"], report
    monkeypatch.setenv(CONNECTION, json.dumps({"instance_url": "ftp://x", "password": PASSWORD}))
    invalid = invoke("sync", "incidents", "--mappings", MAPPINGS)
    assert invalid.exit_code == 2 and "instance_url" in invalid.output, invalid.output
    listed = invoke("parked", "list", "incidents")
    texts = [*outputs, refused.output, refused_json.output, invalid.output, listed.output]
    for text in [*texts, caplog.text]:
        assert PASSWORD not in text and wrong not in text


def test_oauth_password_grant_as_the_header_shows(
    fake: FakeServiceNow, sqlite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header's OAuth settings sign in (password grant, one token for the run); a wrong
    client secret fails the run with the sign-in's refusal; no secret is in the output."""
    oauth = {"client_id": fake.client_id, "client_secret": fake.client_secret}
    monkeypatch.setenv(CONNECTION, connection(fake, **oauth))
    result = invoke("sync", "incidents", "--mappings", MAPPINGS, "--json")
    assert result.exit_code == 0, result.output
    expect(json.loads(result.stdout), created=5, parked=0)
    assert fake.calls_by_route.get("POST /oauth_token.do") == 1, fake.calls_by_route
    monkeypatch.setenv(CONNECTION, connection(fake, **{**oauth, "client_secret": "nope"}))
    refused = invoke("sync", "incidents", "--mappings", MAPPINGS)
    assert refused.exit_code == 1 and "refused the OAuth sign-in" in refused.output, refused
    for text in (result.output, refused.output):
        assert PASSWORD not in text and CLIENT_SECRET not in text


# -- bugs these tests found, fixed ------------------------------------------------------------


def test_oauth_secrets_stay_out_of_debug_logs(
    fake: FakeServiceNow,
    sqlite_env: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """requests-oauthlib logs, at DEBUG, the token request's body (password and client secret)
    and every access and refresh token: the connector silences those loggers
    (conveyor.transport.quiet_oauth_logs), so an OAuth run logs no secret, as a basic-auth
    run does not."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(
        CONNECTION,
        connection(fake, client_id=fake.client_id, client_secret=fake.client_secret),
    )
    result = invoke("sync", "incidents", "--mappings", MAPPINGS)
    assert result.exit_code == 0, result.output
    leaks = [
        f"{r.name}: {r.getMessage()[:60]}..."
        for r in caplog.records
        if PASSWORD in r.getMessage() or CLIENT_SECRET in r.getMessage()
    ]
    assert leaks == [], leaks


def test_an_import_set_update_of_an_incident_made_in_servicenow_updates_it(
    fake: FakeServiceNow, sqlite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Updates never go through the Import Set API (it coalesces on u_conveyor_key, which an
    incident made in ServiceNow does not hold: it would insert a second incident): above the
    threshold they are PATCHed through the Table API, and only creates are imported."""
    bulk = connection(
        fake, import_table=STAGING_TABLE, import_threshold=2, import_poll_seconds=0.05
    )
    monkeypatch.setenv(CONNECTION, bulk)
    first_sync()
    sync()
    coffee = next(k for k in seeded(fake) if not k.startswith("I-"))
    for key in ("I-001", "I-003", "I-004", coffee):
        update_incident(sqlite_env, key, urgency=1)  # four updates: over the threshold

    report = sync()

    expect(report, updated=4, parked=0)
    assert fake.calls_by_route.get(INSERT_MULTIPLE, 0) == 0
    assert len(fake.records("incident")) == 5, [
        (r["number"], r["u_conveyor_key"], r["short_description"]) for r in fake.records("incident")
    ]
    original = fake.get("incident", coffee)
    assert original is not None and original["urgency"] == "1", "the update reached it"
    sync()
    assert local_incidents(sqlite_env)[coffee][5] == "INC0010005"


def test_a_second_incident_carrying_a_linked_key_does_not_take_over_the_row(
    fake: FakeServiceNow, sqlite_env: str
) -> None:
    """An incident copied in ServiceNow (Copy Incident copies custom fields) carries the key
    I-001, which is linked to INC0010001. The copy is a new incident: it is stored under its
    own sys_id, and I-001's row stays INC0010001's, run after run."""
    first_sync()
    sync()
    copy = fake.insert(
        "incident", {"short_description": "Copy of the printer", "u_conveyor_key": "I-001"}
    )

    expect(sync(), created=1, parked=0)
    first = local_incidents(sqlite_env)
    sync()
    second = local_incidents(sqlite_env)

    assert first["I-001"][5] == second["I-001"][5] == "INC0010001", (first, second)
    assert first[copy][0] == second[copy][0] == "Copy of the printer"
    assert len(second) == len(SEEDED) + 1


# -- the Prefect flow -----------------------------------------------------------------------


def test_the_prefect_flow_syncs_the_incidents_and_publishes_the_counts(
    prefect_server: None,
    fake: FakeServiceNow,
    sqlite_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.sync_job import sync_job_flow

    monkeypatch.chdir(ROOT)  # the job is found in mappings/servicenow/
    state = sync_job_flow(job="incidents", return_state=True)
    assert state.is_completed() and state.name == "Completed", state
    assert local_incidents(sqlite_env) == seeded(fake)
    tables = asyncio.run(artifact_data("sync-counts"))
    ours = [t for t in tables if '"incidents"' in t]
    assert ours, f"no sync-counts artifact for incidents among {tables}"
    [row] = json.loads(ours[0])
    assert (row["created"], row["read_remote"], row["status"]) == (5, 5, "succeeded")
