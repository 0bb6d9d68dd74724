"""What the sync benchmarks against an in-process fake (``salesforce_bulk.py``, ``sap_batch.py``)
share: the shifted clock, the timed runs and their checks, the steps (first run, local changes,
both sides, idle runs, settle runs between them), the local database, the printed report around
each script's own table, and the command-line options they have in common.

A script keeps what differs and passes it in: its job, its fake and connector, how its records
are seeded, changed and compared (a :class:`Scenario`), its table's columns and cells (a
:class:`Table`, in a :class:`Script` with its file name), its own options and its settings line.
Both scripts import this module as ``sync_bench``: ``bench/`` is on ``sys.path`` when they run
as ``python bench/...`` and in the tests that import them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import sqlalchemy as sa

from conveyor.connector import Connector
from conveyor.sync.engine import SyncEngine
from conveyor.testing.postgres import create_test_database, find_or_start_postgres

T = TypeVar("T")

#: the outcomes that write; :func:`expect` holds a run to the ones it was given
WRITES = ("created", "updated", "deleted", "conflicted", "parked")
#: the columns of :meth:`Step.figures`, which every script's table has
FIGURE_COLUMNS = ("records", "seconds", "records/s", "connector calls", "fake calls")


class SimClock:
    """Now, shifted, for the engine and the fake alike: the records are made two days ago (they
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
    fake_calls: int  # HTTP calls the fake answered
    routes: dict[str, int]
    counts: dict[str, int] = field(default_factory=dict)

    def figures(self) -> list[str]:
        """The cells every script's table has (``FIGURE_COLUMNS``): records, seconds, records/s,
        the connector's calls and the fake's."""
        rate = self.records / self.seconds if self.seconds else 0.0
        return [
            f"{self.records:,}",
            f"{self.seconds:.2f}",
            f"{rate:,.0f}",
            f"{self.calls:,}",
            f"{self.fake_calls:,}",
        ]

    def detail(self, route_prefix: str) -> str:
        """The calls by route (``route_prefix``, which every route key has, left out) and the
        run's non-zero counts."""
        routes = ", ".join(
            f"{key.replace(route_prefix, '')} x{n}" for key, n in sorted(self.routes.items())
        )
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items() if v)
        return f"- {self.name}: {routes or 'no calls'}; counts: {counts or 'none'}"


class CountingFake(Protocol):
    """What :meth:`Bench.timed` reads of a fake: the calls it answered and its own failures."""

    internal_errors: list[str]

    @property
    def calls(self) -> int: ...

    @property
    def calls_by_route(self) -> dict[str, int]: ...

    def reset_calls(self) -> None: ...


@dataclass
class Bench:
    """The open pieces of one benchmark: the fake system, the connector, the local database, the
    sync engine over them, and the clock the engine and the fake share."""

    fake: CountingFake
    connector: Connector
    db: sa.Engine
    sync: SyncEngine
    clock: SimClock

    def close(self) -> None:
        """The connector closed and the database's connections let go (the fake is the
        script's to stop)."""
        self.connector.close()
        self.db.dispose()

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
    got = {k: step.counts.get(k, 0) for k in WRITES}
    if got != {k: wanted.get(k, 0) for k in WRITES}:
        raise SystemExit(f"{step.name}: expected {wanted or 'no writes'}, got {step.counts}")


@dataclass(frozen=True)
class Scenario:
    """A script's two sides, as the shared steps act on them. ``seed(rows)`` puts the records in
    the fake; ``change_local(last_digit, now)`` and ``change_remote(last_digit)`` change those
    whose key ends in ``last_digit`` (one in ten) and return how many; ``check()`` fails unless
    both sides are equal and returns how many records it compared."""

    system: str  # the remote system in the step names: "Salesforce", "SAP"
    records: str  # its records in the set-up notes: "Accounts", "partners"
    seed: Callable[[int], None]
    change_local: Callable[[str, dt.datetime], int]
    change_remote: Callable[[str], int]
    check: Callable[[], int]


