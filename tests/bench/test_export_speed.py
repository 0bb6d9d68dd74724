"""The export benchmark: its data, its verdicts and table, its reference jobs against Conveyor's
exports of the same table, and one whole run with tiny sizes against the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import polars as pl
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.helpers import ROOT

sys.path.append(str(ROOT / "bench"))
import export_speed
from export_speed import Run

ALL_JOBS = ["copy", "csv", "openpyxl", "xlsx", "json", "ndjson", "xml"]


def test_defaults_and_the_command_that_repeats_a_run() -> None:
    args = export_speed.parser().parse_args([])
    assert (args.rows, args.xlsx_rows, args.seed, args.repeat, args.json) == (
        1_000_000,
        200_000,
        42,
        1,
        False,
    )
    assert (args.database, args.pg_url) == ("conveyor_bench_export", None)
    assert export_speed.command(args) == (
        "python bench/export_speed.py --rows 1000000 --xlsx-rows 200000 --seed 42"
    )
    args = export_speed.parser().parse_args(
        ["--rows", "9", "--xlsx-rows", "3", "--repeat", "3", "--json", "--database", "x y"]
    )
    assert export_speed.command(args) == (
        "python bench/export_speed.py --rows 9 --xlsx-rows 3 --seed 42 --database 'x y' "
        "--repeat 3 --json"
    )


def test_generated_rows_are_seeded_typed_and_about_five_percent_null() -> None:
    data = export_speed.generate(10, 42)
    assert data.equals(export_speed.generate(10, 42))
    assert not data.equals(export_speed.generate(10, 7))
    assert data.columns == [c.name for c in export_speed.COLUMNS]
    assert data["id"].to_list() == list(range(1, 11))
    assert data.row(0) == (
        1,
        "David 1 & Sons, Ltd",
        "user1@example.com",
        "New York",
        67,
        pytest.approx(20261130.08),
        pytest.approx(370.1809663325548),
        dt.date(2019, 7, 15),
        dt.date(1962, 3, 3),
        "2021-06-13 18:16:27.148898+00",
        "2019-12-06 16:30:45.564484+00",
        False,
    )
    big = export_speed.generate(20_000, 42)
    nulls = big.null_count().row(0, named=True)
    assert nulls["id"] == 0
    assert all(800 < count < 1200 for name, count in nulls.items() if name != "id"), nulls


def runs(**seconds: list[float]) -> list[Run]:
    return [Run(job, 100, s, 2**20, 150.4, s + 1) for job, times in seconds.items() for s in times]


def test_goals_compare_median_times() -> None:
    goals = export_speed.verdicts(
        runs(copy=[2.0, 1.0, 9.0], csv=[3.0, 3.0, 4.0], openpyxl=[9.0], xlsx=[3.0])
    )
    assert [(v.job, v.reference, v.goal, v.met) for v in goals] == [
        ("csv", "copy", 1.5, True),  # 3.0 / 2.0: equal to the goal meets it
        ("xlsx", "openpyxl", 3.0, True),
    ]
    assert [v.ratio for v in goals] == [1.5, 3.0]
    missed = export_speed.verdicts(runs(copy=[1.0, 2.0], csv=[1.6, 9.0], openpyxl=[2.9], xlsx=[1]))
    assert [(v.ratio, v.met) for v in missed] == [(1.6, False), (2.9, False)]  # lower medians
    assert export_speed.verdicts(runs(csv=[1.0], xlsx=[1.0])) == []


def test_markdown_table_has_a_row_per_job_with_the_verdicts() -> None:
    table = export_speed.markdown_table(
        runs(copy=[2.0], csv=[3.5], openpyxl=[6.0], xlsx=[1.5], xml=[7.25])
    )
    assert table.splitlines() == [
        "| job | rows | seconds | ratio | goal | met? | MB written | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
        "| COPY (SELECT …) TO STDOUT, csv (psycopg) | 100 | 2.00 | reference |  |  | 1.0 |  |",
        "| conveyor export, csv | 100 | 3.50 | 1.75 = its time / COPY's | <= 1.5 | **no** | 1.0 "
        "| 150 |",
        "| openpyxl normal mode: fetch, append, save | 100 | 6.00 | reference |  |  | 1.0 |  |",
        "| conveyor export, xlsx | 100 | 1.50 | 4.00 = openpyxl's / its | >= 3 | yes | 1.0 | 150 |",
        "| conveyor export, xml | 100 | 7.25 |  |  |  | 1.0 | 150 |",
    ]


@pytest.mark.postgres
def test_references_export_what_conveyor_exports(pg_empty_url: str, tmp_path: Path) -> None:
    """The table has Conveyor's types; COPY and Conveyor write the same rows in the same order;
    openpyxl and Conveyor the same cells (timestamps as naive UTC)."""
    export_speed.create_table(make_url(pg_empty_url), export_speed.generate(300, 5))
    with psycopg.connect(pg_empty_url.replace("+psycopg", "")) as conn:
        types = conn.execute(
            "SELECT string_agg(format_type(atttypid, atttypmod), ';' ORDER BY attnum) "
            "FROM pg_attribute WHERE attrelid = 'bench_export'::regclass AND attnum > 0"
        ).fetchone()
    assert types is not None and types[0].split(";") == [
        "bigint",
        *["text"] * 3,
        "bigint",
        "numeric(12,2)",
        "double precision",
        *["date"] * 2,
        *["timestamp with time zone"] * 2,
        "boolean",
    ]
    files = {job: tmp_path / f"{job}.{'xlsx' if 'x' in job else 'csv'}" for job in ALL_JOBS[:4]}
    for job, path in files.items():
        limit = 120 if job in export_speed.XLSX_JOBS else None
        seconds, rows = export_speed._job(job, pg_empty_url, path, limit)
        assert (rows, seconds > 0) == (limit or 300, True)
    copied, ours = pl.read_csv(files["copy"]), pl.read_csv(files["csv"])
    assert copied.columns == ours.columns == [c.name for c in export_speed.COLUMNS]
    assert copied["id"].to_list() == ours["id"].to_list() == list(range(1, 301))
    same = ["customer", "email", "city", "orders", "balance", "rate", "signup_date"]
    assert copied.select(same).equals(ours.select(same))
    assert ours["balance"].null_count() > 5  # NULLs made it through
    theirs_xlsx, ours_xlsx = (_cells(files["openpyxl"]), _cells(files["xlsx"]))
    assert len(theirs_xlsx) == len(ours_xlsx) == 121  # header and the first 120 rows
    assert theirs_xlsx[0] == ours_xlsx[0] == tuple(c.name for c in export_speed.COLUMNS)
    assert [r[0] for r in theirs_xlsx[1:]] == [r[0] for r in ours_xlsx[1:]] == list(range(1, 121))
    for theirs, mine in zip(theirs_xlsx[1:], ours_xlsx[1:], strict=True):
        assert [_plain(v) for v in theirs] == [_plain(v) for v in mine]


def _cells(path: Path) -> list[tuple[object, ...]]:
    """The sheet's rows, each 12 cells (a row may end at its last non-empty cell)."""
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        width = len(export_speed.COLUMNS)
        return [
            (*row, *[None] * (width - len(row))) for row in book.active.iter_rows(values_only=True)
        ]
    finally:
        book.close()


