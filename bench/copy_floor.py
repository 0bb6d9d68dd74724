"""What PostgreSQL alone costs to take the rows of an import: the floor under (b) and (d).

    python bench/copy_floor.py --rows 1000000 --seed 42

Times four COPYs in one go, each into a new table in its own transaction, nothing but the
server's work and the transfer (the CSV bytes are made before the clock starts):

- ``raw file -> text columns``: the generated file itself into 12 text columns, no key: case (a)
  of bench/write_path.py, the reference of its goals;
- ``mapped rows -> text columns``: the rows after the mapping (as Conveyor sends them);
- ``mapped rows -> typed columns``: into the column types Conveyor creates (bigint, date,
  numeric(12,2), timestamptz), no key;
- ``mapped rows -> typed columns + primary key``: the table Conveyor creates, key included.

The last line over the first is the best ratio any importer keeping Conveyor's typed, keyed
table can reach against (a), before reading, mapping or deduplicating a single row.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_speed
from copy_format import mapped_frame, pg_type

from conveyor.load.postgres import copy_csv

__all__ = ["main"]


def timed_copy(
    conn: psycopg.Connection, columns: sql.Composable, data: bytes, header: bool
) -> float:
    options = sql.SQL("(FORMAT csv, HEADER true)" if header else "(FORMAT csv)")
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE TEMP TABLE floor ({}) ON COMMIT DROP").format(columns))
        started = time.perf_counter()
        with cursor.copy(sql.SQL("COPY floor FROM STDIN {}").format(options)) as copy:
            for offset in range(0, len(data), 1 << 20):
                copy.write(data[offset : offset + (1 << 20)])
        return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/conveyor-bench"))
    default_url = os.environ.get(import_speed.PG_ENV_VAR, import_speed.PG_DEFAULT)
    parser.add_argument("--pg-url", default=default_url)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = import_speed._ensure_file(args.workdir, args.rows, args.seed, change_every=0)
    frame = mapped_frame(path).unique(subset=["email"], keep="last", maintain_order=True)
    mapped = copy_csv(frame)
    raw = path.read_bytes()

    def columns(typed: bool, key: bool) -> sql.Composable:
        parts: list[sql.Composable] = [
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(pg_type(t) if typed else "text"))
            for n, t in zip(frame.columns, frame.dtypes, strict=True)
        ]
        if key:
            parts.append(sql.SQL("PRIMARY KEY (email)"))
        return sql.SQL(", ").join(parts)

    text_raw = sql.SQL(", ").join(
        sql.SQL("{} text").format(sql.Identifier(f"c{i}")) for i in range(12)
    )
    cases = [
        ("raw file -> text columns", text_raw, raw, True, args.rows),
        ("mapped rows -> text columns", columns(False, False), mapped, False, frame.height),
        ("mapped rows -> typed columns", columns(True, False), mapped, False, frame.height),
        (
            "mapped rows -> typed columns + primary key",
            columns(True, True),
            mapped,
            False,
            frame.height,
        ),
    ]
    with psycopg.connect(args.pg_url) as conn:
        reference = 0.0
        for label, cols, data, header, rows in cases:
            seconds = timed_copy(conn, cols, data, header)
            rate = rows / seconds
            reference = reference or rate
            print(
                f"{label:<44} {rows:>9,} rows {seconds:6.2f} s {rate:>10,.0f} rows/s "
                f"{rate / reference:5.2f}x"
            )
    print(f"command: python bench/copy_floor.py --rows {args.rows} --seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
