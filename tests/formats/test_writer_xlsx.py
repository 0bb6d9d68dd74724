"""XLSX export writer: round trip through Conveyor's reader, openpyxl's view of the cells,
sheet split, header, widths, text fallbacks and Excel's limits."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import struct
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest

from conveyor.errors import ConfigError
from conveyor.formats import read_source, xlsx_writer
from conveyor.formats.base import SourceOptions
from conveyor.formats.writers import WriteOptions, open_writer
from conveyor.schema import Column
from tests.formats.test_writers import COLUMNS, ROWS, read_back, sample_frame, write_export


def utc_ms(value: dt.datetime | None) -> dt.datetime | None:
    """What an XLSX reader gives back: naive UTC, to the millisecond."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(microsecond=round(value.microsecond, -3))


def sheet_xml(path: Path, number: int = 1) -> str:
    with zipfile.ZipFile(path) as package:
        return package.read(f"xl/worksheets/sheet{number}.xml").decode()


def test_round_trip_through_conveyors_reader(tmp_path: Path) -> None:
    frame = sample_frame()
    path = tmp_path / "out.xlsx"
    assert write_export(path, "xlsx", frame) == 6
    back = read_back(path, format="xlsx")
    assert back.schema["id"] == pl.Int64 and back.schema["born"] == pl.Date
    assert back.get_column("id").to_list() == frame["id"].to_list()
    assert back.get_column("name").to_list() == frame["name"].to_list()  # "" stays ""
    assert back.get_column("ratio").to_list() == frame["ratio"].to_list()
    prices = [None if v is None else float(v) for v in frame["price"]]
    assert back.get_column("price").to_list() == prices
    assert back.get_column("amount").to_list() == [str(v) for v in frame["amount"]]  # as text
    assert back.get_column("active").to_list() == frame["active"].to_list()
    assert back.get_column("born").to_list() == frame["born"].to_list()
    for name in ("seen_utc", "seen_paris", "seen_naive"):
        assert back.get_column(name).to_list() == [utc_ms(v) for v in frame[name]], name
    assert back.get_column("meta").to_list() == frame["meta"].to_list()