def _plain(value: object) -> object:
    """A cell value compared across writers: numbers as rounded decimals."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return round(Decimal(str(value)), 6)
    return value


@pytest.mark.postgres
def test_a_tiny_run_reports_every_job_and_drops_its_database(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"conveyor_bench_export_test_{os.getpid()}"
    server = make_url(pg_url).set(database="postgres").render_as_string(hide_password=False)
    argv = ["--rows", "200", "--xlsx-rows", "50", "--seed", "3", "--database", name]
    code = export_speed.main([*argv, "--pg-url", server, "--workdir", str(tmp_path), "--json"])
    assert code == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["command"] == (
        f"python bench/export_speed.py --rows 200 --xlsx-rows 50 --seed 3 --database {name} --json"
    )
    assert data["machine"].startswith("Linux ") and "PostgreSQL " in data["machine"]
    assert [r["job"] for r in data["runs"]] == ALL_JOBS
    assert [r["rows"] for r in data["runs"]] == [200, 200, 50, 50, 200, 200, 200]
    assert all(r["bytes"] > 2000 and r["seconds"] > 0 for r in data["runs"])
    assert all(r["peak_rss_mb"] > 20 and r["process_seconds"] > r["seconds"] for r in data["runs"])
    assert list(data["medians"]) == ALL_JOBS
    goals = {g["job"]: g for g in data["goals"]}
    assert list(goals) == ["csv", "xlsx"]
    copy_s, csv_s = data["medians"]["copy"]["seconds"], data["medians"]["csv"]["seconds"]
    assert goals["csv"]["ratio"] == pytest.approx(csv_s / copy_s)
    assert goals["csv"]["met"] is (goals["csv"]["ratio"] <= 1.5)
    assert goals["xlsx"]["met"] is (goals["xlsx"]["ratio"] >= 3)
    assert captured.err.splitlines()[0].startswith("table: 200 rows in ")
    assert len(captured.err.splitlines()) == 1 + len(ALL_JOBS)  # progress on stderr
    assert list(tmp_path.iterdir()) == []  # every export file deleted
    with psycopg.connect(pg_url.replace("+psycopg", "")) as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name])
        assert left.fetchone() == (0,)
