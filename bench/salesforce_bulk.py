"""The Salesforce Bulk API 2.0 benchmark: a bidirectional sync of N Accounts between a local table
and the fake Salesforce org, through the Salesforce connector's bulk paths.

    python bench/salesforce_bulk.py --rows 100000 --seed 42

Steps, each timed (set-up is not): the first run (N Accounts seeded in the fake, every one read
through a Bulk query job and inserted locally), local changes to Salesforce (one local UPDATE of
one row in ten, written through Bulk ingest jobs), both sides (another one in ten changed in the
fake as a user would, and another one in ten locally), and idle runs; between them, settle runs
that re-read the last run's overlap window and must write nothing. Reads and writes of at most
``bulk_threshold`` (2,000) records take the REST paths instead; the table names the paths.

For each run: records, seconds, records/s, the calls the connector counted
(``SyncReport.remote_calls``) and the calls the fake answered, by route. At the end every local
row must equal its Account in the fake, or the benchmark exits non-zero. The fake runs in this
process on 127.0.0.1, so its own work (SOQL, CSV) is in the seconds; its first poll wait is
``--poll-seconds`` (0.05 s, not the connector's default 2 s). The local table is in a fresh
PostgreSQL database (``--pg-url`` or $CONVEYOR_BENCH_DATABASE_URL, else the local server), or
``--sqlite``.
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

from connectors.salesforce import SalesforceConnector, from_settings
from conveyor.load.urls import create_engine, parse_url
from conveyor.sync.engine import SyncEngine
from conveyor.sync.local import LocalTable
from conveyor.sync.spec import SyncJobSpec
from conveyor.testing.fakes.salesforce import FakeSalesforce, custom_field
from conveyor.testing.postgres import create_test_database, find_or_start_postgres

ENTITY = "Account"
EXTERNAL_ID = "Conveyor_Key__c"
INDUSTRIES = ("Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals")
#: local column -> remote field, as the job maps them
MAPPED = {
    "name": "Name",
    "employees": "NumberOfEmployees",
    "revenue": "AnnualRevenue",
    "industry": "Industry",
}
ROUTE_PREFIX = "/services/data/{version}"
#: the connector's paths, by a part of the fake's route keys
PATHS = {
    "REST query": "/queryAll",
    "Bulk query": "/jobs/query",
    "REST collections": "/composite/sobjects",
    "Bulk ingest": "/jobs/ingest",
}
JOB = SyncJobSpec.model_validate(
    {
        "name": "bench-salesforce",
        "local": {"table": "accounts", "key": "id", "modified_column": "updated_at"},
        "remote": {
            "connector": "salesforce",
            "connection": "bench",
            "entity": ENTITY,
            "external_id_field": EXTERNAL_ID,
        },
        "fields": {
            "name": {"remote": "Name"},
            "employees": {"remote": "NumberOfEmployees", "type": "integer"},
            "revenue": {"remote": "AnnualRevenue", "type": "decimal"},
            "industry": {"remote": "Industry"},
        },
        "direction": "bidirectional",
        "conflict": {"policy": "field_merge", "fallback": "newest_wins"},
        "batch_size": 2000,
    }
)


class SimClock:
    """Now, shifted, for the engine and the fake alike: the Accounts are made two days ago (they
    were there before the job), the first run happens a day ago, the changes now and later, each
    run far enough (more than twice the 300 s overlap) from the one before that it reads only
    the changes made for it, as in real use."""

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
    fake_calls: int  # what the fake answered
    routes: dict[str, int]
    counts: dict[str, int] = field(default_factory=dict)

    def paths(self) -> str:
        """Which of the connector's paths the fake saw this run take."""
        seen = [
            label for label, part in PATHS.items() if any(part in route for route in self.routes)
        ]
        return ", ".join(seen) or "no reads"

    def line(self) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        per_k = 1000 * self.calls / self.records if self.records else float(self.calls)
        return (
            f"| {self.name} | {self.paths()} | {self.records:,} | {self.seconds:.2f} | "
            f"{rate:,.0f} | {self.calls:,} | {self.fake_calls:,} | {per_k:.2f} |"
        )

    def detail(self) -> str:
        routes = ", ".join(
            f"{key.replace(ROUTE_PREFIX, '')} x{n}" for key, n in sorted(self.routes.items())
        )
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items() if v)
        return f"- {self.name}: {routes or 'no calls'}; counts: {counts or 'none'}"


@dataclass
class Bench:
    """The open pieces of one benchmark: the fake org, the connector, the local database."""

    fake: FakeSalesforce
    connector: SalesforceConnector
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


def seed_remote(fake: FakeSalesforce, rows: int, rng: random.Random) -> float:
    """N Accounts in the fake, each carrying our key (as the records a previous system left);
    returns the seconds it took (set-up, not part of any step)."""
    started = time.perf_counter()
    for start in range(0, rows, 10_000):
        fake.seed(ENTITY, [account(i, rng) for i in range(start, min(start + 10_000, rows))])
    return time.perf_counter() - started


def account(i: int, rng: random.Random) -> dict[str, Any]:
    """One Account's values; revenues reach 10^9, so Bulk CSV answers some as ``1.2E8``."""
    return {
        EXTERNAL_ID: key(i),
        "Name": f"Account {i}",
        "NumberOfEmployees": rng.randint(1, 50_000),
        "AnnualRevenue": f"{rng.randint(0, 10**9)}.{rng.randint(0, 99):02d}",
        "Industry": rng.choice(INDUSTRIES),
    }


def key(i: int) -> str:
    return f"a{i:07d}"


