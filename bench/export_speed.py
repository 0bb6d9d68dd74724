"""Export speed: ``conveyor export`` against PostgreSQL's COPY (CSV) and openpyxl (XLSX), in one go.

    python bench/export_speed.py --rows 1000000 --xlsx-rows 200000 --seed 42 [--repeat N] [--json]

One table of ``--rows`` seeded rows (12 columns as Conveyor creates them: text, bigint,
numeric(12,2), double precision, date, timestamptz, boolean; about 5% NULLs; key ``id``) is made
in a fresh database ``conveyor_bench_export`` on the server, vacuumed and analysed; then every job
runs in a fresh Python process (its peak RSS is the process's), after a CHECKPOINT:

- ``copy``: ``COPY (SELECT <columns> FROM bench_export ORDER BY id) TO STDOUT (FORMAT csv,
  HEADER true)`` through psycopg's ``cursor.copy()``, each chunk written to a file: the reference;
- ``csv``: Conveyor's export of the table to CSV (``export_table``: its COPY fast path);
- ``openpyxl``: the first ``--xlsx-rows`` rows (same SELECT with ``LIMIT``, timestamps ``AT TIME
  ZONE 'UTC'`` since openpyxl refuses time zones) fetched with psycopg, ``ws.append`` per row in
  openpyxl's normal (not write-only) mode, ``wb.save``: the XLSX reference;
- ``xlsx``: Conveyor's export of the same rows (``limit``) to XLSX;
- ``json``, ``ndjson``, ``xml``: Conveyor's export of the whole table, for information.

"seconds" is each job's whole export, connection and database read included (interpreter start
and imports excluded; "process s" is the child's wall time with them). Goals (issue 4), within
one run: csv seconds / copy seconds <= 1.5; openpyxl seconds / xlsx seconds >= 3. Rounds
(``--repeat``) run every job in turn; each job's median round is reported. The database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import handwritten
import import_speed
import polars as pl
import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from conveyor.formats.writers import ExportFormat
from conveyor.load.ddl import table_for
from conveyor.schema import Column, TableSchema

__all__ = ["COLUMNS", "JOBS", "Run", "Verdict", "generate", "main", "markdown_table", "verdicts"]

DATABASE = "conveyor_bench_export"
TABLE = "bench_export"
COLUMNS = (
    Column("id", "integer", nullable=False),
    Column("customer", "string"),
    Column("email", "string"),
    Column("city", "string"),
    Column("orders", "integer"),
    Column("balance", "decimal", 12, 2),
    Column("rate", "float"),
    Column("signup_date", "date"),
    Column("birth_date", "date"),
    Column("last_login", "datetime"),
    Column("updated_at", "datetime"),
    Column("active", "boolean"),
)
#: job -> (label, Conveyor's export format or None for a reference)
JOBS: dict[str, tuple[str, ExportFormat | None]] = {
    "copy": ("COPY (SELECT …) TO STDOUT, csv (psycopg)", None),
    "csv": ("conveyor export, csv", "csv"),
    "openpyxl": ("openpyxl normal mode: fetch, append, save", None),
    "xlsx": ("conveyor export, xlsx", "xlsx"),
    "json": ("conveyor export, json", "json"),
    "ndjson": ("conveyor export, ndjson", "ndjson"),
    "xml": ("conveyor export, xml", "xml"),
}
XLSX_JOBS = ("openpyxl", "xlsx")  # the ones limited to --xlsx-rows
CSV_GOAL, XLSX_GOAL = 1.5, 3.0
_CITIES = ["Paris", "Lyon", "Zürich", "São Paulo", "Łódź", "New York", "Tokyo", "Cape Town"]
_NAMES = ["Anna", "Björn", "Chloé", "David", "Émile", "Fatima", "Grace", "Hiro", "Ines", "José"]
_DAY_2015, _DAY_1940 = 16_436, -10_957  # 2015-01-01 and 1940-01-01 in days since 1970


@dataclass(frozen=True)
class Run:
    """One job, as measured by its own process."""

    job: str
    rows: int
    seconds: float
    bytes: int
    peak_rss_mb: float
    process_seconds: float

    def line(self) -> str:
        return (
            f"{JOBS[self.job][0]:<44} rows={self.rows} seconds={self.seconds:.2f} "
            f"MB={self.bytes / 2**20:.1f} peak_rss_mb={self.peak_rss_mb:.0f} "
            f"process_s={self.process_seconds:.2f}"
        )


@dataclass(frozen=True)
class Verdict:
    """A goal: Conveyor's job, its reference, the ratio of their median times, met or not."""

    job: str
    reference: str
    ratio: float
    goal: float
    met: bool


