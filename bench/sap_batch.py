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
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connectors.sap import SapConnector, from_settings
from conveyor.load.urls import create_engine, parse_url
from conveyor.sync.engine import SyncEngine
from conveyor.sync.local import LocalTable
from conveyor.sync.spec import SyncJobSpec
from conveyor.testing.fakes.sap import SERVICE_PATH, FakeSap
from conveyor.testing.postgres import create_test_database, find_or_start_postgres

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


class SimClock:
    """Now, shifted, for the engine and the fake alike: the partners are made two days ago (they
    were there before the job), the first run happens a day ago, the changes now and later, each
    run far enough (more than twice the 300 s overlap) from the one before that it reads only
    the changes made for it, as in real use. SAP stamps whole seconds (its ETags too), so these
    jumps also keep a run's writes and the next changes made in the fake in different seconds."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(days=-2)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def at(self, **delta: float) -> None:
        self.offset = dt.timedelta(**delta)


@dataclass
class Step:
    """One timed run, as the connector and the fake each counted it."""

    name: str
    seconds: float
    records: int
    calls: int  # the connector's count (SyncReport.remote_calls)
    fake_calls: int  # HTTP calls the fake answered
    routes: dict[str, int]
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        r = self.routes
        return (
            f"| {self.name} | {self.records:,} | {self.seconds:.2f} | {rate:,.0f} | "
            f"{self.calls:,} | {self.fake_calls:,} | {r.get(READ, 0):,} | {r.get(BATCH, 0):,} | "
            f"{r.get(BATCH_MERGE, 0):,} | {r.get(BATCH_POST, 0):,} |"
        )

    def detail(self) -> str:
        routes = ", ".join(
            f"{key.replace(SERVICE_PATH, '')} x{n}" for key, n in sorted(self.routes.items())
        )
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items() if v)
        return f"- {self.name}: {routes or 'no calls'}; counts: {counts or 'none'}"


@dataclass
class Bench:
    """The open pieces of one benchmark: the fake system, the connector, the local database."""

    fake: FakeSap
    connector: SapConnector
    db: sa.Engine
    sync: SyncEngine
    clock: SimClock

    def timed(self, name: str, records: int | None = None) -> Step:
        """One sync run, timed, with the calls each side counted; a failed run stops here."""
        self.fake.reset_calls()
        started = time.perf_counter()
        report = self.sync.run()
        seconds = time.perf_counter() - started
        if report.status != "succeeded":
            raise SystemExit(f"{name}: the run failed: {report.error}")
        if self.fake.internal_errors:
            raise SystemExit(f"{name}: the fake failed: {self.fake.internal_errors[-1]}")
        return Step(
            name,
            seconds,
            report.records if records is None else records,
            report.remote_calls,
            self.fake.calls,
            self.fake.calls_by_route,
            dict(report.counts),
        )


def expect(step: Step, **wanted: int) -> None:
    """The run wrote exactly what the benchmark changed: ``wanted`` outcomes (created, updated,
    deleted, conflicted, parked) and none of the others. A run that only settles must write
    nothing, so a value lost or changed on the way back fails here, not only at the end."""
    writes = ("created", "updated", "deleted", "conflicted", "parked")
    got = {k: step.counts.get(k, 0) for k in writes}
    if got != {k: wanted.get(k, 0) for k in writes}:
        raise SystemExit(f"{step.name}: expected {wanted or 'no writes'}, got {step.counts}")


def seed_remote(fake: FakeSap, rows: int, rng: random.Random) -> float:
    """N partners in the fake, each carrying our key (as the partners a previous load left);
    returns the seconds it took (set-up, not part of any step)."""
    started = time.perf_counter()
    for i in range(rows):
        fake.insert(partner(i, rng))
    return time.perf_counter() - started


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


def change_local(db: sa.Engine, last_digit: str, now: dt.datetime, raise_by: int) -> int:
    """One UPDATE of every row whose key ends in ``last_digit`` (one in ten): the credit limit
    raised (as a number: on SQLite the column is the decimal's text), the block flag turned;
    returns how many. (Names are left alone: SAP derives the full name from them, which would
    come back as a change of its own.)"""
    table = LocalTable(db, JOB).table
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
    if local != remote:
        differ = sorted(k for k in set(local) | set(remote) if local.get(k) != remote.get(k))
        samples = [(k, local.get(k), remote.get(k)) for k in differ[:3]]
        raise SystemExit(f"the sides differ on {len(differ):,} records, e.g. {samples}")
    return len(local)


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
    clock = SimClock()
    db = create_engine(parse_url(url))
    notes: list[str] = []
    with FakeSap(clock=clock, page_size=server_page, time_zone=TIME_ZONE) as fake:
        settings = {
            "service_url": fake.service_url,
            "username": fake.username,
            "password": fake.password,
            "system_time_zone": TIME_ZONE,
        }
        connector = from_settings(settings)
        bench = Bench(fake, connector, db, SyncEngine(JOB, connector, db, clock=clock), clock)
        try:
            notes.append(
                f"seeded {rows:,} partners in the fake in {seed_remote(fake, rows, rng):.1f} s"
            )
            steps = steps_of(bench, rows, rng, notes)
            started = time.perf_counter()
            compared = check_equal(db, fake)
            notes.append(
                f"both sides equal: {compared:,} records compared in "
                f"{time.perf_counter() - started:.1f} s"
            )
            return steps, notes
        finally:
            connector.close()
            db.dispose()


def steps_of(bench: Bench, rows: int, rng: random.Random, notes: list[str]) -> list[Step]:
    """The runs, the clock moved between them (see SimClock)."""
    clock = bench.clock
    clock.at(days=-1)
    first = bench.timed("first run, SAP -> local")
    expect(first, created=rows)
    clock.at(hours=-23)
    settle_first = bench.timed("settle run: re-reads the first run's own local writes (echo)")
    expect(settle_first)
    clock.at(minutes=0)
    changed = change_local(bench.db, "0", clock(), 100)
    notes.append(f"local UPDATE of {changed:,} rows (keys ending in 0)")
    local = bench.timed("local changes -> SAP")
    expect(local, updated=changed)
    clock.at(minutes=15)
    settle_local = bench.timed("settle run: re-reads the last run's overlap window (echo)")
    expect(settle_local)
    clock.at(minutes=30)
    started = time.perf_counter()
    remote = change_remote(bench.fake, "5", rng)
    notes.append(
        f"{remote:,} partners changed in the fake (keys ending in 5) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    changed = change_local(bench.db, "1", clock(), 250)
    notes.append(f"local UPDATE of {changed:,} rows (keys ending in 1)")
    both = bench.timed("both sides: 10% remote + 10% local")
    expect(both, updated=remote + changed)
    clock.at(minutes=45)
    soon = bench.timed("idle run 15 min later (re-reads the overlap window)", 0)
    expect(soon)
    clock.at(minutes=60)
    idle = bench.timed("idle run 30 min later", 0)
    expect(idle)
    return [first, settle_first, local, settle_local, both, soon, idle]


def peak_memory_mib() -> float:
    """This process's peak resident memory (Linux reports KiB), the fake's included."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(steps: Sequence[Step], notes: Sequence[str]) -> None:
    """The table, then each run's calls by route and counts, then the set-up notes."""
    print(
        "| step | records | seconds | records/s | connector calls | fake calls | read pages "
        "| $batch calls | MERGEs in $batch | POSTs in $batch |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for step in steps:
        print(step.line())
    print(f"\nCalls by fake route (paths under {SERVICE_PATH}) and the run's counts:")
    for step in steps:
        print(step.detail())
    print("\nSet-up (not timed):")
    for note in notes:
        print(f"- {note}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    started = time.perf_counter()
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if args.sqlite:
        folder = tempfile.mkdtemp(prefix="conveyor-sap-bench-")
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
    else:
        server = args.pg_url or os.environ.get("CONVEYOR_BENCH_DATABASE_URL")
        url, drop = create_test_database(server or find_or_start_postgres(use_env=False))
    try:
        steps, notes = run(url, args.rows, args.seed, args.server_page_size)
    finally:
        drop()
    report(steps, notes)
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"\n{backend}; fake SAP Gateway in-process on 127.0.0.1, server page "
        f"{args.server_page_size}; connector page_size 100, batch_size 1000, changeset_size 100 "
        f"(the defaults); job batch_size {JOB.batch_size}"
    )
    print(
        f"whole benchmark {time.perf_counter() - started:.1f} s, peak memory "
        f"{peak_memory_mib():,.0f} MiB, load average {load[0]:.2f} before"
    )
    print(f"Command: python bench/sap_batch.py {' '.join(argv or sys.argv[1:])}".rstrip())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000, help="partners on each side")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--server-page-size",
        type=int,
        default=100,
        help="partners per server page (__next) in the fake (its default)",
    )
    p.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    p.add_argument("--pg-url", default=None, help="PostgreSQL server URL")
    return p


if __name__ == "__main__":
    raise SystemExit(main())