def change_local(db: sa.Engine, last_digit: str, now: dt.datetime) -> int:
    """One UPDATE of every row whose key ends in ``last_digit`` (one in ten); returns how many."""
    table = LocalTable(db, JOB).table
    query = (
        sa.update(table)
        .where(table.c.id.like(f"%{last_digit}"))
        .values(
            name=table.c.name + " (local edit)", employees=table.c.employees + 1, updated_at=now
        )
    )
    with db.begin() as conn:
        return int(conn.execute(query).rowcount)


def change_remote(fake: FakeSalesforce, last_digit: str, rng: random.Random) -> int:
    """Accounts whose key ends in ``last_digit`` changed in the fake as a user would (each
    bumps SystemModstamp); returns how many."""
    ids = {str(r[EXTERNAL_ID]): str(r["Id"]) for r in fake.records(ENTITY)}
    changed = [k for k in ids if k.endswith(last_digit)]
    for k in changed:
        values = {
            "AnnualRevenue": f"{rng.randint(0, 10**6)}.50",
            "Industry": rng.choice(INDUSTRIES),
        }
        fake.update(ENTITY, ids[k], values)
    return len(changed)


def check_equal(db: sa.Engine, fake: FakeSalesforce) -> int:
    """Every local row's mapped values equal its Account's in the fake, and no record is on one
    side only; returns how many records were compared."""
    table = LocalTable(db, JOB).table
    with db.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, *(table.c[n] for n in MAPPED))).mappings()
        local = {str(r["id"]): _values({n: r[n] for n in MAPPED}) for r in rows}
    remote = {
        str(r[EXTERNAL_ID]): _values({n: r[f] for n, f in MAPPED.items()})
        for r in fake.records(ENTITY)
    }
    if local != remote:
        differ = sorted(k for k in set(local) | set(remote) if local.get(k) != remote.get(k))
        samples = [(k, local.get(k), remote.get(k)) for k in differ[:3]]
        raise SystemExit(f"the sides differ on {len(differ):,} records, e.g. {samples}")
    return len(local)


def _values(values: Mapping[str, Any]) -> tuple[Any, ...]:
    """Comparable values: numbers by value (the fake keeps revenue as a float, the local
    column as a decimal)."""
    revenue = values["revenue"]
    employees = values["employees"]
    return (
        values["name"],
        None if employees is None else int(employees),
        None if revenue is None else Decimal(str(revenue)).normalize(),
        values["industry"],
    )


def run(url: str, rows: int, seed: int, poll: float) -> tuple[list[Step], list[str]]:
    """Every step in order; returns the steps and the set-up notes (what was not timed)."""
    rng = random.Random(seed)
    clock = SimClock()
    db = create_engine(parse_url(url))
    notes: list[str] = []
    custom = {ENTITY: [custom_field(EXTERNAL_ID, external_id=True, unique=True)]}
    with FakeSalesforce(custom_fields=custom) as fake:
        fake.clock = clock
        settings = {"instance_url": fake.url, "access_token": fake.session_id}
        connector = from_settings({**settings, "poll_seconds": poll})
        bench = Bench(fake, connector, db, SyncEngine(JOB, connector, db, clock=clock), clock)
        try:
            notes.append(
                f"seeded {rows:,} Accounts in the fake in {seed_remote(fake, rows, rng):.1f} s"
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
    first = bench.timed("first run, Salesforce -> local")
    expect(first, created=rows)
    clock.at(hours=-23)
    settle_first = bench.timed("settle run: re-reads the first run's own local writes (echo)")
    expect(settle_first)
    clock.at(minutes=0)
    changed = change_local(bench.db, "0", clock())
    notes.append(f"local UPDATE of {changed:,} rows (keys ending in 0)")
    local = bench.timed("local changes -> Salesforce")
    expect(local, updated=changed)
    clock.at(minutes=15)
    settle_local = bench.timed("settle run: re-reads the last run's overlap window (echo)")
    expect(settle_local)
    clock.at(minutes=30)
    started = time.perf_counter()
    remote = change_remote(bench.fake, "5", rng)
    notes.append(
        f"{remote:,} Accounts changed in the fake (keys ending in 5) in "
        f"{time.perf_counter() - started:.1f} s"
    )
    changed = change_local(bench.db, "1", clock())
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
        "| step | API paths | records | seconds | records/s | connector calls | fake calls "
        "| calls per 1,000 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for step in steps:
        print(step.line())
    print(f"\nCalls by fake route (paths under {ROUTE_PREFIX}) and the run's counts:")
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
        folder = tempfile.mkdtemp(prefix="conveyor-sf-bench-")
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
    else:
        server = args.pg_url or os.environ.get("CONVEYOR_BENCH_DATABASE_URL")
        url, drop = create_test_database(server or find_or_start_postgres(use_env=False))
    try:
        steps, notes = run(url, args.rows, args.seed, args.poll_seconds)
    finally:
        drop()
    report(steps, notes)
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(
        f"\n{backend}; fake Salesforce in-process on 127.0.0.1; poll_seconds {args.poll_seconds} "
        "(the connector's default is 2.0); bulk_threshold 2000, bulk_batch_size 10000, "
        "bulk_page_size 50000 (the defaults); job batch_size 2000"
    )
    print(
        f"whole benchmark {time.perf_counter() - started:.1f} s, peak memory "
        f"{peak_memory_mib():,.0f} MiB, load average {load[0]:.2f} before"
    )
    print(f"Command: python bench/salesforce_bulk.py {' '.join(argv or sys.argv[1:])}".rstrip())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000, help="Accounts on each side")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--poll-seconds", type=float, default=0.05, help="first wait before a Bulk job poll"
    )
    p.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    p.add_argument("--pg-url", default=None, help="PostgreSQL server URL")
    return p


if __name__ == "__main__":
    raise SystemExit(main())