def test_openpyxl_reads_typed_cells(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_export(path, "xlsx", sample_frame(), options=WriteOptions(sheet_name="Données"))
    book = openpyxl.load_workbook(path)
    sheet = book["Données"]
    assert [c.value for c in sheet[1]] == [c.name for c in COLUMNS]
    first = {c.name: cell for c, cell in zip(COLUMNS, sheet[2], strict=True)}
    assert first["id"].value == 1 and first["id"].data_type == "n"
    assert first["price"].value == 12.5 and first["price"].data_type == "n"
    assert first["amount"].value == ROWS[0][4] and first["amount"].data_type == "s"
    assert first["active"].value is True
    assert first["born"].value == dt.datetime(2024, 1, 2) and first["born"].is_date
    assert first["born"].number_format == "yyyy-mm-dd"
    assert first["seen_paris"].value == dt.datetime(2024, 7, 1, 10, 0, 0, 250000)  # in UTC
    assert first["seen_paris"].number_format == "yyyy-mm-dd hh:mm:ss"
    second = [cell.value for cell in sheet[3]]
    assert second[1] == "" and second[3] is None  # empty string, NULL (no cell)
    book.close()


def test_header_bold_frozen_and_widths(tmp_path: Path) -> None:
    columns = [*COLUMNS, Column("long text", "string")]
    frame = sample_frame().with_columns(pl.lit("x" * 100).alias("long text"))
    path = tmp_path / "out.xlsx"
    write_export(path, "xlsx", frame, columns, batches=[])  # widths from this first batch
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert not sheet["A2"].font.b
    widths = {k: v.width for k, v in sheet.column_dimensions.items()}
    assert widths == {
        "A": 15,  # id: "1099511627776" (13) + 2
        "B": 26,  # name: "  <b>padded</b> & more  " (24) + 2
        "C": 8,  # ratio: "1e+20" (5) + 2 and "ratio" (5) + 2 are below the minimum, 8
        "D": 13,  # price: "99999999.99" (11) + 2
        "E": 33,  # amount: the 31 characters of BIG + 2
        "F": 8,  # active: "false" (5) + 2 < 8, header "active" (6) + 2
        "G": 12,  # born: dates show as yyyy-mm-dd (10) + 2
        "H": 21,  # seen_utc: yyyy-mm-dd hh:mm:ss (19) + 2
        "I": 21,
        "J": 21,
        "K": 30,  # meta: '{"tags": ["a", "b"], "n": 1}' (28) + 2
        "L": 60,  # long text: capped
    }
    book.close()


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    columns = [Column("f", "string")]
    values = ["=1+1", "=SUM(A1:A2)", "+1", "-2", "@x", '=HYPERLINK("http://x")']
    path = tmp_path / "out.xlsx"
    write_export(path, "xlsx", pl.DataFrame({"f": values}), columns)
    assert "<f>" not in sheet_xml(path)
    book = openpyxl.load_workbook(path)
    cells = [row[0] for row in book.active.iter_rows(min_row=2)]
    assert [(c.value, c.data_type) for c in cells] == [(v, "s") for v in values]
    book.close()
    assert read_back(path, columns).get_column("f").to_list() == values


def test_values_excel_cannot_hold_as_numbers_are_text(tmp_path: Path) -> None:
    columns = [
        Column("i", "integer"),
        Column("f", "float"),
        Column("d", "decimal", 38, 4),
        Column("day", "date"),
        Column("at", "datetime"),
        Column("s", "string"),
    ]
    frame = pl.DataFrame(
        {
            "i": [2**53, 2**53 + 1, -(2**53) - 1, -(2**63)],
            "f": [float("nan"), float("inf"), float("-inf"), 1.5e-7],
            "d": [Decimal("12345678901.2345"), Decimal("123456789012.3456"), None, None],
            "day": [dt.date(1899, 12, 31), dt.date(1900, 1, 1), dt.date(1900, 2, 28), None],
            "at": [dt.datetime(1899, 12, 31, 23), dt.datetime(1900, 3, 1, 6), None, None],
            "s": ["a\x01b", "_x0041_", "tab\tcr\r", "ｆｕｌｌ"],
        },
        schema={c.name: c.polars_dtype() for c in columns},
    ).with_columns(pl.col("at").dt.replace_time_zone(None))
    path = tmp_path / "out.xlsx"
    write_export(path, "xlsx", frame, columns)
    book = openpyxl.load_workbook(path)
    got = [[(c.value, c.data_type) for c in row] for row in book.active.iter_rows(min_row=2)]
    book.close()
    assert [row[0] for row in got] == [
        (2**53, "n"),
        (str(2**53 + 1), "s"),
        (str(-(2**53) - 1), "s"),
        (str(-(2**63)), "s"),
    ]
    assert [row[1] for row in got] == [
        ("NaN", "s"),
        ("Infinity", "s"),
        ("-Infinity", "s"),
        (1.5e-7, "n"),
    ]
    assert got[0][2] == (12345678901.2345, "n")  # 15 significant digits: a number
    assert got[1][2] == ("123456789012.3456", "s")  # 16: text, every digit
    assert got[0][3] == ("1899-12-31", "s")  # before Excel's first day
    assert [row[3][0] for row in got[1:3]] == [dt.datetime(1900, 1, 1), dt.datetime(1900, 2, 28)]
    assert got[0][4] == ("1899-12-31T23:00:00.000000", "s")
    assert got[1][4] == (dt.datetime(1900, 3, 1, 6), "d")
    # Excel's _xHHHH_ escapes: Conveyor's reader (calamine) undoes them, as Excel does.
    back = read_back(path, columns, format="xlsx")
    assert back.get_column("s").to_list() == ["a\x01b", "_x0041_", "tab\tcr\r", "ｆｕｌｌ"]
    # a column of dates and text is read as text: the dates come back as ISO text
    assert back.get_column("day").to_list() == ["1899-12-31", "1900-01-01", "1900-02-28", None]


def test_a_new_sheet_every_rows_per_sheet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_writer, "ROWS_PER_SHEET", 3)
    frame = pl.concat([sample_frame(), sample_frame().head(2)]).with_columns(
        pl.int_range(1, 9).alias("id")
    )
    path = tmp_path / "out.xlsx"
    name = "A sheet name of 31 characters.."
    assert write_export(path, "xlsx", frame, options=WriteOptions(sheet_name=name)) == 8
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [name, name[:27] + " (2)", name[:27] + " (3)"]
    for sheet, ids in zip(book.worksheets, [[1, 2, 3], [4, 5, 6], [7, 8]], strict=True):
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == tuple(c.name for c in COLUMNS)
        assert [row[0] for row in rows[1:]] == ids
        assert sheet.freeze_panes == "A2"
    book.close()
    back = read_back(path, sheet="*")
    assert back.get_column("id").to_list() == list(range(1, 9))