def stopwatch(action: Callable[[], T]) -> tuple[T, float]:
    """``action``'s result and the seconds it took (for set-up, which no step counts)."""
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def measure(bench: Bench, rows: int, scenario: Scenario) -> tuple[list[Step], list[str]]:
    """The fake seeded, every step in order, then both sides compared; returns the steps and the
    set-up notes (what was not timed)."""
    _, seconds = stopwatch(lambda: scenario.seed(rows))
    notes = [f"seeded {rows:,} {scenario.records} in the fake in {seconds:.1f} s"]
    steps = [
        *first_runs(bench, rows, scenario),
        *local_runs(bench, scenario, notes),
        *both_sides_runs(bench, scenario, notes),
        *idle_runs(bench),
    ]
    compared, seconds = stopwatch(scenario.check)
    notes.append(f"both sides equal: {compared:,} records compared in {seconds:.1f} s")
    return steps, notes


def first_runs(bench: Bench, rows: int, scenario: Scenario) -> list[Step]:
    """A day ago: every record read from the fake and created locally, then the settle run."""
    bench.clock.at(days=-1)
    first = bench.timed(f"first run, {scenario.system} -> local")
    expect(first, created=rows)
    bench.clock.at(hours=-23)
    settle = bench.timed(
        "settle run: re-reads the first run's own local writes (seen: already handled)", rows
    )
    expect(settle)
    return [first, settle]


def local_runs(bench: Bench, scenario: Scenario, notes: list[str]) -> list[Step]:
    """Now: the local rows whose key ends in 0 changed and written to the fake, then (15 minutes
    later) the settle run."""
    bench.clock.at(minutes=0)
    changed = scenario.change_local("0", bench.clock())
    notes.append(f"local UPDATE of {changed:,} rows (keys ending in 0)")
    local = bench.timed(f"local changes -> {scenario.system}")
    expect(local, updated=changed)
    bench.clock.at(minutes=15)
    settle = bench.timed("settle run: re-reads the last run's overlap window (echo)")
    expect(settle)
    return [local, settle]


def both_sides_runs(bench: Bench, scenario: Scenario, notes: list[str]) -> list[Step]:
    """30 minutes on: the records whose key ends in 5 changed in the fake and the local rows
    ending in 1 changed locally, both synced in one run."""
    bench.clock.at(minutes=30)
    remote, seconds = stopwatch(lambda: scenario.change_remote("5"))
    notes.append(
        f"{remote:,} {scenario.records} changed in the fake (keys ending in 5) in {seconds:.1f} s"
    )
    changed = scenario.change_local("1", bench.clock())
    notes.append(f"local UPDATE of {changed:,} rows (keys ending in 1)")
    both = bench.timed("both sides: 10% remote + 10% local")
    expect(both, updated=remote + changed)
    return [both]


def idle_runs(bench: Bench) -> list[Step]:
    """Runs 15 and 30 minutes after the last change: the first re-reads the overlap window
    (echo), the second reads nothing new; neither writes."""
    bench.clock.at(minutes=45)
    soon = bench.timed("idle run 15 min later (re-reads the overlap window)", 0)
    expect(soon)
    bench.clock.at(minutes=60)
    idle = bench.timed("idle run 30 min later", 0)
    expect(idle)
    return [soon, idle]


def compare(local: dict[str, T], remote: dict[str, T]) -> int:
    """Fails, with a few of the records that differ, unless both sides hold the same records with
    the same values; returns how many records were compared."""
    if local != remote:
        differ = sorted(k for k in set(local) | set(remote) if local.get(k) != remote.get(k))
        samples = [(k, local.get(k), remote.get(k)) for k in differ[:3]]
        raise SystemExit(f"the sides differ on {len(differ):,} records, e.g. {samples}")
    return len(local)