def medians(runs: Sequence[Run]) -> dict[str, Run]:
    """Per job (in ``JOBS`` order), its run of median time (the lower median: a real run)."""
    out = {}
    for job in JOBS:
        mine = sorted((r for r in runs if r.job == job), key=lambda r: r.seconds)
        if mine:
            out[job] = mine[(len(mine) - 1) // 2]
    return out


def verdicts(runs: Sequence[Run]) -> list[Verdict]:
    """The issue's two goals from the median runs: CSV time within 1.5x of COPY's, XLSX at
    least 3x faster than openpyxl."""
    m, out = medians(runs), []
    if "csv" in m and "copy" in m:
        ratio = m["csv"].seconds / m["copy"].seconds if m["copy"].seconds else 0.0
        out.append(Verdict("csv", "copy", ratio, CSV_GOAL, ratio <= CSV_GOAL))
    if "xlsx" in m and "openpyxl" in m:
        ratio = m["openpyxl"].seconds / m["xlsx"].seconds if m["xlsx"].seconds else 0.0
        out.append(Verdict("xlsx", "openpyxl", ratio, XLSX_GOAL, ratio >= XLSX_GOAL))
    return out


def markdown_table(runs: Sequence[Run]) -> str:
    """The median run of each job, with the goals' ratios; peak RSS of Conveyor's jobs only
    (the references' processes carry this script's imports)."""
    head = ["job", "rows", "seconds", "ratio", "goal", "met?", "MB written", "peak RSS MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    judged = {v.job: v for v in verdicts(runs)}
    for job, run in medians(runs).items():
        ratio, goal, met = ("reference", "", "") if JOBS[job][1] is None else ("", "", "")
        v = judged.get(job)
        if v is not None:
            ratio = f"{v.ratio:.2f} = " + (
                "its time / COPY's" if job == "csv" else "openpyxl's / its"
            )
            goal = f"{'<=' if job == 'csv' else '>='} {v.goal:g}"
            met = "yes" if v.met else "**no**"
        rss = f"{run.peak_rss_mb:.0f}" if JOBS[job][1] else ""
        cells = [JOBS[job][0], f"{run.rows:,}", f"{run.seconds:.2f}", ratio, goal, met]
        lines.append("| " + " | ".join([*cells, f"{run.bytes / 2**20:.1f}", rss]) + " |")
    return "\n".join(lines)


# -- the data ---------------------------------------------------------------------------------


def generate(rows: int, seed: int) -> pl.DataFrame:
    """The seeded rows in ``COLUMNS`` order, as values COPY reads from CSV (NULL as null).

    Each column but ``id`` draws 64 random bits a row (Python's ``random``, so the same seed
    gives the same rows everywhere): the low 32 make the value, the high 32 the NULLs (5%) and
    the microseconds. Polars shapes them, as Python loops would take a minute for 1M rows."""
    rng = random.Random(seed)
    bits = {}
    for column in COLUMNS[1:]:
        words = array("Q")
        words.frombytes(rng.randbytes(8 * rows))
        bits[column.name] = pl.Series(column.name, words.tolist(), dtype=pl.UInt64)
    draws = pl.DataFrame(bits)

    def low(name: str) -> pl.Expr:
        return (pl.col(name) % 2**32).cast(pl.Int64)

    def choice(name: str, values: list[str]) -> pl.Expr:
        return (low(name) % len(values)).replace_strict(range(len(values)), values)

    def stamp(name: str) -> pl.Expr:
        micros = (pl.col(name) // 2**32).cast(pl.Int64) // 100 % 1_000_000
        seconds = low(name) % (10 * 365 * 86_400) + _DAY_2015 * 86_400
        when = (seconds * 1_000_000 + micros).cast(pl.Datetime("us"))
        return when.dt.to_string("%Y-%m-%d %H:%M:%S%.6f") + "+00"

    id_ = pl.int_range(1, rows + 1, dtype=pl.Int64)
    values = {
        "customer": pl.format("{} {} & Sons, Ltd", choice("customer", _NAMES), id_),
        "email": pl.format("user{}@example.com", id_),
        "city": choice("city", _CITIES),
        "orders": low("orders") % 500,
        "balance": (low("balance") - 1_000_000_000) / 100,  # numeric(12,2) rounds to cents
        "rate": low("rate") / 2**32 * 1000,
        "signup_date": (low("signup_date") % 3650 + _DAY_2015).cast(pl.Int32).cast(pl.Date),
        "birth_date": (low("birth_date") % 21_900 + _DAY_1940).cast(pl.Int32).cast(pl.Date),
        "last_login": stamp("last_login"),
        "updated_at": stamp("updated_at"),
        "active": low("active") % 10 < 7,
    }
    nulls = {n: pl.col(n) // 2**32 % 100 < 5 for n in values}
    return draws.select(
        id_.alias("id"),
        *(pl.when(nulls[n]).then(None).otherwise(e).alias(n) for n, e in values.items()),
    )


def create_table(url: URL, data: pl.DataFrame) -> None:
    """The table as Conveyor creates it (conveyor.load.ddl), filled by COPY and vacuumed."""
    engine = sa.create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        table_for(TableSchema(TABLE, COLUMNS, key=("id",)), "postgresql").create(engine)
    finally:
        engine.dispose()
    with handwritten.connect(url) as conn:
        _fill(conn, data)


def _fill(conn: psycopg.Connection[Any], data: pl.DataFrame) -> None:
    statement = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(TABLE))
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for part in data.iter_slices(100_000):
            copy.write(part.write_csv(include_header=False))
    conn.commit()
    conn.autocommit = True
    conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(TABLE)))


# -- the jobs, each in its own process --------------------------------------------------------


def select_sql(*, limit: int | None = None, naive_utc: bool = False) -> sql.Composed:
    """``SELECT <columns> FROM bench_export ORDER BY id [LIMIT n]``: Conveyor's query, without
    its formatting (``naive_utc``: timestamps as naive UTC, for openpyxl)."""
    cols = []
    for column in COLUMNS:
        name = sql.Identifier(column.name)
        utc = naive_utc and column.kind == "datetime"
        cols.append(sql.SQL("{} AT TIME ZONE 'UTC' AS {}").format(name, name) if utc else name)
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(", ").join(cols), sql.Identifier(TABLE), sql.Identifier("id")
    )
    return query + sql.SQL(" LIMIT {}").format(limit) if limit is not None else query


