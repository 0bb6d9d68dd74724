"""COPY format for the PostgreSQL target: text (CSV written by Polars) against psycopg binary.

    python bench/copy_format.py --rows 200000 --seed 42

Maps the generated contacts file with bench/contacts.yaml (as an import does), then COPYs the
mapped rows into a temporary table shaped like Conveyor's target, once per format, timing the
whole transfer (encoding the rows included) and the server's work:

- ``csv``: ``conveyor.load.postgres.copy_csv`` (Polars writes the batch as CSV in one call),
  ``COPY … (FORMAT csv)``;
- ``binary``: ``COPY … (FORMAT binary)`` with ``copy.set_types`` and ``copy.write_row`` per row
  (psycopg's binary encoders; Polars cannot write PostgreSQL's binary format).

The faster one is what conveyor/load/postgres.py uses.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_speed

from conveyor.formats import read_source
from conveyor.load.postgres import copy_csv
from conveyor.mapping import compile_mapping, load_mapping
from conveyor.schema import ROW_COL, SEQ_COL, SHEET_COL

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
PG_TYPES = {
    pl.String: "text",
    pl.Int64: "int8",
    pl.Date: "date",
}


def mapped_frame(path: Path) -> pl.DataFrame:
    spec = load_mapping(HERE / "contacts.yaml")
    compiled = compile_mapping(spec)
    frames = []
    seq = 0
    for batch in read_source(path, spec.source).batches:
        data = batch.data.with_columns(
            pl.int_range(seq, seq + batch.data.height, dtype=pl.Int64).alias(SEQ_COL),
            pl.lit(None, pl.String).alias(SHEET_COL),
        )
        seq += data.height
        frames.append(compiled.apply(data).good)
    return pl.concat(frames).drop(ROW_COL, SEQ_COL, SHEET_COL)


def pg_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return f"numeric({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "timestamptz"
    return PG_TYPES[type(dtype)] if type(dtype) in PG_TYPES else PG_TYPES[dtype]  # type: ignore[index]


def copy_once(conn: psycopg.Connection, frame: pl.DataFrame, fmt: str) -> float:
    types = [pg_type(dtype) for dtype in frame.dtypes]
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t))
        for n, t in zip(frame.columns, types, strict=True)
    )
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE TEMP TABLE stage ({}) ON COMMIT DROP").format(columns))
        started = time.perf_counter()
        statement = sql.SQL("COPY stage FROM STDIN (FORMAT {})").format(sql.SQL(fmt))
        with cursor.copy(statement) as copy:
            if fmt == "csv":
                copy.write(copy_csv(frame))
            else:
                copy.set_types([t.split("(")[0] for t in types])  # numeric(12,2) -> numeric
                for row in frame.iter_rows():
                    copy.write_row(row)
        return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/conveyor-bench"))
    default_url = os.environ.get(
        import_speed.PG_ENV_VAR, "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--pg-url", default=default_url)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = import_speed._ensure_file(args.workdir, args.rows, args.seed, change_every=0)
    frame = mapped_frame(path)
    with psycopg.connect(args.pg_url) as conn:
        for fmt in ("csv", "binary", "csv", "binary"):
            seconds = copy_once(conn, frame, fmt)
            rate = frame.height / seconds
            print(f"{fmt:<7} {frame.height:,} rows in {seconds:.2f} s ({rate:,.0f} rows/s)")
    print(f"command: python bench/copy_format.py --rows {args.rows} --seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