@dataclass(frozen=True)
class Table:
    """A script's table: its columns, a run's cells in them, and the prefix every route key of
    its fake has (left out of the calls by route)."""

    columns: Sequence[str]
    cells: Callable[[Step], Sequence[str]]
    route_prefix: str


def row(cells: Sequence[str]) -> str:
    """One Markdown table row."""
    return f"| {' | '.join(cells)} |"


def report(steps: Sequence[Step], notes: Sequence[str], table: Table) -> None:
    """The table, then each run's calls by route and counts, then the set-up notes."""
    print(row(table.columns))
    print("|" + "---|" * len(table.columns))
    for step in steps:
        print(row(table.cells(step)))
    print(f"\nCalls by fake route (paths under {table.route_prefix}) and the run's counts:")
    for step in steps:
        print(step.detail(table.route_prefix))
    print("\nSet-up (not timed):")
    for note in notes:
        print(f"- {note}")


@dataclass(frozen=True)
class Script:
    """What a script's run and report take from it: its file name in ``bench/`` (for the last
    line), the prefix of its SQLite file's temporary folder, and its table."""

    name: str
    temp_prefix: str
    table: Table


def run_and_report(
    script: Script,
    argv: Sequence[str] | None,
    args: argparse.Namespace,
    settings: str,
    run: Callable[[str], tuple[list[Step], list[str]]],
) -> int:
    """The whole benchmark around the script's ``run`` (given the local database's URL): the
    load average before, the database (see :func:`database`), the report, the ``settings`` line
    after the database's kind, and the summary; returns the exit status."""
    load = load_average()
    started = time.perf_counter()
    with database(args.sqlite, args.pg_url, script.temp_prefix) as url:
        steps, notes = run(url)
    report(steps, notes, script.table)
    print(f"\n{backend(args.sqlite)}; {settings}")
    summary(started, load, script.name, argv)
    return 0


def load_average() -> tuple[float, float, float]:
    """The load average before the benchmark, printed at once (the runs take a while)."""
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    return load


@contextmanager
def database(sqlite: bool, pg_url: str | None, prefix: str) -> Iterator[str]:
    """The local database's URL: a SQLite file in a new temporary folder named ``prefix...``
    (left in place), or a fresh PostgreSQL database, dropped on the way out, on ``pg_url``, else
    $CONVEYOR_BENCH_DATABASE_URL, else the local server (found or started)."""
    if sqlite:
        yield f"sqlite:///{Path(tempfile.mkdtemp(prefix=prefix)) / 'bench.db'}"
        return
    server = pg_url or os.environ.get("CONVEYOR_BENCH_DATABASE_URL")
    url, drop = create_test_database(server or find_or_start_postgres(use_env=False))
    try:
        yield url
    finally:
        drop()


def backend(sqlite: bool) -> str:
    """The local database's kind, as the settings line names it."""
    return "SQLite" if sqlite else "PostgreSQL"


def peak_memory_mib() -> float:
    """This process's peak resident memory (Linux reports KiB), the fake's included."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary(started: float, load: Sequence[float], script: str, argv: Sequence[str] | None) -> None:
    """The last lines: the whole time since ``started``, peak memory, the load average before,
    and the command that ran ``bench/<script>`` (``argv``, else the process's)."""
    print(
        f"whole benchmark {time.perf_counter() - started:.1f} s, peak memory "
        f"{peak_memory_mib():,.0f} MiB, load average {load[0]:.2f} before"
    )
    print(f"Command: python bench/{script} {' '.join(argv or sys.argv[1:])}".rstrip())


def parser(
    doc: str | None, records: str, own: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    """The options every script has (``--rows`` of ``records``, ``--seed``, the database), its
    description the first paragraph of ``doc``; ``own`` adds the script's options after
    ``--seed``."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000, help=f"{records} on each side")
    p.add_argument("--seed", type=int, default=42)
    own(p)
    p.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    p.add_argument("--pg-url", default=None, help="PostgreSQL server URL")
    return p
