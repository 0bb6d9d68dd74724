"""XLSX import speed against reading the same sheet row by row with openpyxl.

    python bench/xlsx_speed.py --rows 200000 --seed 42

Writes the generated contacts rows (bench/generate_contacts.py) to an XLSX sheet with
xlsxwriter (cached in ``--workdir``), then times, in this process, one after the other:

- ``openpyxl``: ``load_workbook(read_only=True)`` and ``iter_rows(values_only=True)`` over every
  row, doing nothing with the values: the floor of any openpyxl-based import;
- ``conveyor``: ``conveyor.import_file`` of the sheet with ``bench/contacts.yaml`` (read, map
  with casts and checks, dedupe) into a new SQLite file.

It prints both times and the ratio; the issue's goal is at least 5x.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_contacts import COLUMNS, contact_rows

from conveyor import import_file
from conveyor.formats.base import SourceOptions
from conveyor.mapping import load_mapping

__all__ = ["main", "write_xlsx"]

HERE = Path(__file__).resolve().parent
GOAL = 5.0


def write_xlsx(out: Path, rows: int, seed: int) -> Path:
    """The generated contacts as one sheet of text cells (as a CRM export writes them)."""
    workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    sheet = workbook.add_worksheet("Contacts")
    sheet.write_row(0, 0, COLUMNS)
    for index, row in enumerate(contact_rows(rows, seed), start=1):
        sheet.write_row(index, 0, row)
    workbook.close()
    return out


def time_openpyxl(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    workbook = openpyxl.load_workbook(path, read_only=True)
    count = sum(1 for _ in workbook.active.iter_rows(values_only=True))
    workbook.close()
    return time.perf_counter() - started, count - 1


def time_conveyor(path: Path, workdir: Path) -> tuple[float, int]:
    spec = load_mapping(HERE / "contacts.yaml")
    spec = spec.model_copy(update={"source": SourceOptions(format="xlsx")})
    target = workdir / "xlsx_speed.db"
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    report = import_file(path, spec, f"sqlite:///{target}", rejects_path=workdir / "rej.xlsx")
    elapsed = time.perf_counter() - started
    report.raise_for_status()
    return elapsed, report.counts.rows_read


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    default_dir = Path(tempfile.gettempdir()) / "conveyor-bench"
    parser.add_argument("--workdir", type=Path, default=default_dir)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"contacts-{args.rows}-{args.seed}.xlsx"
    if not path.exists():
        write_xlsx(path, args.rows, args.seed)
    print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB)", flush=True)
    slow, slow_rows = time_openpyxl(path)
    print(f"openpyxl read-only iter_rows: {slow:.2f} s for {slow_rows:,} rows", flush=True)
    fast, fast_rows = time_conveyor(path, args.workdir)
    print(f"conveyor import (read, map, dedupe, load into SQLite): {fast:.2f} s for {fast_rows:,}")
    ratio = slow / fast
    verdict = "met" if ratio >= GOAL else "not met"
    print(f"ratio: {ratio:.1f}x (goal {GOAL:.0f}x: {verdict})")
    print(f"command: python bench/xlsx_speed.py --rows {args.rows} --seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
