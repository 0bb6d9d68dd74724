"""Write path: Conveyor's PostgreSQL import against plain COPY and hand-written SQL, in one go.

    python bench/write_path.py --rows 1000000 --seed 42 [--repeat N] [--json]

Cases, each in a fresh database on the same server (Conveyor's in a fresh Python process):

- (a) raw ``COPY`` of the file into an empty table of text columns: the load limit;
- (b) Conveyor re-import into a table already holding half the keys with the same values;
- (c) the same into a table holding half the keys with other values, beside the hand-written
  SQL for the same job (bench/handwritten.py) on an identical table;
- (d) Conveyor first load into an empty table.

Rate = rows in the file / seconds. Goals (issue 3), as ratios within one run: b/a >= 0.5,
c/hand-written >= 1.2, d/a >= 0.6. The prepared tables come from (d)'s result: every key whose
kept row has an even Contact ID is deleted ("half the keys"), then for (c) the Lifetime Value
of the rest is raised by 1; both are compacted (VACUUM FULL, ANALYZE) and copied for each run as
template databases, so every run starts from the same bytes after a CHECKPOINT. Every run except
(a) must end with the same table (checked by a fingerprint of its rows).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, LiteralString, TextIO

import handwritten
import import_speed
import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

__all__ = ["CASES", "Case", "Run", "Summary", "main", "markdown_table", "summarise"]

DATABASE = "conveyor_bench_wp"
TEMPLATES = {
    "same": f"{DATABASE}_same",
    "changed": f"{DATABASE}_changed",
    "keyed": f"{DATABASE}_keyed",  # (d)'s table, emptied: for the (d) floor
}
EMPTY = "template0"
TABLE = "bench_contacts"


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    reference: str | None = None  # the case whose rate this one is compared with
    goal: float | None = None  # the least ratio to that reference


CASES = (
    Case("a", "(a) raw COPY, text columns"),
    Case("b", "(b) re-import, half stored, same values", "a", 0.5),
    Case("c", "(c) re-import, half stored, other values", "c_sql", 1.2),
    Case("c_sql", "(c) hand-written SQL, same job"),
    Case("d", "(d) first load, empty table", "a", 0.6),
    Case("b_floor", "(b) floor: COPY of (b)'s new rows only", "a"),
    Case("d_floor", "(d) floor: COPY of (d)'s rows only", "a"),
)
CASE_BY_KEY = {case.key: case for case in CASES}
REF_NAMES = {"a": "(a)", "c_sql": "hand-written"}


@dataclass(frozen=True)
class Run:
    """One timed run; ``peak_rss_mb`` only for Conveyor's (its own process)."""

    case: str
    rows: int
    seconds: float
    peak_rss_mb: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    fingerprint: str | None = None  # row count and hash sum of the table it left

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        rss = "" if self.peak_rss_mb is None else f" peak_rss_mb={self.peak_rss_mb:.0f}"
        return (
            f"{CASE_BY_KEY[self.case].label:<42} rows={self.rows} seconds={self.seconds:.2f} "
            f"rows/s={self.rows_per_second:,.0f}{rss} {counts_text(self.counts)}"
        )


@dataclass(frozen=True)
class Summary:
    """A case's median run and its ratio to its reference case's median run."""

    case: Case
    run: Run
    ratio: float | None
    met: bool | None