def _job(job: str, url: str, out: Path, limit: int | None) -> tuple[float, int]:
    """Run ``job`` writing ``out``; its seconds and rows (imports done before the clock)."""
    if JOBS[job][1] is not None:
        from conveyor.exporter import ExportRequest, export_table

        request = ExportRequest(TABLE, out, JOBS[job][1], url, limit=limit)
        started = time.perf_counter()
        report = export_table(request)
        seconds = time.perf_counter() - started
        if report.status != "succeeded":
            raise SystemExit(f"conveyor export {job} failed: {report.error}")
        return seconds, report.rows
    import openpyxl

    started = time.perf_counter()
    with handwritten.connect(make_url(url)) as conn, conn.cursor() as cursor:
        if job == "copy":
            statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)")
            with out.open("wb") as handle, cursor.copy(statement.format(select_sql())) as copy:
                for chunk in copy:
                    handle.write(chunk)
        else:
            workbook = openpyxl.Workbook()
            sheet = workbook.active
            sheet.append([c.name for c in COLUMNS])
            for row in cursor.execute(select_sql(limit=limit, naive_utc=True)):
                sheet.append(row)
            workbook.save(out)
        rows = cursor.rowcount
    return time.perf_counter() - started, rows


def _child(args: argparse.Namespace) -> int:
    """In the fresh process: one job, then its time, rows, bytes and peak RSS as JSON."""
    url = os.environ[import_speed.CHILD_TARGET_VAR]
    seconds, rows = _job(args.child, url, args.child_out, args.child_limit)
    result = {"seconds": seconds, "rows": rows, "bytes": args.child_out.stat().st_size}
    result["peak_rss_mb"] = peak_rss_mb()
    args.child_result.write_text(json.dumps(result), encoding="utf-8")
    return 0


