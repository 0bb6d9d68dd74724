"""XLSX export speed: Conveyor's XLSX writer against openpyxl's normal mode, same cells.

    python bench/xlsx_write_speed.py --rows 200000 --seed 42

Generates a seeded frame of ``--rows`` rows x 12 columns (3 strings, 2 integers, 2 decimals,
2 dates, 2 datetimes (one aware in UTC, one naive), 1 boolean; about 5% NULLs), then times, in
this process, one after the other:

- ``openpyxl``: ``Workbook()`` in its normal (not write-only) mode, ``ws.append`` per row and
  ``wb.save``. Its rows are made from the frame before the clock starts (aware datetimes made
  naive UTC, as Conveyor writes them, since openpyxl refuses time zones), so only openpyxl's
  own work is timed;
- ``conveyor``: ``open_writer(..., "xlsx", ...)``, ``write`` of the frame in batches of
  ``--batch`` rows (as an export streams them) and ``close``.

It prints both times, the ratio and the command line; the issue's goal is at least 3x. Run it on
a quiet machine: the two runs share it, but other load changes the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl

from conveyor.formats.writers import open_writer
from conveyor.schema import Column

__all__ = ["COLUMNS", "frame", "main", "time_conveyor", "time_openpyxl"]

GOAL = 3.0
COLUMNS = [
    Column("Customer", "string"),
    Column("E-mail Address", "string"),
    Column("City", "string"),
    Column("Orders", "integer"),
    Column("Account Number", "integer"),
    Column("Balance", "decimal", 12, 2),
    Column("Rate", "decimal", 9, 4),
    Column("Signup Date", "date"),
    Column("Birth Date", "date"),
    Column("Last Login", "datetime"),
    Column("Updated", "datetime"),
    Column("Active", "boolean"),
]
_CITIES = ["Paris", "Lyon", "Zürich", "São Paulo", "Łódź", "New York", "Tokyo", "Cape Town"]


def frame(rows: int, seed: int) -> pl.DataFrame:
    """The seeded benchmark frame, with the dtypes an export passes to its writer."""
    rng = random.Random(seed)
    base = dt.datetime(2015, 1, 1)
    stamps = [base + dt.timedelta(seconds=rng.randrange(10 * 365 * 86_400)) for _ in range(rows)]
    data = pl.DataFrame(
        {
            "Customer": [f"Customer {i} & Sons, Ltd" for i in range(rows)],
            "E-mail Address": [f"user{i}@example.com" for i in range(rows)],
            "City": [rng.choice(_CITIES) for _ in range(rows)],
            "Orders": [rng.randrange(500) for _ in range(rows)],
            "Account Number": [rng.randrange(10**9, 10**12) for _ in range(rows)],
            "Balance": [Decimal(rng.randrange(-(10**8), 10**10)).scaleb(-2) for _ in range(rows)],
            "Rate": [Decimal(rng.randrange(10**6)).scaleb(-4) for _ in range(rows)],
            "Signup Date": [s.date() for s in stamps],
            "Birth Date": [
                dt.date(1940, 1, 1) + dt.timedelta(rng.randrange(60 * 365)) for _ in stamps
            ],
            "Last Login": [s + dt.timedelta(microseconds=rng.randrange(10**6)) for s in stamps],
            "Updated": [base + (s - base) / 2 for s in stamps],
            "Active": [rng.random() < 0.7 for _ in range(rows)],
        },
        schema={c.name: c.polars_dtype() for c in COLUMNS},
    )
    data = data.with_columns(pl.col("Updated").dt.replace_time_zone(None))
    holes = [[rng.random() < 0.05 for _ in range(rows)] for _ in COLUMNS]
    return data.with_columns(
        pl.when(pl.Series(hole)).then(None).otherwise(pl.col(c.name)).alias(c.name)
        for hole, c in zip(holes, COLUMNS, strict=True)
    )


def openpyxl_rows(data: pl.DataFrame) -> list[tuple[object, ...]]:
    """The frame's rows as openpyxl cell values (aware datetimes as naive UTC)."""
    naive = data.with_columns(
        pl.col("Last Login").dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    )
    return naive.rows()


def time_openpyxl(rows: list[tuple[object, ...]], out: Path) -> float:
    started = time.perf_counter()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([c.name for c in COLUMNS])
    for row in rows:
        sheet.append(row)
    workbook.save(out)
    return time.perf_counter() - started


def time_conveyor(data: pl.DataFrame, out: Path, batch: int) -> float:
    started = time.perf_counter()
    writer = open_writer(out, "xlsx", COLUMNS)
    for part in data.iter_slices(batch):
        writer.write(part)
    writer.close()
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch", type=int, default=50_000, help="rows per write (conveyor)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args(argv)
    data = frame(args.rows, args.seed)
    rows = openpyxl_rows(data)
    ours, theirs = (
        args.workdir / "xlsx_write_conveyor.xlsx",
        args.workdir / "xlsx_write_openpyxl.xlsx",
    )
    load_before = os.getloadavg()
    openpyxl_s = time_openpyxl(rows, theirs)
    conveyor_s = time_conveyor(data, ours, args.batch)
    load_after = os.getloadavg()
    ratio = openpyxl_s / conveyor_s
    print(f"rows x columns: {args.rows:,} x {len(COLUMNS)}")
    print(f"openpyxl (normal mode, append + save): {openpyxl_s:.2f} s, {theirs.stat().st_size:,} B")
    print(f"conveyor xlsx writer:                  {conveyor_s:.2f} s, {ours.stat().st_size:,} B")
    print(f"ratio: {ratio:.1f}x (goal >= {GOAL:.0f}x: {'met' if ratio >= GOAL else 'NOT met'})")
    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"Polars {pl.__version__}, openpyxl {openpyxl.__version__}, load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print("command: " + shlex.join([Path(sys.executable).name, *sys.argv]))
    ours.unlink()
    theirs.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
