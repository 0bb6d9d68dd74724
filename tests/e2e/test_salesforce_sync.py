"""The Salesforce example jobs (mappings/salesforce/) end to end, against the fake Salesforce.

`conveyor sync sf_accounts` and `sf_contacts` from the command line, on SQLite and
PostgreSQL, with the org seeded from examples/salesforce/seed.yaml and the connection
settings in CONVEYOR_SALESFORCE_DEMO as the jobs' header comments say; then the same job
through the Prefect flow, and 300 Accounts through the Bulk API 2.0 path.
"""

from __future__ import annotations

import asyncio
import gc
import json
import warnings
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conveyor.cli import app
from conveyor.testing.fakes.salesforce import FakeSalesforce
from conveyor.testing.fakes.salesforce.seedfile import apply_seed, load_seed
from tests.e2e.sync_cli import (
    MAPPINGS,
    artifact_data,
    invoke,
    now_text,
    parked_list,
    run_sync,
    select,
)
from tests.helpers import EXAMPLES, ROOT

runner = CliRunner()
SEED = EXAMPLES / "salesforce" / "seed.yaml"
CONNECTION = "CONVEYOR_SALESFORCE_DEMO"
#: The seeded Accounts as the local table holds them: id -> (name, employees, revenue).
SEEDED_ACCOUNTS = {
    "ACC-001": ("Acme Corporation", 1200, Decimal("5250000.5")),
    "ACC-002": ("Globex", 340, Decimal("980000")),
    "ACC-003": ("Initech", 85, Decimal("120000.25")),
    "ACC-004": ("Umbrella Health", None, None),
}
#: The seeded Contacts' Accounts, by the Contact's key.
SEEDED_CONTACTS = {
    "CON-001": "ACC-001",
    "CON-002": "ACC-001",
    "CON-003": "ACC-002",
    "CON-004": "ACC-003",
    "CON-005": None,
}

# -- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    """The fake org with the example seed: the Conveyor_Key__c fields, Accounts, Contacts."""
    with FakeSalesforce() as org:
        apply_seed(org, load_seed(SEED), str(SEED))
        yield org


def connection(org: FakeSalesforce, **extra: object) -> str:
    """The job's connection settings, as CONVEYOR_SALESFORCE_DEMO holds them."""
    return json.dumps({"instance_url": org.url, "access_token": org.session_id, **extra})


