"""The SAP OData v2 benchmark: a bidirectional sync of N business partners between a local table
and the fake SAP Gateway (API_BUSINESS_PARTNER), through the SAP connector's paged reads and
``$batch`` writes.

    python bench/sap_batch.py --rows 100000 --seed 42

Steps, each timed (set-up is not): the first run (N partners seeded in the fake, persons and
organizations, every one read through the server's ``__next`` pages and inserted locally), local
changes to SAP (one local UPDATE of one row in ten, written as MERGEs in ``$batch`` calls of
``batch_size`` 1,000 changes, in changesets of 100), both sides (another one in ten changed in
the fake as an SAP user would, and another one in ten locally), and idle runs; between them,
settle runs that re-read the last run's overlap window and must write nothing.

For each run: records, seconds, records/s, the calls the connector counted
(``SyncReport.remote_calls``) and the calls the fake answered: HTTP calls, ``$batch`` calls, the
MERGEs and POSTs inside them, and the read pages. At the end every local row must equal its
partner in the fake, or the benchmark exits non-zero. The fake runs in this process on
127.0.0.1, so its own work (filtering and ordering a query's partners once, rendering each
page, applying each changeset) is in the seconds. The local table is in a fresh PostgreSQL
database (``--pg-url`` or $CONVEYOR_BENCH_DATABASE_URL, else the local server), or ``--sqlite``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from collections.abc import Mapping, Sequence
from contextlib import closing
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sync_bench
from sync_bench import Bench, Scenario, Step

from connectors.sap import from_settings
from conveyor.load.urls import create_engine, parse_url
from conveyor.sync.engine import SyncEngine
from conveyor.sync.local import LocalTable
from conveyor.sync.spec import SyncJobSpec
from conveyor.testing.fakes.sap import SERVICE_PATH, FakeSap

ENTITY = "A_BusinessPartner"
EXTERNAL_ID = "YY1_ConveyorKey"
TIME_ZONE = "Europe/Berlin"
#: local column -> remote property, as the job maps them (the example job's mapping)
MAPPED = {
    "category": "BusinessPartnerCategory",
    "first_name": "FirstName",
    "last_name": "LastName",
    "organization": "OrganizationBPName1",
    "search_term": "SearchTerm1",
    "blocked": "BusinessPartnerIsBlocked",
    "credit_limit": "YY1_CreditLimit",
    "number": "BusinessPartner",
    "full_name": "BusinessPartnerFullName",
}
#: the fake's route keys this benchmark counts apart
BATCH = f"POST {SERVICE_PATH}/$batch"
BATCH_MERGE = f"BATCH MERGE {SERVICE_PATH}/{ENTITY}({{key}})"
BATCH_POST = f"BATCH POST {SERVICE_PATH}/{ENTITY}"
READ = f"GET {SERVICE_PATH}/{ENTITY}"
#: mappings/sap/business_partners.yaml, as a job of this benchmark
JOB = SyncJobSpec.model_validate(
    {
        "name": "bench-sap",
        "local": {"table": "business_partners", "key": "id", "modified_column": "updated_at"},
        "remote": {
            "connector": "sap",
            "connection": "bench",
            "entity": ENTITY,
            "external_id_field": EXTERNAL_ID,
        },
        "fields": {
            "category": {"remote": "BusinessPartnerCategory"},
            "first_name": {"remote": "FirstName"},
            "last_name": {"remote": "LastName"},
            "organization": {"remote": "OrganizationBPName1"},
            "search_term": {"remote": "SearchTerm1"},
            "blocked": {"remote": "BusinessPartnerIsBlocked", "type": "boolean"},
            "credit_limit": {"remote": "YY1_CreditLimit", "type": "decimal"},
            "number": {"remote": "BusinessPartner", "direction": "inbound"},
            "full_name": {"remote": "BusinessPartnerFullName", "direction": "inbound"},
        },
        "direction": "bidirectional",
        "conflict": {"policy": "field_merge", "fallback": "source_wins"},
        "deletes": {"policy": "soft", "column": "deleted_at", "key_scan_every": 12},
        "batch_size": 1000,
    }
)
FIRST_NAMES = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hans", "Ida", "Jonas")
LAST_NAMES = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker")
ORG_WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne")
ORG_FORMS = ("GmbH", "AG", "KG", "SE", "Ltd", "Inc.")
#: what each local UPDATE adds to the credit limits, by the last digit of the keys it changes
CREDIT_RAISES = {"0": 100, "1": 250}


def cells(step: Step) -> list[str]:
    """A run's row: its name, the shared figures, then what the fake counted apart: read pages,
    ``$batch`` calls, and the MERGEs and POSTs inside them."""
    r = step.routes
    counted = (r.get(READ, 0), r.get(BATCH, 0), r.get(BATCH_MERGE, 0), r.get(BATCH_POST, 0))
    return [step.name, *step.figures(), *(f"{n:,}" for n in counted)]


TABLE = sync_bench.Table(
    (
        "step",
        *sync_bench.FIGURE_COLUMNS,
        "read pages",
        "$batch calls",
        "MERGEs in $batch",
        "POSTs in $batch",
    ),
    cells,
    SERVICE_PATH,
)
SCRIPT = sync_bench.Script("sap_batch.py", "conveyor-sap-bench-", TABLE)


def seed_remote(fake: FakeSap, rows: int, rng: random.Random) -> None:
    """N partners in the fake, each carrying our key (as the partners a previous load left)."""
    for i in range(rows):
        fake.insert(partner(i, rng))


def partner(i: int, rng: random.Random) -> dict[str, Any]:
    """One partner's values: three in five persons, the others organizations; search terms in
    upper case (SAP keeps them so); one in twenty blocked; credit limits to the cent."""
    values: dict[str, Any] = {
        EXTERNAL_ID: key(i),
        "BusinessPartnerIsBlocked": rng.random() < 0.05,
        "YY1_CreditLimit": f"{rng.randint(0, 10**7)}.{rng.randint(0, 99):02d}",
    }
    if rng.random() < 0.6:
        last = rng.choice(LAST_NAMES)
        values.update(
            BusinessPartnerCategory="1",
            FirstName=rng.choice(FIRST_NAMES),
            LastName=f"{last} {i}",
            SearchTerm1=last.upper(),
        )
    else:
        word = rng.choice(ORG_WORDS)
        values.update(
            BusinessPartnerCategory="2",
            OrganizationBPName1=f"{word} {i} {rng.choice(ORG_FORMS)}",
            SearchTerm1=word.upper(),
        )
    return values


def key(i: int) -> str:
    return f"bp{i:07d}"


def change_local(db: sa.Engine, last_digit: str, now: dt.datetime) -> int:
    """One UPDATE of every row whose key ends in ``last_digit`` (one in ten): the credit limit
    raised (by ``CREDIT_RAISES``; as a number: on SQLite the column is the decimal's text), the
    block flag turned; returns how many. (Names are left alone: SAP derives the full name from
    them, which would come back as a change of its own.)"""
    table = LocalTable(db, JOB).table
    raise_by = CREDIT_RAISES[last_digit]
    query = (
        sa.update(table)
        .where(table.c.id.like(f"%{last_digit}"))
        .values(
            credit_limit=sa.cast(table.c.credit_limit, sa.Numeric(15, 2)) + raise_by,
            blocked=sa.not_(table.c.blocked),
            updated_at=now,
        )
    )
    with db.begin() as conn:
        return int(conn.execute(query).rowcount)


def change_remote(fake: FakeSap, last_digit: str, rng: random.Random) -> int:
    """Partners whose key ends in ``last_digit`` changed in the fake as an SAP user would (a
    name and the credit limit; each moves LastChangeDate/LastChangeTime and the ETag, and SAP
    derives the full name again); returns how many."""
    changed = [p for p in fake.partners() if str(p[EXTERNAL_ID]).endswith(last_digit)]
    for p in changed:
        name = "LastName" if p["BusinessPartnerCategory"] == "1" else "OrganizationBPName1"
        values = {name: f"{p[name]} (SAP)", "YY1_CreditLimit": f"{rng.randint(0, 10**6)}.50"}
        fake.update(str(p["BusinessPartner"]), values)
    return len(changed)


def check_equal(db: sa.Engine, fake: FakeSap) -> int:
    """Every local row's mapped values equal its partner's in the fake, none is marked deleted,
    and no partner is on one side only; returns how many records were compared."""
    table = LocalTable(db, JOB).table
    columns = [table.c.id, table.c.deleted_at, *(table.c[n] for n in MAPPED)]
    with db.connect() as conn:
        rows = conn.execute(sa.select(*columns)).mappings().all()
    local = {str(r["id"]): _values({n: r[n] for n in MAPPED}) for r in rows}
    deleted = [str(r["id"]) for r in rows if r["deleted_at"] is not None]
    remote = {
        str(p[EXTERNAL_ID]): _values({n: p[f] for n, f in MAPPED.items()}) for p in fake.partners()
    }
    if deleted:
        raise SystemExit(f"{len(deleted):,} local rows are marked deleted, e.g. {deleted[:3]}")
    return sync_bench.compare(local, remote)


def _values(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Comparable values: SAP's empty text is the local null, the credit limit by value (SAP
    keeps two decimals, the local column what it was given), the flag as a bool."""
    limit = values["credit_limit"]
    return (
        *(values[n] or None for n in MAPPED if n not in ("blocked", "credit_limit")),
        bool(values["blocked"]),
        None if limit is None else Decimal(str(limit)).normalize(),
    )


def run(url: str, rows: int, seed: int, server_page: int) -> tuple[list[Step], list[str]]:
    """Every step in order; returns the steps and the set-up notes (what was not timed)."""
    rng = random.Random(seed)
    # SAP stamps whole seconds (its ETags too), so the clock's jumps also keep a run's writes
    # and the next changes made in the fake in different seconds.
    clock = sync_bench.SimClock()
    db = create_engine(parse_url(url))
    with FakeSap(clock=clock, page_size=server_page, time_zone=TIME_ZONE) as fake:
        settings = {
            "service_url": fake.service_url,
            "username": fake.username,
            "password": fake.password,
            "system_time_zone": TIME_ZONE,
        }
        connector = from_settings(settings)
        scenario = Scenario(
            system="SAP",
            records="partners",
            seed=lambda n: seed_remote(fake, n, rng),
            change_local=lambda digit, now: change_local(db, digit, now),
            change_remote=lambda digit: change_remote(fake, digit, rng),
            check=lambda: check_equal(db, fake),
        )
        bench = Bench(fake, connector, db, SyncEngine(JOB, connector, db, clock=clock), clock)
        with closing(bench):
            return sync_bench.measure(bench, rows, scenario)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = (
        f"fake SAP Gateway in-process on 127.0.0.1, server page {args.server_page_size}; "
        "connector page_size 100, batch_size 1000, changeset_size 100 (the defaults); "
        f"job batch_size {JOB.batch_size}"
    )
    return sync_bench.run_and_report(
        SCRIPT,
        argv,
        args,
        settings,
        lambda url: run(url, args.rows, args.seed, args.server_page_size),
    )


def parser() -> argparse.ArgumentParser:
    """The shared options (see ``sync_bench.parser``) and ``--server-page-size``."""
    return sync_bench.parser(__doc__, "partners", own_options)


def own_options(p: argparse.ArgumentParser) -> None:
    """The fake's server page (after ``--seed``, before the database options)."""
    p.add_argument(
        "--server-page-size",
        type=int,
        default=100,
        help="partners per server page (__next) in the fake (its default)",
    )


if __name__ == "__main__":
    raise SystemExit(main())
