"""The SAP example job (mappings/sap/business_partners.yaml) end to end, against the fake.

`conveyor sync business_partners` from the command line, on SQLite (and once on PostgreSQL),
with the fake SAP Gateway seeded from examples/sap/seed.yaml and the connection settings in
CONVEYOR_SAP_DEMO as the job's header comment says: partners both ways (one made in SAP and
never changed included), an ETag conflict (SAP changes partners between the run's read and its
write) resolved by the job's policy, a $batch write of 1,000 changes with one refused, OAuth
client credentials, no secret in any output; then the same job through the Prefect flow.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from conveyor.testing.fakes.salesforce.clock import system_clock
from conveyor.testing.fakes.sap import FakeSap
from conveyor.testing.fakes.sap.auth import Credentials
from conveyor.testing.fakes.sap.seedfile import apply_seed, load_seed
from tests.e2e.sync_cli import (
    MAPPINGS,
    artifact_data,
    expect_counts,
    insert_rows,
    invoke,
    now_text,
    parked_list,
    run_sync,
    update_row,
)
from tests.helpers import EXAMPLES, ROOT

JOB = "business_partners"
SEED = EXAMPLES / "sap" / "seed.yaml"
CONNECTION = "CONVEYOR_SAP_DEMO"
#: Secrets no other text in a run could contain by chance, so finding one means it leaked.
PASSWORD = "e2e-sap-password-Q8vL2mZ7"
CLIENT_SECRET = "e2e-sap-client-secret-H3kW9pX4"
SERVICE = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
BATCH = f"POST {SERVICE}/$batch"
BATCH_CREATE = f"BATCH POST {SERVICE}/A_BusinessPartner"
BATCH_MERGE = f"BATCH MERGE {SERVICE}/A_BusinessPartner({{key}})"
#: The seeded partners as the local table holds them, by our key (YY1_ConveyorKey):
#: key -> (category, first, last, organization, search term, blocked, credit limit, number).
#: The fifth has no key, as one made in SAP, and is stored under its partner number. SAP's
#: empty text (a person's organization name) is stored as null.
SEEDED = {
    "BP-001": ("2", None, None, "Acme Tools GmbH", "ACME", False, Decimal("25000"), "1000001"),
    "BP-002": (
        "2",
        None,
        None,
        "Globex Logistics AG",
        "GLOBEX",
        False,
        Decimal("12500.5"),
        "1000002",
    ),
    "BP-003": ("1", "Ada", "Lovelace", None, "LOVELACE", False, Decimal("0"), "1000003"),
    "BP-004": ("1", "Grace", "Hopper", None, "HOPPER", True, Decimal("0"), "1000004"),
    "1000005": (
        "2",
        None,
        None,
        "Initech Software Ltd",
        "INITECH",
        False,
        Decimal("5000"),
        "1000005",
    ),
}

# -- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeSap]:
    """A fake SAP system seeded with the example's partners."""
    credentials = Credentials(password=SecretStr(PASSWORD), client_secret=SecretStr(CLIENT_SECRET))
    with FakeSap(credentials=credentials) as system:
        apply_seed(system, load_seed(SEED), str(SEED))
        yield system


def connection(system: FakeSap, **extra: object) -> str:
    """The job's connection settings (basic auth), as CONVEYOR_SAP_DEMO holds them."""
    basic = {"username": system.username, "password": system.password}
    settings = {"service_url": system.service_url, "system_time_zone": "Europe/Berlin"}
    return json.dumps({**settings, **basic, **extra})