@pytest.fixture
def sqlite_env(
    fake: FakeSalesforce, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A SQLite local database and the fake's connection in the environment; the URL."""
    yield from _environment(fake, sqlite_url, monkeypatch)


@pytest.fixture
def any_env(fake: FakeSalesforce, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """As sqlite_env, on SQLite and then on PostgreSQL."""
    yield from _environment(fake, db_url, monkeypatch)


def _environment(org: FakeSalesforce, url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    monkeypatch.setenv(CONNECTION, connection(org))
    yield url


def sync(job: str, *args: str) -> dict[str, Any]:
    return run_sync(job, *args)


def parked(job: str) -> list[dict[str, Any]]:
    return parked_list(job)


def execute(url: str, sql: str, params: list[dict[str, Any]] | dict[str, Any]) -> None:
    """What an application does to the local table: one statement, values bound."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def number(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def local_accounts(url: str) -> dict[str, tuple[Any, ...]]:
    """Live local Accounts: id -> (name, employees, revenue)."""
    rows = select(
        url, "SELECT id, name, employees, revenue FROM sf_accounts WHERE deleted_at IS NULL"
    )
    return {r["id"]: (r["name"], r["employees"], number(r["revenue"])) for r in rows}


def remote_accounts(org: FakeSalesforce) -> dict[str, tuple[Any, ...]]:
    """Live Salesforce Accounts, by our key: key -> (Name, NumberOfEmployees, AnnualRevenue)."""
    return {
        str(r["Conveyor_Key__c"]): (r["Name"], r["NumberOfEmployees"], number(r["AnnualRevenue"]))
        for r in org.records("Account")
    }


def by_key(org: FakeSalesforce, entity: str) -> dict[str, dict[str, object]]:
    return {str(r["Conveyor_Key__c"]): r for r in org.records(entity)}


def counts(report: Mapping[str, Any], *names: str) -> tuple[int, ...]:
    return tuple(int(report["counts"].get(n, 0)) for n in names)


# -- the command line -----------------------------------------------------------------------


def test_accounts_both_ways_from_the_cli_then_an_idle_run_spends_two_calls(
    fake: FakeSalesforce, any_env: str
) -> None:
    first = sync("sf_accounts")
    assert counts(first, "created", "parked") == (4, 0)
    assert local_accounts(any_env) == SEEDED_ACCOUNTS
    stamp = now_text()
    execute(
        any_env,
        "INSERT INTO sf_accounts (id, name, employees, revenue, industry, updated_at) "
        "VALUES ('ACC-100', 'Hooli', 50, 1234.5, 'Technology', :t)",
        {"t": stamp},
    )
    execute(
        any_env,
        "UPDATE sf_accounts SET employees = 400, updated_at = :t WHERE id = 'ACC-002'",
        {"t": stamp},
    )
    initech = by_key(fake, "Account")["ACC-003"]["Id"]
    fake.update("Account", str(initech), {"Website": "https://initech.example.com"})

    changed = sync("sf_accounts")

    assert counts(changed, "created", "updated", "parked", "conflicted") == (1, 2, 0, 0)
    remote = by_key(fake, "Account")
    assert remote["ACC-100"]["Name"] == "Hooli" and remote["ACC-100"]["Industry"] == "Technology"
    assert remote["ACC-002"]["NumberOfEmployees"] == 400
    [website] = select(any_env, "SELECT website FROM sf_accounts WHERE id = 'ACC-003'")
    assert website == {"website": "https://initech.example.com"}
    sync("sf_accounts")  # reads its own writes back once (echoes)
    assert remote_accounts(fake) == local_accounts(any_env)
    fake.reset_calls()
    idle = sync("sf_accounts")
    assert counts(idle, "created", "updated") == (0, 0)
    assert idle["remote_calls"] <= 2 and fake.calls <= 2, fake.calls_by_route


def test_contacts_follow_their_account_by_its_key(fake: FakeSalesforce, any_env: str) -> None:
    sync("sf_accounts")
    first = sync("sf_contacts")
    assert counts(first, "created", "parked") == (5, 0)
    rows = select(any_env, "SELECT id, account_key FROM sf_contacts")
    assert {r["id"]: r["account_key"] for r in rows} == SEEDED_CONTACTS
    stamp = now_text()
    execute(  # an Account made locally, and a Contact under it, before either is in Salesforce
        any_env,
        "INSERT INTO sf_accounts (id, name, updated_at) VALUES ('ACC-200', 'Vandelay', :t)",
        {"t": stamp},
    )
    new_contacts = [
        {"id": "CON-100", "last": "Kramer", "account": "ACC-002"},
        {"id": "CON-101", "last": "Nobody", "account": "ACC-999"},  # no such Account
        {"id": "CON-102", "last": "Costanza", "account": "ACC-200"},
    ]
    execute(
        any_env,
        "INSERT INTO sf_contacts (id, last_name, account_key, updated_at) "
        "VALUES (:id, :last, :account, :t)",
        [{**c, "t": stamp} for c in new_contacts],
    )
    execute(
        any_env,
        "UPDATE sf_contacts SET account_key = NULL, updated_at = :t WHERE id = 'CON-001'",
        {"t": stamp},
    )
    assert counts(sync("sf_accounts"), "created") == (1,)

    report = sync("sf_contacts")

    assert counts(report, "created", "updated", "parked") == (2, 1, 1)
    accounts = {k: r["Id"] for k, r in by_key(fake, "Account").items()}
    contacts = by_key(fake, "Contact")
    assert contacts["CON-100"]["AccountId"] == accounts["ACC-002"]
    assert contacts["CON-102"]["AccountId"] == accounts["ACC-200"]
    assert contacts["CON-001"]["AccountId"] is None
    assert contacts["CON-002"]["AccountId"] == accounts["ACC-001"]
    assert "CON-101" not in contacts
    listed = parked("sf_contacts")
    assert [(p["key"], p["side"]) for p in listed] == [("CON-101", "remote")]
    assert "Foreign key external ID: ACC-999 not found" in listed[0]["reason"]


def test_a_delete_in_salesforce_soft_deletes_the_local_row(
    fake: FakeSalesforce, sqlite_env: str
) -> None:
    sync("sf_accounts")
    umbrella = by_key(fake, "Account")["ACC-004"]["Id"]
    fake.delete("Account", str(umbrella))

    report = sync("sf_accounts")

    assert counts(report, "deleted", "created", "updated") == (1, 0, 0)
    rows = select(sqlite_env, "SELECT id, deleted_at FROM sf_accounts ORDER BY id")
    assert [r["id"] for r in rows] == sorted(SEEDED_ACCOUNTS), "soft: the row is kept"
    assert [r["id"] for r in rows if r["deleted_at"] is not None] == ["ACC-004"]
    again = sync("sf_accounts")
    assert counts(again, "created", "updated", "deleted") == (0, 0, 0)
    assert "ACC-004" not in remote_accounts(fake), "the kept row is not sent back"


def test_the_access_token_never_reaches_the_output(
    fake: FakeSalesforce, sqlite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = fake.session_id
    outputs = []
    for args in (["--json"], [], ["--dry-run"]):
        result = invoke("sync", "sf_accounts", "--mappings", MAPPINGS, *args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    fake.faults.expire_session()  # the token is refused from now on
    expired = invoke("sync", "sf_accounts", "--mappings", MAPPINGS)
    assert expired.exit_code == 1 and "INVALID_SESSION_ID" in expired.output, expired.output
    expired_json = invoke("sync", "sf_accounts", "--mappings", MAPPINGS, "--json")
    assert json.loads(expired_json.stdout)["status"] == "failed"
    wrong = token[:-6] + "wrong0"
    monkeypatch.setenv(CONNECTION, json.dumps({"instance_url": fake.url, "access_token": wrong}))
    refused = invoke("sync", "sf_accounts", "--mappings", MAPPINGS)
    assert refused.exit_code == 1 and "INVALID_SESSION_ID" in refused.output
    monkeypatch.setenv(CONNECTION, json.dumps({"instance_url": "ftp://x", "access_token": token}))
    invalid = invoke("sync", "sf_accounts", "--mappings", MAPPINGS)
    assert invalid.exit_code == 2 and "instance_url" in invalid.output, invalid.output
    listed = invoke("parked", "list", "sf_accounts")
    for text in [*outputs, expired.output, expired_json.output, refused.output, invalid.output]:
        assert token not in text and wrong not in text
    assert token not in listed.output


def test_a_local_update_of_one_field_leaves_the_other_fields_alone(
    fake: FakeSalesforce, sqlite_env: str
) -> None:
    """The connector answers a write with only the values it sent (Salesforce returns ids, not
    records): the fields it did not send must keep their local values, not become null."""
    sync("sf_accounts")
    execute(
        sqlite_env,
        "UPDATE sf_accounts SET employees = 400, updated_at = :t WHERE id = 'ACC-002'",
        {"t": now_text()},
    )

    report = sync("sf_accounts")

    assert counts(report, "updated") == (1,)
    assert by_key(fake, "Account")["ACC-002"]["NumberOfEmployees"] == 400
    [row] = select(
        sqlite_env, "SELECT name, revenue, industry, website FROM sf_accounts WHERE id = 'ACC-002'"
    )
    assert row == {
        "name": "Globex",
        "revenue": "980000",
        "industry": "Technology",
        "website": "https://globex.example.com",
    }


# -- the Prefect flow -----------------------------------------------------------------------


def test_the_prefect_flow_syncs_the_accounts_and_publishes_the_counts(
    prefect_server: None,
    fake: FakeSalesforce,
    sqlite_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.sync_job import sync_job_flow

    monkeypatch.chdir(ROOT)  # the job is found in mappings/salesforce/
    state = sync_job_flow(job="sf_accounts", return_state=True)
    assert state.is_completed() and state.name == "Completed", state
    assert local_accounts(sqlite_env) == SEEDED_ACCOUNTS
    tables = asyncio.run(artifact_data("sync-counts"))
    ours = [t for t in tables if "sf_accounts" in t]
    assert ours, f"no sync-counts artifact for sf_accounts among {tables}"
    [row] = json.loads(ours[0])
    assert (row["created"], row["read_remote"], row["status"]) == (4, 4, "succeeded")


# -- the Bulk API 2.0 path ------------------------------------------------------------------


def test_three_hundred_accounts_both_ways_through_bulk_jobs(
    fake: FakeSalesforce, sqlite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk = connection(fake, bulk_threshold=50, poll_seconds=0.01, page_size=200)
    monkeypatch.setenv(CONNECTION, bulk)  # a read of more than a page continues as a Bulk query
    many = [
        {"Name": f"Bulk {i:03d}", "Conveyor_Key__c": f"B-{i:03d}", "NumberOfEmployees": i}
        for i in range(300)
    ]
    fake.seed("Account", many)

    first = sync("sf_accounts")

    assert counts(first, "created", "parked") == (304, 0)
    assert [j["operation"] for j in fake.query_jobs()] == ["queryAll"]
    assert local_accounts(sqlite_env) == remote_accounts(fake)
    stamp = now_text()
    execute(
        sqlite_env,
        "UPDATE sf_accounts SET employees = employees + 1000, revenue = 7.25, updated_at = :t "
        "WHERE id LIKE 'B-%'",
        {"t": stamp},
    )
    execute(
        sqlite_env,
        "INSERT INTO sf_accounts (id, name, employees, updated_at) VALUES (:id, :name, 1, :t)",
        [{"id": f"N-{i:02d}", "name": f"New {i:02d}", "t": stamp} for i in range(20)],
    )

    second = sync("sf_accounts")

    assert counts(second, "created", "updated", "parked") == (20, 300, 0)
    jobs = {j["externalIdFieldName"]: j for j in fake.ingest_jobs()}
    assert set(jobs) == {"Conveyor_Key__c", "Id"}, "creates upsert on our key, updates on Id"
    assert jobs["Id"]["numberRecordsProcessed"] == 300
    assert jobs["Conveyor_Key__c"]["numberRecordsProcessed"] == 20
    assert all(j["numberRecordsFailed"] == 0 for j in jobs.values())
    assert second["remote_calls"] <= 20, second["remote_calls"]
    remote = remote_accounts(fake)
    assert remote["B-007"] == ("Bulk 007", 1007, Decimal("7.25"))
    assert remote == local_accounts(sqlite_env) and len(remote) == 324
    settled = sync("sf_accounts")
    assert counts(settled, "created", "updated", "parked") == (0, 0, 0)
    assert remote_accounts(fake) == local_accounts(sqlite_env)


# -- the command line's housekeeping (both failed before cli_sync._store) ------------------


@pytest.mark.postgres
def test_parked_list_closes_its_database_connection(
    fake: FakeSalesforce, pg_empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`conveyor parked list` (like `conflicts list`, `parked retry`...) closes its database
    connections: none is left for the garbage collector."""
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", pg_empty_url)
    monkeypatch.setenv(CONNECTION, connection(fake))
    sync("sf_accounts")
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        result = invoke("parked", "list", "sf_accounts", "--json")
        gc.collect()
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []


def test_parked_list_before_any_sync_says_there_is_nothing(sqlite_url: str) -> None:
    """Before any sync ran, `conveyor parked list` says there is nothing (no traceback about
    a missing table) and creates no database file."""
    result = runner.invoke(app, ["parked", "list", "--database", sqlite_url, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists(), "no empty file is left"