def summarise(runs: Sequence[Run]) -> list[Summary]:
    """Per case (in ``CASES`` order), the run of median time and the ratio of the rates."""
    medians: dict[str, Run] = {}
    for case in CASES:
        mine = sorted((r for r in runs if r.case == case.key), key=lambda r: r.seconds)
        if mine:
            medians[case.key] = mine[(len(mine) - 1) // 2]  # the lower median: a real run
    out = []
    for key, run in medians.items():
        case = CASE_BY_KEY[key]
        ref = medians.get(case.reference) if case.reference else None
        ratio = rate_ratio(run, ref) if ref else None
        met = None if ratio is None or case.goal is None else ratio >= case.goal
        out.append(Summary(case, run, ratio, met))
    return out


def rate_ratio(run: Run, reference: Run) -> float:
    """``run``'s rate over ``reference``'s (0 when the reference did nothing)."""
    ref = reference.rows_per_second
    return run.rows_per_second / ref if ref else 0.0


def counts_text(counts: dict[str, int]) -> str:
    return " ".join(f"{name}={value:,}" for name, value in counts.items() if name != "rows_read")


def markdown_table(summaries: Sequence[Summary]) -> str:
    head = ["case", "rows", "seconds", "rows/s", "ratio", "goal", "met?", "peak RSS MB", "counts"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summaries:
        ref = s.case.reference
        cells = [
            s.case.label,
            f"{s.run.rows:,}",
            f"{s.run.seconds:.2f}",
            f"{s.run.rows_per_second:,.0f}",
            f"{s.ratio:.2f}x {REF_NAMES[ref]}" if s.ratio is not None and ref else "reference",
            f">= {s.case.goal}" if s.case.goal is not None else "",
            {True: "yes", False: "**no**", None: ""}[s.met],
            f"{s.run.peak_rss_mb:.0f}" if s.run.peak_rss_mb is not None else "",
            counts_text(s.run.counts),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tables_identical(runs: Sequence[Run]) -> bool:
    """Every run that leaves a table left the same rows."""
    return len({r.fingerprint for r in runs if r.case != "a"}) == 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = sys.stderr if args.json else sys.stdout
    args.workdir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    with redirect_stdout(out):  # it says when it generates the file
        path = import_speed._ensure_file(args.workdir, args.rows, args.seed, change_every=0)
    print(f"file: {path} ({path.stat().st_size / 2**20:.1f} MB)", file=out, flush=True)
    server = make_url(
        args.pg_url or os.environ.get(import_speed.PG_ENV_VAR) or import_speed.PG_DEFAULT
    )
    try:
        bench = Bench(server, path, args.rows, args.workdir, out)
        runs = bench.measure(args.repeat)
    except psycopg.OperationalError as exc:
        print(f"cannot reach PostgreSQL: {exc}".rstrip(), file=sys.stderr)
        print(f"set --pg-url or ${import_speed.PG_ENV_VAR} to a server URL", file=sys.stderr)
        return 1
    machine = (
        f"{import_speed._machine()}, PostgreSQL {bench.version}, load average "
        f"{load_before[0]:.2f} before and {os.getloadavg()[0]:.2f} after"
    )
    report(args, runs, machine)
    return 0


def report(args: argparse.Namespace, runs: Sequence[Run], machine: str) -> None:
    summaries = summarise(runs)
    same = tables_identical(runs)
    if args.json:
        data: dict[str, Any] = {
            "command": command(args),
            "machine": machine,
            "tables_identical": same,
            "runs": [asdict(run) for run in runs],
            "summary": [
                {"case": s.case.key, "label": s.case.label, "reference": s.case.reference}
                | {"goal": s.case.goal, "ratio": s.ratio, "met": s.met}
                | {"rows_per_second": s.run.rows_per_second, **asdict(s.run)}
                for s in summaries
            ],
        }
        print(json.dumps(data, indent=2))
        return
    print()
    print(markdown_table(summaries))
    print()
    print(
        "Final tables identical across (b), (c), hand-written, (d) and the floors: "
        f"{'yes' if same else 'NO'}"
    )
    print(f"Machine: {machine}")
    print(f"Command: {command(args)}")


# -- the command line -------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument(
        "--rows", type=import_speed._positive, default=1_000_000, help="data rows (default 1000000)"
    )
    p.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    p.add_argument(
        "--pg-url",
        default=None,
        help=f"PostgreSQL server URL (default ${import_speed.PG_ENV_VAR} or "
        f"{import_speed.PG_DEFAULT}); the user must be allowed to create databases",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "conveyor-bench",
        help="folder for the generated files, kept for later runs (default TMPDIR/conveyor-bench)",
    )
    p.add_argument(
        "--repeat",
        type=import_speed._positive,
        default=1,
        help="rounds of all cases; the median is shown",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    return p


def command(args: argparse.Namespace) -> str:
    """The command that repeats this run (the server URL and folder stay out: they are local)."""
    words = ["python", "bench/write_path.py", "--rows", str(args.rows), "--seed", str(args.seed)]
    words += ["--repeat", str(args.repeat)] * (args.repeat > 1)
    return shlex.join(words + ["--json"] * args.json)


# -- the runs ---------------------------------------------------------------------------------


class Bench:
    """The databases of one benchmark on one server; everything it creates it drops."""

    def __init__(self, server: URL, path: Path, rows: int, workdir: Path, out: TextIO) -> None:
        self.server, self.path, self.workdir, self.out = server, path, workdir, out
        self.rows = rows  # in the file: the floors' rates are file rows per second
        self.admin = handwritten.connect(server)
        self.admin.autocommit = True
        row = self.admin.execute("SHOW server_version").fetchone()
        self.version = str(row[0]) if row else "?"
        self.patterns = handwritten.check_patterns()

    def measure(self, repeat: int) -> list[Run]:
        """``repeat`` rounds of every case, interleaved so that drift hits all cases alike."""
        runs: list[Run] = []
        try:
            self.drop_all()
            for round_ in range(repeat):
                runs.append(self.timed("a", EMPTY, self.raw_copy))
                runs.append(self.timed("d", EMPTY, self.conveyor("d"), keep=round_ == 0))
                if round_ == 0:
                    self.prepare_templates()
                runs.append(self.timed("b", TEMPLATES["same"], self.conveyor("b")))
                runs.append(self.timed("c", TEMPLATES["changed"], self.conveyor("c")))
                runs.append(self.timed("c_sql", TEMPLATES["changed"], self.handwritten))
                runs.append(self.timed("b_floor", TEMPLATES["same"], self.floor("b")))
                runs.append(self.timed("d_floor", TEMPLATES["keyed"], self.floor("d")))
        finally:
            self.drop_all()
            self.admin.close()
        return runs

    def timed(self, key: str, template: str, job: Callable[[], Run], *, keep: bool = False) -> Run:
        """A fresh copy of ``template``, a checkpoint, the job, then the table's fingerprint."""
        self.ddl("CREATE DATABASE {} TEMPLATE {}", DATABASE, template)
        self.admin.execute("CHECKPOINT")  # no dirty pages of the copy left to the timed part
        run = job()
        if key != "a":
            with handwritten.connect(self.server, DATABASE) as conn:
                run = replace(run, fingerprint=handwritten.fingerprint(conn, TABLE))
        print(run.line(), file=self.out, flush=True)
        if keep:  # (d)'s full table: the start of the prepared ones
            self.ddl("ALTER DATABASE {} RENAME TO {}", DATABASE, TEMPLATES["same"])
        else:
            self.ddl("DROP DATABASE {} WITH (FORCE)", DATABASE)
        return run

    def raw_copy(self) -> Run:
        with handwritten.connect(self.server, DATABASE) as conn:
            timed = handwritten.raw_copy(conn, self.path)
        return Run("a", timed.copied, timed.seconds, counts={"copied": timed.copied})

    def handwritten(self) -> Run:
        with handwritten.connect(self.server, DATABASE) as conn:
            timed = handwritten.handwritten_upsert(conn, self.path, TABLE, self.patterns)
        counts = {"copied": timed.copied, "written": timed.written or 0}
        return Run("c_sql", timed.copied, timed.seconds, counts=counts)

    def conveyor(self, key: str) -> Callable[[], Run]:
        """A job that runs ``import_file`` in a fresh process (import_speed.py's child)."""

        def job() -> Run:
            url = self.server.set(drivername="postgresql+psycopg", database=DATABASE)
            target = url.render_as_string(hide_password=False)
            done = import_speed._measure("postgresql", key, self.path, target, self.workdir)
            return Run(key, done.rows, done.seconds, done.peak_rss_mb, dict(done.counts))

        return job

    def floor(self, key: str) -> Callable[[], Run]:
        """COPY of the rows case ``key`` leaves in its table that were not there before, and
        nothing else: no reading, mapping, deduplicating or comparing. Its rate (rows of the
        file over its seconds) is more than any importer of that case can reach here."""

        def job() -> Run:
            with handwritten.connect(self.server, DATABASE) as conn:
                started = time.perf_counter()
                statement = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(TABLE))
                with self.floor_file(key).open("rb") as handle, conn.cursor() as cursor:
                    with cursor.copy(statement) as copy:
                        while chunk := handle.read(1 << 20):
                            copy.write(chunk)
                    copied = cursor.rowcount
                conn.commit()
                seconds = time.perf_counter() - started
            return Run(key + "_floor", self.rows, seconds, counts={"copied": copied})

        return job

    def floor_file(self, key: str) -> Path:
        return self.workdir / f"write-path-floor-{key}.csv"

    def export_floors(self, conn: psycopg.Connection[Any]) -> None:
        """(d)'s rows, and those (b) inserts (the even Contact IDs), as CSV files."""
        table = sql.Identifier(TABLE)
        queries = {
            "d": sql.SQL("COPY {} TO STDOUT (FORMAT csv)").format(table),
            "b": sql.SQL(
                "COPY (SELECT * FROM {} WHERE contact_id % 2 = 0) TO STDOUT (FORMAT csv)"
            ).format(table),
        }
        for key, query in queries.items():
            with self.floor_file(key).open("wb") as handle, conn.cursor().copy(query) as copy:
                for data in copy:
                    handle.write(data)

    def prepare_templates(self) -> None:
        """(d)'s table less every even Contact ID; a copy of it with the other values changed;
        (d)'s table emptied, for the (d) floor.

        Conveyor's import history is emptied: it would skip a file it has imported before.
        """
        same, changed = TEMPLATES["same"], TEMPLATES["changed"]
        with handwritten.connect(self.server, same) as conn:
            forget_history(conn)
            conn.commit()
            self.export_floors(conn)
        self.ddl("CREATE DATABASE {} TEMPLATE {}", TEMPLATES["keyed"], same)
        self.alter(TEMPLATES["keyed"], "TRUNCATE {}")
        deleted = self.alter(same, "DELETE FROM {} WHERE contact_id % 2 = 0")
        self.ddl("CREATE DATABASE {} TEMPLATE {}", changed, same)
        updated = self.alter(changed, "UPDATE {} SET lifetime_value = lifetime_value + 1")
        print(
            f"prepared: {deleted:,} keys deleted, {updated:,} kept and changed for (c)",
            file=self.out,
        )

    def alter(self, database: str, statement: LiteralString) -> int:
        """Run ``statement`` on the table in ``database``, compact and analyse; rows touched."""
        table = sql.Identifier(TABLE)
        with handwritten.connect(self.server, database) as conn:
            count = conn.execute(sql.SQL(statement).format(table)).rowcount
            conn.commit()
            conn.autocommit = True
            conn.execute(sql.SQL("VACUUM (FULL, ANALYZE) {}").format(table))
        return count

    def ddl(self, statement: LiteralString, *databases: str) -> None:
        self.admin.execute(sql.SQL(statement).format(*map(sql.Identifier, databases)))

    def drop_all(self) -> None:
        for name in (DATABASE, *TEMPLATES.values()):
            self.ddl("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


def forget_history(conn: psycopg.Connection[Any]) -> None:
    """Empty Conveyor's import history (jobs and what hangs off them; not its migrations)."""
    query = r"SELECT tablename FROM pg_tables WHERE tablename LIKE 'conveyor\_import\_%'"
    tables = [sql.Identifier(row[0]) for row in conn.execute(query)]
    if tables:
        conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(sql.SQL(", ").join(tables)))


if __name__ == "__main__":
    sys.exit(main())
