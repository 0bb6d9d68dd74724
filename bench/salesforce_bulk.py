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
import random
from collections.abc import Mapping, Sequence
from contextlib import closing
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sync_bench
from sync_bench import Bench, Scenario, Step

from connectors.salesforce import from_settings
from conveyor.load.urls import create_engine, parse_url
from conveyor.sync.engine import SyncEngine
from conveyor.sync.local import LocalTable
from conveyor.sync.spec import SyncJobSpec
from conveyor.testing.fakes.salesforce import FakeSalesforce, custom_field

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


def paths(step: Step) -> str:
    """Which of the connector's paths the fake saw this run take."""
    seen = [label for label, part in PATHS.items() if any(part in route for route in step.routes)]
    return ", ".join(seen) or "no reads"


def cells(step: Step) -> list[str]:
    """A run's row: its name, the paths it took, the shared figures, and the connector's calls
    per 1,000 records."""
    per_k = 1000 * step.calls / step.records if step.records else float(step.calls)
    return [step.name, paths(step), *step.figures(), f"{per_k:.2f}"]


TABLE = sync_bench.Table(
    ("step", "API paths", *sync_bench.FIGURE_COLUMNS, "calls per 1,000"), cells, ROUTE_PREFIX
)
SCRIPT = sync_bench.Script("salesforce_bulk.py", "conveyor-sf-bench-", TABLE)


def seed_remote(fake: FakeSalesforce, rows: int, rng: random.Random) -> None:
    """N Accounts in the fake, each carrying our key (as the records a previous system left)."""
    for start in range(0, rows, 10_000):
        fake.seed(ENTITY, [account(i, rng) for i in range(start, min(start + 10_000, rows))])


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
    return sync_bench.compare(local, remote)


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
    clock = sync_bench.SimClock()
    db = create_engine(parse_url(url))
    custom = {ENTITY: [custom_field(EXTERNAL_ID, external_id=True, unique=True)]}
    with FakeSalesforce(custom_fields=custom) as fake:
        fake.clock = clock
        settings = {"instance_url": fake.url, "access_token": fake.session_id}
        connector = from_settings({**settings, "poll_seconds": poll})
        scenario = Scenario(
            system="Salesforce",
            records="Accounts",
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
        f"fake Salesforce in-process on 127.0.0.1; poll_seconds {args.poll_seconds} (the "
        "connector's default is 2.0); bulk_threshold 2000, bulk_batch_size 10000, "
        "bulk_page_size 50000 (the defaults); job batch_size 2000"
    )
    return sync_bench.run_and_report(
        SCRIPT, argv, args, settings, lambda url: run(url, args.rows, args.seed, args.poll_seconds)
    )


def parser() -> argparse.ArgumentParser:
    """The shared options (see ``sync_bench.parser``) and ``--poll-seconds``."""
    return sync_bench.parser(__doc__, "Accounts", own_options)


def own_options(p: argparse.ArgumentParser) -> None:
    """The Bulk poll's first wait (after ``--seed``, before the database options)."""
    p.add_argument(
        "--poll-seconds", type=float, default=0.05, help="first wait before a Bulk job poll"
    )


if __name__ == "__main__":
    raise SystemExit(main())