def test_text_over_excels_cell_limit(tmp_path: Path) -> None:
    columns = [Column("id", "integer"), Column("note", "string")]
    writer = open_writer(tmp_path / "a.xlsx", "xlsx", columns)
    fits = "y" * xlsx_writer.MAX_TEXT
    writer.write(pl.DataFrame({"id": [1, 2], "note": ["short", fits]}))
    with pytest.raises(ConfigError, match=r"row 4, column 'note': the text has 32,768 characters"):
        writer.write(pl.DataFrame({"id": [3, 4], "note": ["ok", "x" * 32_768]}))
    writer.close()  # what was written before stays a valid file
    assert read_back(tmp_path / "a.xlsx", columns).get_column("note").to_list() == ["short", fits]


def test_zero_rows_give_the_header_row(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    assert write_export(path, "xlsx", sample_frame([]), batches=[0]) == 0
    book = openpyxl.load_workbook(path)
    assert list(book.active.iter_rows(values_only=True)) == [tuple(c.name for c in COLUMNS)]
    assert book.active.freeze_panes == "A2"
    book.close()
    result = read_source(path, SourceOptions())
    assert result.info.columns == [c.name for c in COLUMNS]
    assert list(result.batches) == []


@pytest.mark.parametrize("name", ["", "a/b", "x" * 32, "'quoted'", "what?"])
def test_sheet_names_excel_refuses(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="is not allowed by Excel"):
        open_writer(tmp_path / "a.xlsx", "xlsx", COLUMNS, WriteOptions(sheet_name=name))


def test_header_names_are_escaped(tmp_path: Path) -> None:
    columns = [Column("E-mail Address", "string"), Column("<a & b>", "integer")]
    frame: dict[str, Any] = {"E-mail Address": ["a@x.io"], "<a & b>": [1]}
    path = tmp_path / "out.xlsx"
    write_export(path, "xlsx", pl.DataFrame(frame), columns)
    assert read_back(path, columns).rows() == [("a@x.io", 1)]


def load_bench() -> Any:
    """bench/xlsx_write_speed.py as a module (bench/ is not a package)."""
    path = Path(__file__).resolve().parents[2] / "bench" / "xlsx_write_speed.py"
    spec = importlib.util.spec_from_file_location("xlsx_write_speed", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_writes_the_same_cells_as_openpyxl(tmp_path: Path) -> None:
    """The speed benchmark compares like with like: both files hold the same values."""
    bench = load_bench()
    data = bench.frame(300, 7)
    assert data.schema == {c.name: c.polars_dtype() for c in bench.COLUMNS} | {
        "Updated": pl.Datetime("us")
    }
    assert data.null_count().row(0) != (0,) * 12  # NULLs present
    bench.time_openpyxl(bench.openpyxl_rows(data), tmp_path / "theirs.xlsx")
    bench.time_conveyor(data, tmp_path / "ours.xlsx", 128)
    values = []
    for name in ("theirs.xlsx", "ours.xlsx"):
        book = openpyxl.load_workbook(tmp_path / name)
        values.append(list(book.active.iter_rows(values_only=True)))
        book.close()
    theirs, ours = values
    assert len(ours) == 301
    # openpyxl keeps microseconds, Excel and the readers milliseconds: compare to the ms
    assert [tuple(utc_ms(v) if isinstance(v, dt.datetime) else v for v in r) for r in ours] == [
        tuple(utc_ms(v) if isinstance(v, dt.datetime) else v for v in r) for r in theirs
    ]


def test_benchmark_command_line(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "bench" / "xlsx_write_speed.py"
    args = ["--rows", "200", "--seed", "1", "--workdir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, check=True
    )
    assert "rows x columns: 200 x 12" in done.stdout
    assert re.search(r"ratio: \d+\.\dx \(goal >= 3x: (met|NOT met)\)", done.stdout)
    assert "command: python" in done.stdout and "--rows 200" in done.stdout
    assert list(tmp_path.iterdir()) == []  # its files are removed


def test_a_sheet_estimated_large_gets_zip64_and_still_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xlsx_writer, "_ZIP64_ESTIMATE", 0)
    path = tmp_path / "out.xlsx"
    write_export(path, "xlsx", sample_frame())
    with zipfile.ZipFile(path) as package:
        offset = package.getinfo("xl/worksheets/sheet1.xml").header_offset
    local = path.read_bytes()[offset : offset + 200]  # the entry's local header
    name_size, extra_size = struct.unpack("<HH", local[26:30])
    assert extra_size and local[30 + name_size : 32 + name_size] == b"\x01\x00"  # Zip64 field
    assert read_back(path).get_column("id").to_list() == sample_frame()["id"].to_list()
    book = openpyxl.load_workbook(path)
    assert book.active.max_row == 7
    book.close()