@pytest.fixture
def sqlite_env(fake: FakeSap, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite local database and the fake's connection in the environment; the URL."""
    return _environment(fake, sqlite_url, monkeypatch)


@pytest.fixture
def any_env(fake: FakeSap, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """As sqlite_env, on SQLite and then on PostgreSQL."""
    return _environment(fake, db_url, monkeypatch)


def _environment(system: FakeSap, url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    monkeypatch.setenv(CONNECTION, connection(system))
    return url


def sync(*args: str) -> dict[str, Any]:
    return run_sync(JOB, *args)


def expect(report: Mapping[str, Any], **wanted: int) -> None:
    expect_counts(JOB, report, **wanted)


def _table(engine: sa.Engine) -> sa.Table:
    return sa.Table(JOB, sa.MetaData(), autoload_with=engine)


def insert_partners(url: str, *rows: Mapping[str, Any]) -> None:
    insert_rows(url, JOB, *rows)


def update_partner(url: str, key: str, **values: Any) -> None:
    update_row(url, JOB, key, **values)


def local_partners(url: str) -> dict[str, tuple[Any, ...]]:
    """Live local partners: id -> the SEEDED tuple."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            t = _table(engine).c
            columns = (t.id, t.category, t.first_name, t.last_name, t.organization)
            more = (t.search_term, t.blocked, t.credit_limit, t.number)
            query = sa.select(*columns, *more).where(t.deleted_at.is_(None))
            rows = conn.execute(query).all()
    finally:
        engine.dispose()
    return {r[0]: (*r[1:6], bool(r[6]), Decimal(str(r[7])).normalize(), r[8]) for r in rows}


def remote_partners(system: FakeSap) -> dict[str, tuple[Any, ...]]:
    """SAP's partners as the local table should hold them, by our key (else the number)."""
    return {
        (p["YY1_ConveyorKey"] or p["BusinessPartner"]): (
            p["BusinessPartnerCategory"],
            p["FirstName"] or None,  # SAP's empty text is no value: null in the table
            p["LastName"] or None,
            p["OrganizationBPName1"] or None,
            p["SearchTerm1"],
            p["BusinessPartnerIsBlocked"],
            Decimal(p["YY1_CreditLimit"]).normalize(),
            p["BusinessPartner"],
        )
        for p in system.partners()
    }


def partner_of(system: FakeSap, our_key: str) -> dict[str, Any]:
    [found] = [p for p in system.partners() if p["YY1_ConveyorKey"] == our_key]
    return found


def writes(system: FakeSap) -> dict[str, int]:
    """The $batch calls and the changes inside them since the counters were reset."""
    return {r: n for r, n in system.calls_by_route.items() if r.startswith(("POST", "BATCH"))}


def a_second_later(system: FakeSap, change: Callable[[], None]) -> Callable[[], None]:
    """``change``, made by an SAP user a second after anything before it: SAP's ETags keep
    whole seconds, so a change within the second of the last one would keep its ETag."""

    def act() -> None:
        system.clock = lambda: system_clock() + dt.timedelta(seconds=2)
        change()

    return act


# -- the command line -----------------------------------------------------------------------


def test_partners_both_ways_from_the_cli_then_an_idle_run_changes_nothing(
    fake: FakeSap, any_env: str
) -> None:
    expect(sync(), created=5, parked=0)
    assert local_partners(any_env) == SEEDED
    insert_partners(
        any_env,
        {
            "id": "BP-100",
            "category": "1",
            "first_name": "Katherine",
            "last_name": "Johnson",
            "search_term": "JOHNSON",
            "credit_limit": "1500.25",
        },
    )
    update_partner(any_env, "BP-002", search_term="GLOBEX AG", credit_limit="20000.75")
    fake.update("1000003", {"LastName": "King"})  # Ada Lovelace, Countess of ...: a new name
    made_in_sap = fake.insert(
        {"BusinessPartnerCategory": "2", "OrganizationBPName1": "Hooli Inc", "SearchTerm1": "HOOLI"}
    )
    assert fake.partner(made_in_sap)["LastChangeDate"] is None, "never changed in SAP"  # type: ignore[index]

    changed = sync()

    expect(changed, created=2, updated=2, parked=0, conflicted=0)
    made = partner_of(fake, "BP-100")
    assert (made["FirstName"], made["LastName"], made["YY1_CreditLimit"]) == (
        "Katherine",
        "Johnson",
        Decimal("1500.25"),
    )
    globex = partner_of(fake, "BP-002")
    assert (globex["SearchTerm1"], globex["YY1_CreditLimit"]) == ("GLOBEX AG", Decimal("20000.75"))
    assert local_partners(any_env)["BP-003"][2] == "King"
    assert local_partners(any_env)[made_in_sap][3] == "Hooli Inc", "read by its creation stamp"
    sync()  # the echo of this run's writes, with the number SAP gave BP-100
    assert local_partners(any_env) == remote_partners(fake)
    fake.reset_calls()

    idle = sync()

    expect(idle, created=0, updated=0, deleted=0, parked=0, conflicted=0)
    assert writes(fake) == {}, fake.calls_by_route
    assert local_partners(any_env) == remote_partners(fake)


def test_an_etag_conflict_is_decided_by_the_jobs_policy_in_the_same_run(
    fake: FakeSap, sqlite_env: str
) -> None:
    """Between the run's read and its $batch, an SAP user changes two partners: SAP answers
    412 for both (their ETags no longer match). The run reads them again and decides by the
    job's policy (field_merge, fallback source_wins): BP-001's name, changed on both sides,
    takes SAP's; BP-002's search term (local) and credit limit (SAP) merge and are written."""
    expect(sync(), created=5)
    sync()
    update_partner(sqlite_env, "BP-001", organization="Acme Tools (local)")
    update_partner(sqlite_env, "BP-002", search_term="GLOBEX LOCAL")

    def sap_user() -> None:
        fake.update("1000001", {"OrganizationBPName1": "Acme Tools SE"})
        fake.update("1000002", {"YY1_CreditLimit": "99999.00"})

    fake.faults.before_next(BATCH, a_second_later(fake, sap_user))
    fake.reset_calls()

    report = sync()

    expect(report, updated=2, parked=0, conflicted=0)
    # the changeset of both merges stops at the first (412) and is rolled back; each alone,
    # refused again, shows both stale; after deciding again, only BP-002's merge is needed
    assert fake.calls_by_route[BATCH] == 3, fake.calls_by_route
    assert fake.calls_by_route[BATCH_MERGE] == 1 + 2 + 1, fake.calls_by_route
    local = local_partners(sqlite_env)
    assert local["BP-001"][3] == "Acme Tools SE", "same field: SAP's value (source_wins)"
    assert partner_of(fake, "BP-001")["OrganizationBPName1"] == "Acme Tools SE"
    assert local["BP-002"][4:7:2] == ("GLOBEX LOCAL", Decimal("99999"))
    globex = partner_of(fake, "BP-002")
    assert (globex["SearchTerm1"], globex["YY1_CreditLimit"]) == ("GLOBEX LOCAL", Decimal("99999"))
    assert parked_list(JOB) == []
    follow = sync()
    expect(follow, updated=0, conflicted=0, parked=0)
    assert local_partners(sqlite_env) == remote_partners(fake)


def _many(count: int, bad: str) -> list[dict[str, Any]]:
    """``count`` new local partners; ``bad``'s last name is longer than SAP's 40 characters."""
    return [
        {
            "id": f"M-{n:04}",
            "category": "1",
            "first_name": f"Person {n}",
            "last_name": "x" * 41 if f"M-{n:04}" == bad else f"Many {n}",
            "search_term": f"MANY{n}",
            "credit_limit": f"{n}.50",
        }
        for n in range(count)
    ]


def test_a_thousand_changes_go_in_one_batch_and_refused_ones_are_parked(
    fake: FakeSap, sqlite_env: str
) -> None:
    """M-0417's last name is longer than $metadata's MaxLength: refused before it is sent.
    M-0623 is refused by SAP (a business rule): its changeset is rolled back and sent again
    change by change, so only M-0623 is parked, with SAP's message and details."""
    expect(sync(), created=5)
    sync()  # the echo: nothing but the 1,000 is left to do
    fake.faults.reject(
        lambda partner: partner["LastName"] == "Many 623",
        code="R11/124",
        message="Partner cannot be saved",
        details=[{"code": "R11/124", "message": "Name is on the block list", "target": "LastName"}],
    )
    insert_partners(sqlite_env, *_many(1000, bad="M-0417"))
    fake.reset_calls()

    report = sync()

    expect(report, created=998, parked=2, conflicted=0)
    # one $batch of the 999 creates sent, in changesets of 100; SAP stops the changeset of
    # the 601st..700th (M-0623 is the 623rd of the 999) at its 23rd create and rolls it back;
    # those 100 are sent again, each alone, in a second $batch
    assert fake.calls_by_route[BATCH] == 2, fake.calls_by_route
    assert fake.calls_by_route[BATCH_CREATE] == 899 + 23 + 100, fake.calls_by_route
    assert len(fake.partners()) == 5 + 998
    reasons = {e["key"]: e["reason"] for e in parked_list(JOB)}
    assert set(reasons) == {"M-0417", "M-0623"}
    assert "LastName holds 41 characters; SAP takes at most 40" in reasons["M-0417"]
    assert "HTTP 400" in reasons["M-0623"] and "Partner cannot be saved" in reasons["M-0623"]
    assert "Name is on the block list (LastName)" in reasons["M-0623"]
    sync()  # the echo, with each new partner's number
    engine = sa.create_engine(sqlite_env)
    try:
        with engine.begin() as conn:
            table = _table(engine)
            conn.execute(
                sa.update(table)
                .where(table.c.id.like("M-%"), table.c.id != "M-0417")
                .values(last_name=table.c.last_name + " (moved)", updated_at=now_text())
            )
    finally:
        engine.dispose()
    update_partner(sqlite_env, "M-0417", last_name="Fixed")
    fake.reset_calls()

    changes = sync()  # 998 updates and the two fixed creates: one $batch of 1,000 changes

    expect(changes, created=2, updated=998, parked=0)
    assert fake.calls_by_route[BATCH] == 1, fake.calls_by_route
    assert fake.calls_by_route[BATCH_MERGE] == 998 and fake.calls_by_route[BATCH_CREATE] == 2
    assert partner_of(fake, "M-0001")["LastName"] == "Many 1 (moved)"
    assert partner_of(fake, "M-0417")["LastName"] == "Fixed" and parked_list(JOB) == []
    assert partner_of(fake, "M-0623")["LastName"] == "Many 623 (moved)"


def test_oauth_client_credentials_and_no_secret_in_any_output(
    fake: FakeSap, sqlite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    oauth = {
        "service_url": fake.service_url,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "token_url": fake.token_url,
        "system_time_zone": "Europe/Berlin",
    }
    monkeypatch.setenv(CONNECTION, json.dumps(oauth))
    result = invoke("sync", JOB, "--mappings", MAPPINGS, "--json")
    assert result.exit_code == 0, result.output
    expect(json.loads(result.stdout), created=5, parked=0)
    monkeypatch.setenv(CONNECTION, json.dumps({**oauth, "client_secret": "nope"}))
    refused = invoke("sync", JOB, "--mappings", MAPPINGS)
    assert refused.exit_code == 1 and "refused the OAuth sign-in" in refused.output, refused
    wrong = PASSWORD[:-6] + "wrong0"
    monkeypatch.setenv(CONNECTION, connection(fake, password=wrong))
    denied = invoke("sync", JOB, "--mappings", MAPPINGS, "--json")
    assert denied.exit_code == 1 and "401" in json.loads(denied.stdout)["error"], denied.output
    monkeypatch.setenv(CONNECTION, json.dumps({"service_url": "ftp://x", "password": PASSWORD}))
    invalid = invoke("sync", JOB, "--mappings", MAPPINGS)
    assert invalid.exit_code == 2 and "service_url" in invalid.output, invalid.output
    for text in (result.output, refused.output, denied.output, invalid.output):
        assert PASSWORD not in text and CLIENT_SECRET not in text and wrong not in text


# -- the Prefect flow -----------------------------------------------------------------------


def test_the_prefect_flow_syncs_the_partners_and_publishes_the_counts(
    prefect_server: None, fake: FakeSap, sqlite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.sync_job import sync_job_flow

    monkeypatch.chdir(ROOT)  # the job is found in mappings/sap/
    state = sync_job_flow(job=JOB, return_state=True)
    assert state.is_completed() and state.name == "Completed", state
    assert local_partners(sqlite_env) == SEEDED
    tables = asyncio.run(artifact_data("sync-counts"))
    ours = [t for t in tables if f'"{JOB}"' in t]
    assert ours, f"no sync-counts artifact for {JOB} among {tables}"
    [row] = json.loads(ours[0])
    assert (row["created"], row["read_remote"], row["status"]) == (5, 5, "succeeded")