def peak_rss_mb() -> float:
    """This process's peak resident set since it started this program: Linux's VmHWM. Not
    ``ru_maxrss``: Linux carries the parent's peak over into it across fork and exec
    (measured: every child of a parent that once held 548 MB said 548)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:  # not Linux: ru_maxrss, which may include the parent's peak
        return import_speed._peak_rss_mb()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kib) / 1024


def run_job(job: str, url: str, workdir: Path, limit: int | None) -> Run:
    """``job`` in a fresh process; its output file is deleted afterwards."""
    out = workdir / f"export-speed.{'xlsx' if job == 'openpyxl' else JOBS[job][1] or 'csv'}"
    result = workdir / "export-speed-result.json"
    for path in (out, result):
        path.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", job]
    command += ["--child-out", str(out), "--child-result", str(result)]
    command += ["--child-limit", str(limit)] if limit is not None else []
    started = time.perf_counter()
    done = subprocess.run(command, check=False, env=import_speed._child_env(url))
    process_seconds = time.perf_counter() - started
    out.unlink(missing_ok=True)
    if done.returncode:
        raise SystemExit(f"the {job} job failed (see above)")
    data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    result.unlink()
    return Run(job, process_seconds=process_seconds, **data)


# -- the run ----------------------------------------------------------------------------------


def measure(args: argparse.Namespace, server: URL, out: Any) -> tuple[list[Run], str]:
    """Make the database, run ``--repeat`` rounds of every job, drop it; the runs and the
    server's version."""
    started = time.perf_counter()
    data = generate(args.rows, args.seed)
    admin = handwritten.connect(server)
    admin.autocommit = True
    name = sql.Identifier(args.database)
    try:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
        url = server.set(drivername="postgresql+psycopg", database=args.database)
        create_table(url, data)
        del data
        print(f"table: {args.rows:,} rows in {time.perf_counter() - started:.1f} s", file=out)
        target = url.render_as_string(hide_password=False)
        expected = {job: args.rows for job in JOBS} | dict.fromkeys(
            XLSX_JOBS, min(args.rows, args.xlsx_rows)
        )
        runs = []
        for _ in range(args.repeat):
            for job in JOBS:
                admin.execute("CHECKPOINT")
                limit = args.xlsx_rows if job in XLSX_JOBS else None
                run = run_job(job, target, args.workdir, limit)
                print(run.line(), file=out, flush=True)
                if run.rows != expected[job]:
                    raise SystemExit(f"{job} wrote {run.rows} rows, not {expected[job]}")
                runs.append(run)
        row = admin.execute("SHOW server_version").fetchone()
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.close()
    return runs, str(row[0]) if row else "?"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.child is not None:
        return _child(args)
    out = sys.stderr if args.json else sys.stdout
    args.workdir.mkdir(parents=True, exist_ok=True)
    server = make_url(
        args.pg_url or os.environ.get(import_speed.PG_ENV_VAR) or import_speed.PG_DEFAULT
    )
    load_before = os.getloadavg()
    try:
        runs, server_version = measure(args, server, out)
    except psycopg.OperationalError as exc:
        print(f"cannot reach PostgreSQL: {exc}".rstrip(), file=sys.stderr)
        print(f"set --pg-url or ${import_speed.PG_ENV_VAR} to a server URL", file=sys.stderr)
        return 1
    machine = (
        f"{import_speed._machine()}, openpyxl {version('openpyxl')}, PostgreSQL "
        f"{server_version}, load average {load_before[0]:.2f} before and "
        f"{os.getloadavg()[0]:.2f} after"
    )
    if args.json:
        data = {
            "command": command(args),
            "machine": machine,
            "runs": [asdict(r) for r in runs],
            "medians": {job: asdict(r) for job, r in medians(runs).items()},
            "goals": [asdict(v) for v in verdicts(runs)],
        }
        print(json.dumps(data, indent=2))
        return 0
    print(f"\n{markdown_table(runs)}\n\nMachine: {machine}\nCommand: {command(args)}")
    return 0


# -- the command line -------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    positive = import_speed._positive
    p.add_argument("--rows", type=positive, default=1_000_000, help="rows (default 1000000)")
    p.add_argument(
        "--xlsx-rows", type=positive, default=200_000, help="rows of the XLSX jobs (200000)"
    )
    p.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    p.add_argument(
        "--pg-url",
        default=None,
        help=f"PostgreSQL server URL (default ${import_speed.PG_ENV_VAR} or "
        f"{import_speed.PG_DEFAULT}); the user must be allowed to create databases",
    )
    p.add_argument("--database", default=DATABASE, help=f"database to (re)create ({DATABASE})")
    p.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "conveyor-bench",
        help="folder for the export files, each deleted after its run (default TMPDIR/conveyor-"
        "bench)",
    )
    p.add_argument("--repeat", type=positive, default=1, help="rounds; the median is shown")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--child", choices=list(JOBS), default=None, help=argparse.SUPPRESS)
    p.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--child-limit", type=int, default=None, help=argparse.SUPPRESS)
    return p


def command(args: argparse.Namespace) -> str:
    """The command that repeats this run (the server URL and folder stay out: they are local)."""
    words = ["python", "bench/export_speed.py", "--rows", str(args.rows)]
    words += ["--xlsx-rows", str(args.xlsx_rows), "--seed", str(args.seed)]
    words += ["--database", args.database] * (args.database != DATABASE)
    words += ["--repeat", str(args.repeat)] * (args.repeat > 1)
    return shlex.join(words + ["--json"] * args.json)


if __name__ == "__main__":
    sys.exit(main())
