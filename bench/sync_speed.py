"""The sync benchmark: a bidirectional sync of N records with the reference connector, 10% of
them changed locally and another 10% remotely since the last run.

    python bench/sync_speed.py --rows 100000 --seed 42

Steps, each timed: the first run (every local row created remotely), the changes (a local
UPDATE of one row in ten, and remote updates of another one in ten through the connector, as a
remote user would), the incremental run that carries both ways, and an idle run. Reports
records per second and remote calls per 1,000 changed records, and checks that both sides end
equal. The local table and the reference store share one fresh PostgreSQL database
(``--pg-url`` or $CONVEYOR_BENCH_DATABASE_URL, else the local server), or ``--sqlite``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from conveyor.connector import WriteRequest
from conveyor.load.urls import create_engine, parse_url
from conveyor.sync.engine import SyncEngine, SyncReport
from conveyor.sync.local import LocalTable
from conveyor.sync.spec import SyncJobSpec
from conveyor.testing.postgres import create_test_database, find_or_start_postgres
from conveyor.testing.reference import ReferenceConnector, from_settings

ENTITY = "account"
FIELDS = {"Name": "string", "Revenue": "decimal", "Status": "string", "Ext": "string"}
JOB = SyncJobSpec.model_validate(
    {
        "name": "bench",
        "local": {"table": "accounts", "key": "id", "modified_column": "updated_at"},
        "remote": {
            "connector": "reference",
            "connection": "bench",
            "entity": ENTITY,
            "external_id_field": "Ext",
        },
        "fields": {
            "name": {"remote": "Name"},
            "revenue": {"remote": "Revenue", "type": "decimal"},
            "status": {"remote": "Status"},
        },
        "conflict": {"policy": "field_merge", "fallback": "newest_wins"},
        "batch_size": 2000,
    }
)


class SimClock:
    """Now, shifted: the seed and the first runs happen a day ago, the changes now, so the
    incremental run's overlap window (300 s) holds only the changes, as it would in real use."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(days=-1)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


@dataclass
class Step:
    name: str
    seconds: float
    records: int
    calls: int

    def line(self) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        per_k = 1000 * self.calls / self.records if self.records else float(self.calls)
        return (
            f"| {self.name} | {self.records:,} | {self.seconds:.2f} | {rate:,.0f} | "
            f"{self.calls:,} | {per_k:.1f} |"
        )


def seed_local(engine: sa.Engine, rows: int, rng: random.Random, clock: SimClock) -> None:
    LocalTable(engine, JOB).ensure()
    now = clock()
    data = [
        {
            "id": f"a{i:07d}",
            "name": f"Account {i}",
            "revenue": f"{rng.randint(0, 10**7)}.{rng.randint(0, 99):02d}",
            "status": rng.choice(["new", "open", "won", "lost"]),
            "updated_at": now,
        }
        for i in range(rows)
    ]
    table = LocalTable(engine, JOB).table
    with engine.begin() as conn:
        for start in range(0, rows, 10_000):
            conn.execute(sa.insert(table), data[start : start + 10_000])


def change_both_sides(
    engine: sa.Engine, connector: ReferenceConnector, rows: int, rng: random.Random
) -> int:
    """One row in ten changed locally, another one in ten remotely; returns how many."""
    local = [f"a{i:07d}" for i in range(0, rows, 10)]
    table = LocalTable(engine, JOB).table
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for start in range(0, len(local), 5_000):
            chunk = local[start : start + 5_000]
            conn.execute(
                sa.update(table)
                .where(table.c.id.in_(chunk))
                .values(status="local-edit", updated_at=now)
            )
    remote = {str(r.values["Ext"]): r.id for r in connector.store(ENTITY).all()}
    keys = [f"a{i:07d}" for i in range(5, rows, 10)]
    requests = [
        WriteRequest(ref=k, values={"Revenue": str(rng.randint(0, 999))}, remote_id=remote[k])
        for k in keys
    ]
    for start in range(0, len(requests), 1_000):
        connector.write(ENTITY, requests[start : start + 1_000], "Ext")
    return len(local) + len(keys)


