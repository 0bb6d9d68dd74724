"""Peak memory of one Conveyor import of a large file into PostgreSQL (issue 3: < 1 GiB at 5 GB).

    python bench/memory_large.py --size-gb 5          # about 35 million rows, 5 GiB
    python bench/memory_large.py --rows 200000        # a quick check of the script itself

The file is the contacts generator's (bench/generate_contacts.py, streamed to disk, kept in
``--workdir`` for later runs). One ``import_file`` into an empty database runs in a fresh
process (import_speed.py's child), which reports its own peak resident set (``ru_maxrss``:
Python, Polars and everything else in it) and the time of the call; the wall time adds the
interpreter's start. The database ``conveyor_bench_mem`` is created and dropped on the server
from ``--pg-url`` (else ``$CONVEYOR_BENCH_DATABASE_URL``, else the local one).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import handwritten
import import_speed
import polars as pl
import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

__all__ = ["BYTES_PER_ROW", "LIMIT_MB", "main", "rows_for"]

#: Size of a generated row (1,000,000 rows, seed 42: 155,529,286 bytes); ids grow a digit or two
#: longer in bigger files, so a file comes out a little larger than asked.
BYTES_PER_ROW = 155.5
GIB = 2**30
LIMIT_MB = 1024.0  # the goal: under 1 GiB
DATABASE = "conveyor_bench_mem"
EMAIL = "E-mail Address"


def rows_for(size_gb: float) -> int:
    """Rows for a generated file of about ``size_gb`` GiB."""
    return max(1, round(size_gb * GIB / BYTES_PER_ROW))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rows = args.rows or rows_for(args.size_gb)
    out = sys.stderr if args.json else sys.stdout
    args.workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with redirect_stdout(out):  # it says when it generates the file
        if args.tile:
            path = tiled_file(args.workdir, rows, args.tile, args.seed)
        else:
            path = import_speed._ensure_file(args.workdir, rows, args.seed, change_every=0)
    generated = time.perf_counter() - started
    size = path.stat().st_size
    print(f"file: {path} ({size / GIB:.2f} GiB, {rows:,} rows)", file=out, flush=True)
    if generated > 1:  # made now, not found: generation speed
        print(f"generation: {generated:.0f} s, {generated / (size / GIB):.0f} s per GiB", file=out)
    free = shutil.disk_usage(args.workdir).free
    if free < 2 * size:
        print(f"warning: {free / GIB:.1f} GiB free beside the file; the import spills", file=out)
    server = make_url(
        args.pg_url or os.environ.get(import_speed.PG_ENV_VAR) or import_speed.PG_DEFAULT
    )
    try:
        result = _measure(server, path, args.workdir)
    except psycopg.OperationalError as exc:
        print(f"cannot reach PostgreSQL: {exc}".rstrip(), file=sys.stderr)
        return 1
    result |= {"file": str(path), "file_bytes": size, "rows": rows, "seed": args.seed}
    result |= {"limit_mb": LIMIT_MB, "under_limit": result["peak_rss_mb"] < LIMIT_MB}
    print(json.dumps(result, indent=2) if args.json else _text(result))
    return 0


def tiled_file(workdir: Path, rows: int, tile: int, seed: int) -> Path:
    """A file of ``rows`` rows made of copies of the generated ``tile``-row file.

    The generator writes about 1-3 MB/s, so a 5 GiB file would take most of an hour; copies
    take a minute. Copy k prefixes every e-mail address with ``tk.`` (after any leading
    spaces the generator put there), so keys stay distinct across copies and every copy keeps
    the generator's noise, duplicates and invalid addresses.
    """
    path = workdir / f"contacts-{rows}-{seed}-tiled{tile}.csv"
    if path.exists():
        return path
    base = import_speed._ensure_file(workdir, tile, seed, change_every=0)
    frame = pl.read_csv(base, infer_schema=False)
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        for copy, start in enumerate(range(0, rows, tile)):
            part = frame.head(min(tile, rows - start)).with_columns(
                pl.col(EMAIL).str.replace(r"^(\s*)", f"${{1}}t{copy}.")
            )
            part.write_csv(out, include_header=copy == 0)
    partial.rename(path)
    return path


def _measure(server: URL, path: Path, workdir: Path) -> dict[str, Any]:
    """One import into a fresh database, dropped afterwards."""
    name = sql.Identifier(DATABASE)
    with handwritten.connect(server) as admin:
        admin.autocommit = True
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
        try:
            url = server.set(drivername="postgresql+psycopg", database=DATABASE)
            target = url.render_as_string(hide_password=False)
            started = time.perf_counter()
            run = import_speed._measure("postgresql", "large file", path, target, workdir)
            wall = time.perf_counter() - started
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    return {
        "seconds": run.seconds,
        "wall_seconds": wall,
        "rows_per_second": run.rows_per_second,
        "peak_rss_mb": run.peak_rss_mb,
        "counts": run.counts,
    }


def _text(result: dict[str, Any]) -> str:
    counts = " ".join(f"{k}={v:,}" for k, v in result["counts"].items())
    verdict = "yes" if result["under_limit"] else "NO"
    return (
        f"import: {result['seconds']:.1f} s ({result['wall_seconds']:.1f} s wall), "
        f"{result['rows_per_second']:,.0f} rows/s, {counts}\n"
        f"peak RSS: {result['peak_rss_mb']:.0f} MB; under {LIMIT_MB:.0f} MB: {verdict}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--size-gb", type=_positive_float, help="file size in GiB (2^30 bytes)")
    size.add_argument("--rows", type=import_speed._positive, help="data rows instead of a size")
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server URL")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "conveyor-bench",
        help="folder for the generated file, kept for later runs (default TMPDIR/conveyor-bench)",
    )
    parser.add_argument(
        "--tile",
        type=import_speed._positive,
        default=None,
        help="build the file from copies of a generated file of this many rows (fast)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    return parser


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
