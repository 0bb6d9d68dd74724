"""Import speed: a generated contacts file through ``conveyor.import_file`` into each target.

    python bench/import_speed.py --rows 200000 --seed 42 --targets sqlite,postgresql

Three cases per target, each in a fresh Python process so its peak memory can be read:

- ``first load``: the file into an empty table;
- ``re-import``: the same file again (every row unchanged);
- ``half changed``: a variant of the file where every second row has another Lifetime Value.

"seconds" is the time of the ``import_file`` call alone (not the interpreter's start or the
imports); "peak RSS" is the whole process's maximum resident set. The PostgreSQL server comes
from ``--pg-url``, else ``CONVEYOR_BENCH_DATABASE_URL``, else ``postgresql://postgres@127.0.0.1:
5432/postgres``; the benchmark creates its own database ``conveyor_bench`` there and drops it at
the end. The generated files are kept in ``--workdir`` and reused by later runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

__all__ = ["CASES", "TARGETS", "Run", "main", "markdown_table"]

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "generate_contacts.py"
MAPPING = HERE / "contacts.yaml"
TARGETS = ("sqlite", "postgresql")
#: case name -> does it import the variant file (every second row changed)?
CASES = {"first load": False, "re-import": False, "half changed": True}
PG_ENV_VAR = "CONVEYOR_BENCH_DATABASE_URL"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "conveyor_bench"
#: The child reads its target from here, so a password never shows in a process listing.
CHILD_TARGET_VAR = "CONVEYOR_BENCH_TARGET"
COUNT_NAMES = ("rows_read", "inserted", "updated", "unchanged", "duplicates", "rejected")


@dataclass(frozen=True)
class Run:
    """One import, as measured by its own process."""

    target: str
    case: str
    rows: int
    seconds: float
    peak_rss_mb: float
    counts: dict[str, int]

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        counts = " ".join(f"{name}={self.counts[name]}" for name in COUNT_NAMES)
        return (
            f"{self.target:<10} {self.case:<12} rows={self.rows} seconds={self.seconds:.2f} "
            f"rows/s={self.rows_per_second:,.0f} peak_rss_mb={self.peak_rss_mb:.0f} {counts}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child is not None:
        return _child(args.child, args.child_result)
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    base = _ensure_file(workdir, args.rows, args.seed, change_every=0)
    variant = _ensure_file(workdir, args.rows, args.seed, change_every=2)
    print(f"files: {base} ({_mb(base):.1f} MB) and {variant.name}", flush=True)
    runs: list[Run] = []
    notes: list[str] = []
    for target in args.targets:
        try:
            runs += _measure_target(target, base, variant, workdir, args.pg_url, notes)
        except psycopg.OperationalError as exc:
            print(f"cannot reach PostgreSQL: {exc}".rstrip(), file=sys.stderr)
            print(f"set --pg-url or ${PG_ENV_VAR} to a server URL", file=sys.stderr)
            return 1
    print()
    print(markdown_table(runs))
    print()
    print(f"Machine: {_machine()}{''.join(f', {note}' for note in notes)}")
    print(f"Command: {_command(args)}")
    return 0


def markdown_table(runs: Sequence[Run]) -> str:
    """The runs as a Markdown table, one row per run."""
    head = ["target", "case", "rows", "seconds", "rows/s", "peak RSS MB", *COUNT_NAMES[1:]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        cells = [
            run.target,
            run.case,
            f"{run.rows:,}",
            f"{run.seconds:.2f}",
            f"{run.rows_per_second:,.0f}",
            f"{run.peak_rss_mb:.0f}",
            *(f"{run.counts[name]:,}" for name in COUNT_NAMES[1:]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- the command line -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--rows", type=_positive, default=200_000, help="data rows (default 200000)"
    )
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument(
        "--targets",
        type=_targets,
        default=TARGETS,
        help="comma-separated, from: sqlite,postgresql (default both)",
    )
    parser.add_argument(
        "--pg-url",
        default=None,
        help=f"PostgreSQL server URL (default ${PG_ENV_VAR} or {PG_DEFAULT})",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "conveyor-bench",
        help="folder for the generated files and the SQLite database "
        "(default: TMPDIR/conveyor-bench)",
    )
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-result", type=Path, default=None, help=argparse.SUPPRESS)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _targets(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in chosen if name not in TARGETS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown target {', '.join(unknown) or '(none)'}; choose from {','.join(TARGETS)}"
        )
    return chosen


def _command(args: argparse.Namespace) -> str:
    """The command that repeats this run (the server URL and folder stay out: they are local)."""
    words = ["python", "bench/import_speed.py", "--rows", str(args.rows), "--seed", str(args.seed)]
    return shlex.join([*words, "--targets", ",".join(args.targets)])


def _machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, polars {version('polars')}"
    )


# -- files and targets ------------------------------------------------------------------------


def _ensure_file(workdir: Path, rows: int, seed: int, *, change_every: int) -> Path:
    suffix = f"-changed{change_every}" if change_every else ""
    path = workdir / f"contacts-{rows}-{seed}{suffix}.csv"
    if not path.exists():  # the generator writes atomically: an existing file is complete
        command = [sys.executable, str(GENERATOR), "--rows", str(rows), "--seed", str(seed)]
        command += ["--out", str(path), "--change-every", str(change_every)]
        started = time.perf_counter()
        if subprocess.run(command, check=False).returncode:
            raise SystemExit(f"generating {path} failed (see above)")
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


@contextmanager
def _target_url(target: str, workdir: Path, pg_url: str | None, notes: list[str]) -> Iterator[str]:
    """A URL of an empty database of the target's kind, removed afterwards; notes its version."""
    if target == "sqlite":
        notes.append(f"SQLite {sqlite3.sqlite_version}")
        database = workdir / "conveyor_bench.db"
        database.unlink(missing_ok=True)
        try:
            yield f"sqlite:///{database}"
        finally:
            database.unlink(missing_ok=True)
        return
    server = make_url(pg_url or os.environ.get(PG_ENV_VAR) or PG_DEFAULT)
    notes.append(f"PostgreSQL {_recreate_database(server, drop_only=False)}")
    try:
        url = server.set(drivername="postgresql+psycopg", database=PG_DATABASE)
        yield url.render_as_string(hide_password=False)
    finally:
        _recreate_database(server, drop_only=True)