def timed(name: str, engine: SyncEngine, records: int | None = None) -> tuple[Step, SyncReport]:
    before = engine.connector.calls
    started = time.perf_counter()
    report = engine.run()
    seconds = time.perf_counter() - started
    if report.status != "succeeded":
        raise SystemExit(f"{name}: the run failed: {report.error}")
    calls = engine.connector.calls - before
    return Step(name, seconds, report.records if records is None else records, calls), report


def check_equal(engine: sa.Engine, connector: ReferenceConnector) -> None:
    table = LocalTable(engine, JOB).table
    with engine.connect() as conn:
        local = {
            r.id: (r.name, _dec(r.revenue), r.status)
            for r in conn.execute(
                sa.select(table.c.id, table.c.name, table.c.revenue, table.c.status)
            )
        }
    remote = {
        str(r.values["Ext"]): (r.values["Name"], _dec(r.values["Revenue"]), r.values["Status"])
        for r in connector.store(ENTITY).all()
        if not r.deleted
    }
    if local != remote:
        differ = sorted(k for k in set(local) | set(remote) if local.get(k) != remote.get(k))
        raise SystemExit(f"the sides differ on {len(differ)} records, e.g. {differ[:3]}")


def _dec(value: Any) -> str:
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def run(url: str, rows: int, seed: int, page_size: int) -> list[Step]:
    rng = random.Random(seed)
    clock = SimClock()
    engine = create_engine(parse_url(url))
    connector = from_settings(
        {
            "url": url,
            "entities": {ENTITY: {"fields": FIELDS, "external_id_field": "Ext"}},
            "page_size": page_size,
            "batch_size": page_size,
        }
    )
    connector.clock = clock
    try:
        seed_local(engine, rows, rng, clock)
        sync = SyncEngine(JOB, connector, engine, clock=clock)
        first, _ = timed("first run: every row created remotely", sync)
        clock.offset = dt.timedelta(hours=-23)
        timed("echo run", sync)
        clock.offset = dt.timedelta(0)
        changed = change_both_sides(engine, connector, rows, rng)
        incremental, report = timed("10% changed on each side", sync, changed)
        if report.counts["updated"] != changed:
            raise SystemExit(f"expected {changed} updated records, got {report.counts}")
        timed("echo run", sync)
        clock.offset = dt.timedelta(minutes=10)
        soon, _ = timed("idle run 10 min later (re-reads the overlap window)", sync, 0)
        clock.offset = dt.timedelta(minutes=25)
        idle, _ = timed("idle run 25 min later", sync, 0)
        check_equal(engine, connector)
        return [first, incremental, soon, idle]
    finally:
        connector.close()
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    load = os.getloadavg()[0]
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if args.sqlite:
        folder = tempfile.mkdtemp(prefix="conveyor-sync-bench-")
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
    else:
        server = args.pg_url or os.environ.get("CONVEYOR_BENCH_DATABASE_URL")
        url, drop = create_test_database(server or find_or_start_postgres(use_env=False))
    try:
        steps = run(url, args.rows, args.seed, args.page_size)
    finally:
        drop()
    print("| step | records | seconds | records/s | remote calls | calls per 1,000 |")
    print("|---|---|---|---|---|---|")
    for step in steps:
        print(step.line())
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"\n{backend}, page and batch size {args.page_size}, load average {load:.2f} before")
    print(f"Command: python bench/sync_speed.py {' '.join(argv or sys.argv[1:])}".rstrip())
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000, help="records on each side")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--page-size", type=int, default=200, help="reference page and batch size")
    p.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    p.add_argument("--pg-url", default=None, help="PostgreSQL server URL")
    return p


if __name__ == "__main__":
    raise SystemExit(main())