def _recreate_database(server: URL, *, drop_only: bool) -> str:
    """Drop the benchmark's database, create it again unless ``drop_only``; the server version."""
    name = sql.Identifier(PG_DATABASE)
    with psycopg.connect(
        host=server.host or "127.0.0.1",
        port=server.port or 5432,
        user=server.username,
        password=server.password or None,
        dbname=server.database or "postgres",
        autocommit=True,
    ) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# -- one measured run -------------------------------------------------------------------------


def _measure_target(
    target: str, base: Path, variant: Path, workdir: Path, pg_url: str | None, notes: list[str]
) -> list[Run]:
    runs = []
    with _target_url(target, workdir, pg_url, notes) as url:
        for case, changed in CASES.items():
            run = _measure(target, case, variant if changed else base, url, workdir)
            print(run.line(), flush=True)
            runs.append(run)
    return runs


def _measure(target: str, case: str, path: Path, url: str, workdir: Path) -> Run:
    """Run one import in a fresh process and read back what it measured."""
    result_file = workdir / "run-result.json"
    result_file.unlink(missing_ok=True)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(path)]
    command += ["--child-result", str(result_file)]
    done = subprocess.run(command, check=False, env=_child_env(url))
    if done.returncode:
        raise SystemExit(f"{target}, {case}: the import process failed (see above)")
    data: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    result_file.unlink()
    return Run(
        target=target,
        case=case,
        rows=data["counts"]["rows_read"],
        seconds=data["seconds"],
        peak_rss_mb=data["peak_rss_mb"],
        counts=data["counts"],
    )


def _child_env(url: str) -> dict[str, str]:
    # This checkout's conveyor comes first: a script's folder (bench/) is on sys.path, the
    # repository root is not, and an editable install made before a subpackage existed can
    # then resolve `conveyor` as an empty namespace package.
    paths = [str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, CHILD_TARGET_VAR: url, "PYTHONPATH": os.pathsep.join(paths)}


def _child(path: Path, result_file: Path | None) -> int:
    """In the fresh process: import the file, then write the time, peak RSS and counts."""
    from conveyor import import_file  # only here: the parent has no use for Polars

    url = os.environ[CHILD_TARGET_VAR]
    rejects = path.with_name(f"{path.stem}.rejects.csv")
    started = time.perf_counter()
    # force: the re-import case measures the work of importing a known file again, which an
    # import would otherwise skip as already done.
    report = import_file(path, MAPPING, url, rejects_path=rejects, force=True)
    seconds = time.perf_counter() - started
    if report.status != "succeeded":
        print(f"import of {path} into {report.target} failed: {report.error}", file=sys.stderr)
        return 1
    result = {
        "seconds": seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "counts": {name: getattr(report.counts, name) for name in COUNT_NAMES},
    }
    if result_file is None:
        print(json.dumps(result))
    else:
        result_file.write_text(json.dumps(result), encoding="utf-8")
    return 0


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def _mb(path: Path) -> float:
    return path.stat().st_size / (1024 * 1024)


if __name__ == "__main__":
    sys.exit(main())
