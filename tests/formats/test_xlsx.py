"""XLSX reader and rejects writer, on workbooks generated in tmp_path."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
import xlsxwriter
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from conveyor.errors import SourceError
from conveyor.formats import read_source
from conveyor.formats.base import Batch, ReadResult, SourceOptions
from conveyor.formats.xlsx import open_rejects, read

Writer = Callable[[Any, Any], None]  # (workbook, worksheet) -> None


def make_book(path: Path, sheets: dict[str, Writer], options: dict[str, Any] | None = None) -> Path:
    book = xlsxwriter.Workbook(str(path), options or {})
    for name, fill in sheets.items():
        fill(book, book.add_worksheet(name))
    book.close()
    return path


def rows_writer(rows: list[list[object]], first_row: int = 0) -> Writer:
    """Write ``rows`` from ``first_row`` (0-based); dates get a date format."""

    def fill(book: Any, sheet: Any) -> None:
        date_format = book.add_format({"num_format": "yyyy-mm-dd"})
        stamp_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        for r, row in enumerate(rows, start=first_row):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, stamp_format)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, c, value, date_format)
                elif isinstance(value, str):
                    sheet.write_string(r, c, value)
                else:
                    sheet.write(r, c, value)

    return fill


def collect(result: ReadResult) -> tuple[pl.DataFrame, pl.DataFrame | None, list[Batch]]:
    batches = list(result.batches)
    data = [b.data for b in batches]
    rejects = [b.rejects for b in batches if b.rejects is not None]
    frame = pl.concat(data, how="diagonal") if data else pl.DataFrame()
    return frame, (pl.concat(rejects, how="diagonal") if rejects else None), batches


def read_all(path: Path, **options: Any) -> tuple[pl.DataFrame, pl.DataFrame | None, ReadResult]:
    result = read(path, SourceOptions(**options))
    data, rejects, _ = collect(result)
    return data, rejects, result


# --- values and types ---------------------------------------------------------------------


def test_typed_columns(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["int", "float", "day", "stamp", "flag", "text"],
        [1, 1.5, dt.date(2021, 1, 1), dt.datetime(2021, 1, 1, 10, 10, 10), True, "a"],
        [2, 2.0, dt.date(2021, 1, 2), dt.datetime(2021, 1, 2), False, "b"],
    ]
    path = make_book(tmp_path / "t.xlsx", {"Data": rows_writer(rows)})
    data, rejects, result = read_all(path)
    assert rejects is None
    assert result.info.columns == ["int", "float", "day", "stamp", "flag", "text"]
    assert dict(data.schema) == {
        "int": pl.Int64,
        "float": pl.Float64,
        "day": pl.Date,
        "stamp": pl.Datetime("ms"),
        "flag": pl.Boolean,
        "text": pl.String,
        "__row": pl.Int64,
        "__sheet": pl.String,
    }
    assert data.rows() == [
        (1, 1.5, dt.date(2021, 1, 1), dt.datetime(2021, 1, 1, 10, 10, 10), True, "a", 2, "Data"),
        (2, 2.0, dt.date(2021, 1, 2), dt.datetime(2021, 1, 2), False, "b", 3, "Data"),
    ]


def test_mixed_column_is_text_rendered_sensibly(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["mixed", "number_or_flag"],
        [3.0, 1.5],
        ["txt", True],
        [dt.date(2020, 5, 6), None],
        [dt.datetime(2020, 5, 6, 7, 8, 9), None],
        [True, None],
        [1.25, None],
    ]
    path = make_book(tmp_path / "m.xlsx", {"S": rows_writer(rows)})
    data, _, _ = read_all(path)
    assert data.schema["mixed"] == pl.String
    assert data.get_column("mixed").to_list() == [
        "3",
        "txt",
        "2020-05-06",
        "2020-05-06 07:08:09",
        "true",
        "1.25",
    ]
    # A boolean among numbers must not become 1/0 (fastexcel's "coerce" mode would do that).
    assert data.get_column("number_or_flag").to_list() == ["1.5", "true", None, None, None, None]


def test_duration_column(tmp_path: Path) -> None:
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_string(0, 0, "spent")
        fmt = book.add_format({"num_format": "[h]:mm:ss"})
        sheet.write_datetime(1, 0, dt.timedelta(hours=255, minutes=10, seconds=10), fmt)

    data, _, _ = read_all(make_book(tmp_path / "d.xlsx", {"S": fill}))
    assert data.get_column("spent").to_list() == [dt.timedelta(hours=255, minutes=10, seconds=10)]


def test_formula_gives_cached_value(tmp_path: Path) -> None:
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["a", "b", "sum"])
        sheet.write_row(1, 0, [2, 3])
        sheet.write_formula(1, 2, "=A2+B2", None, 5)
        sheet.write_formula(2, 2, '="x"&"y"', None, "xy")

    data, _, _ = read_all(make_book(tmp_path / "f.xlsx", {"S": fill}))
    assert data.get_column("sum").to_list() == ["5", "xy"]
    assert data.get_column("a").to_list() == [2, None]


def test_whole_floats_become_int_but_huge_ones_stay_float(tmp_path: Path) -> None:
    rows: list[list[object]] = [["small", "huge"], [1.0, 1e19], [-0.0, 2.0]]
    data, _, _ = read_all(make_book(tmp_path / "n.xlsx", {"S": rows_writer(rows)}))
    assert data.schema["small"] == pl.Int64
    assert data.get_column("small").to_list() == [1, 0]
    assert data.schema["huge"] == pl.Float64


@pytest.mark.parametrize("writer", ["xlsxwriter", "openpyxl"])
def test_1904_date_system(tmp_path: Path, writer: str) -> None:
    path = tmp_path / f"d1904_{writer}.xlsx"
    if writer == "xlsxwriter":
        rows: list[list[object]] = [
            ["day", "stamp"],
            [dt.date(2021, 1, 1), dt.datetime(2021, 1, 1, 6)],
        ]
        make_book(path, {"S": rows_writer(rows)}, {"date_1904": True})
    else:
        book = openpyxl.Workbook()
        book.epoch = CALENDAR_MAC_1904
        sheet = book.active
        sheet.title = "S"
        sheet.append(["day", "stamp"])
        sheet.append([dt.date(2021, 1, 1), dt.datetime(2021, 1, 1, 6)])
        book.save(path)
    with zipfile.ZipFile(path) as archive:
        assert b'date1904="1"' in archive.read("xl/workbook.xml")
    data, _, _ = read_all(path)
    assert data.get_column("day").to_list() == [dt.date(2021, 1, 1)]
    assert data.get_column("stamp").to_list() == [dt.datetime(2021, 1, 1, 6)]


# --- rows, errors, header -----------------------------------------------------------------


def test_empty_rows_skipped_and_real_row_numbers(tmp_path: Path) -> None:
    rows: list[list[object]] = [["k", "v"], [1, "a"], [], [], [2, None], [None, ""], [3, "c"]]
    data, rejects, _ = read_all(make_book(tmp_path / "e.xlsx", {"Tab": rows_writer(rows)}))
    assert rejects is None
    assert data.select("k", "__row", "__sheet").rows() == [
        (1, 2, "Tab"),
        (2, 5, "Tab"),
        (3, 7, "Tab"),
    ]


def error_book(tmp_path: Path) -> Path:
    def fill(book: Any, sheet: Any) -> None:
        sheet.write_row(0, 0, ["id", "ratio", "look"])
        sheet.write_row(1, 0, [1, 0.5, "ok"])
        sheet.write_number(2, 0, 2)
        sheet.write_formula(2, 1, "=1/0", None, "#DIV/0!")
        sheet.write_formula(2, 2, "=NA()", None, "#N/A")
        sheet.write_row(3, 0, [3, 1.5, "#N/A"])  # the text "#N/A" is no error
        sheet.write_formula(5, 1, "=SQRT(-1)", None, "#NUM!")  # a row holding only an error

    return make_book(tmp_path / "err.xlsx", {"S": fill})


def test_error_cells_send_the_row_to_rejects(tmp_path: Path) -> None:
    data, rejects, result = read_all(error_book(tmp_path))
    assert data.select("id", "ratio", "look", "__row").rows() == [
        (1, 0.5, "ok", 2),
        (3, 1.5, "#N/A", 4),
    ]
    assert rejects is not None
    assert rejects.columns == ["id", "ratio", "look", "__row", "__sheet", "_error"]
    assert rejects.rows() == [
        (
            2,
            None,
            None,
            3,
            "S",
            "Excel error #DIV/0! in column 'ratio'; Excel error #N/A in column 'look'",
        ),
        (None, None, None, 6, "S", "Excel error #NUM! in column 'ratio'"),
    ]
    assert result.info.warnings == []


def test_header_row_skips_rows_above(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["Report title", None, "printed 2024"],
        [],
        ["name", "qty"],
        ["a", 1],
        [],
        ["b", 2],
    ]
    path = make_book(tmp_path / "h.xlsx", {"S": rows_writer(rows)})
    data, _, result = read_all(path, header_row=3)
    assert result.info.columns == ["name", "qty"]  # the title's column C has no header or data
    assert data.rows() == [("a", 1, 4, "S"), ("b", 2, 6, "S")]
    assert result.info.options.header_row == 3


def test_empty_first_row_with_default_header_row(tmp_path: Path) -> None:
    rows: list[list[object]] = [[], ["name", "qty"], ["a", 1]]
    data, _, result = read_all(make_book(tmp_path / "g.xlsx", {"S": rows_writer(rows)}))
    assert result.info.columns == ["column_1", "column_2"]
    assert data.rows() == [("name", "qty", 2, "S"), ("a", "1", 3, "S")]
    assert result.info.warnings == [
        "Sheet 'S', column A has no name; it is read as 'column_1'.",
        "Sheet 'S', column B has no name; it is read as 'column_2'.",
    ]


def test_header_names_stripped_filled_and_unique(tmp_path: Path) -> None:
    header: list[object] = [" name ", "name", None, "a_2", "a", "a", "__row", dt.date(2021, 3, 1)]
    rows: list[list[object]] = [header, [1, 2, 3, 4, 5, 6, 7, 8]]
    data, _, result = read_all(make_book(tmp_path / "n.xlsx", {"S": rows_writer(rows)}))
    assert result.info.columns == [
        "name",
        "name_2",
        "column_3",
        "a_2",
        "a",
        "a_3",
        "__row_2",
        "2021-03-01",
    ]
    assert data.row(0) == (1, 2, 3, 4, 5, 6, 7, 8, 2, "S")
    assert result.info.warnings == [
        "Sheet 'S', column B repeats the name 'name' of column A; it is read as 'name_2'.",
        "Sheet 'S', column C has no name; it is read as 'column_3'.",
        "Sheet 'S', column F repeats the name 'a' of column E; it is read as 'a_3'.",
        "Sheet 'S', column G is named '__row', a name Conveyor keeps for its own use; "
        "it is read as '__row_2'.",
    ]


def test_columns_start_where_the_data_starts(tmp_path: Path) -> None:
    rows: list[list[object]] = [[None, None, "x", None, "y"], [None, None, 1, 2, 3]]
    data, _, result = read_all(make_book(tmp_path / "c.xlsx", {"S": rows_writer(rows)}))
    assert result.info.columns == ["x", "column_4", "y"]
    assert data.rows() == [(1, 2, 3, 2, "S")]


# --- sheets ---------------------------------------------------------------------------------


def three_sheets(tmp_path: Path) -> Path:
    def chart(book: Any, sheet: Any) -> None:
        pass

    path = tmp_path / "three.xlsx"
    book = xlsxwriter.Workbook(str(path))
    graph = book.add_chart({"type": "line"})
    chart_sheet = book.add_chartsheet("Graph")
    one = book.add_worksheet("One")
    two = book.add_worksheet("Two")
    one.write_row(0, 0, ["id", "name"])
    one.write_row(1, 0, [1, "a"])
    one.write_row(2, 0, [2, "b"])
    two.write_row(0, 0, ["id", "city"])
    two.write_row(1, 0, [10, "Paris"])
    graph.add_series({"values": "=One!$A$2:$A$3"})
    chart_sheet.set_chart(graph)
    book.close()
    return path


def test_default_sheet_is_the_first_worksheet(tmp_path: Path) -> None:
    data, _, result = read_all(three_sheets(tmp_path))
    assert result.info.sheets == ["One"]
    assert result.info.options.sheet == "One"
    assert data.get_column("__sheet").to_list() == ["One", "One"]
    assert result.info.extra["workbook_sheets"] == ["Graph", "One", "Two"]


@pytest.mark.parametrize(("wanted", "expected"), [("Two", "Two"), ("two", "Two"), (2, "Two")])
def test_sheet_by_name_or_index(tmp_path: Path, wanted: str | int, expected: str) -> None:
    data, _, result = read_all(three_sheets(tmp_path), sheet=wanted)
    assert result.info.sheets == [expected]
    assert data.rows() == [(10, "Paris", 2, "Two")]


def test_every_sheet(tmp_path: Path) -> None:
    result = read(three_sheets(tmp_path), SourceOptions(sheet="*"))
    assert result.info.sheets == ["One", "Two"]
    assert result.info.columns == ["id", "name", "city"]
    assert result.info.extra["sheet_columns"] == {"One": ["id", "name"], "Two": ["id", "city"]}
    assert result.info.warnings == ["Sheet 'Graph' is a chart sheet (no cells); it is skipped."]
    batches = list(result.batches)
    assert [b.data.columns for b in batches] == [
        ["id", "name", "__row", "__sheet"],
        ["id", "city", "__row", "__sheet"],
    ]
    assert batches[1].data.rows() == [(10, "Paris", 2, "Two")]


@pytest.mark.parametrize(
    ("wanted", "problem"),
    [
        ("Missing", "has no sheet 'Missing'; its sheets are: 'Graph', 'One', 'Two'."),
        (7, "has no sheet sheet number 7 (0-based); its sheets are: 'Graph', 'One', 'Two'."),
        ("Graph", "sheet 'Graph' is a chart sheet and holds no cells"),
    ],
)
def test_bad_sheet_choice(tmp_path: Path, wanted: str | int, problem: str) -> None:
    with pytest.raises(SourceError, match=r"three\.xlsx") as caught:
        read(three_sheets(tmp_path), SourceOptions(sheet=wanted))
    assert problem in caught.value.problem


def test_empty_sheet_gives_no_batch(tmp_path: Path) -> None:
    path = make_book(tmp_path / "e.xlsx", {"Blank": rows_writer([])})
    data, rejects, result = read_all(path)
    assert (data.height, rejects, result.info.columns) == (0, None, [])
    assert result.info.warnings == ["Sheet 'Blank' has no data at or below row 1."]


def test_batches_and_position(tmp_path: Path) -> None:
    rows: list[list[object]] = [["n"]]
    rows += [[i] for i in range(1, 24)]
    path = make_book(tmp_path / "b.xlsx", {"S": rows_writer(rows)})
    _, _, batches = collect(read(path, SourceOptions(batch_size=10)))
    assert [b.data.height for b in batches] == [10, 10, 3]
    assert batches[2].data.get_column("__row").to_list() == [22, 23, 24]
    positions = [b.position for b in batches]
    assert positions == sorted(positions)
    assert positions[-1] == path.stat().st_size
    assert 0 < positions[0] < positions[-1]


def test_read_source_dispatches_xlsx(tmp_path: Path) -> None:
    path = make_book(tmp_path / "x.xlsx", {"S": rows_writer([["a"], [1]])})
    assert read_source(path).info.format == "xlsx"


# --- unreadable files -----------------------------------------------------------------------


def _valid_bytes(tmp_path: Path) -> bytes:
    return make_book(tmp_path / "ok.xlsx", {"S": rows_writer([["a"], [1]])}).read_bytes()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (lambda ok: b"", "is empty (0 bytes)"),
        (lambda ok: b"id,name\n1,a\n", "it is not a zip archive; is it a CSV or text file"),
        (lambda ok: ok[: len(ok) // 2], "is damaged or incomplete"),
        (
            lambda ok: (
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
                + b"\0" * 200
                + "EncryptedPackage".encode("utf-16-le")
            ),
            "is password-protected (encrypted)",
        ),
        (
            lambda ok: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 200,
            "old-style Excel 97-2003 (.xls)",
        ),
    ],
    ids=["empty", "csv-renamed", "truncated-zip", "encrypted", "xls"],
)
def test_unreadable_files(tmp_path: Path, content: Callable[[bytes], bytes], problem: str) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content(_valid_bytes(tmp_path)))
    with pytest.raises(SourceError) as caught:
        read(path, SourceOptions())
    assert caught.value.path == str(path)
    assert problem in caught.value.problem


def test_zip_that_is_no_workbook(tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(SourceError, match="is a zip archive but not an Excel workbook"):
        read(path, SourceOptions())


# --- rejects writer -------------------------------------------------------------------------


def typed_book(tmp_path: Path) -> Path:
    rows: list[list[object]] = [
        ["Export of 2024"],
        [],
        ["id", "when", "stamp", "amount", "ok", "note", "_error"],
        [1, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5), 1.5, True, "x", "old"],
        [2, dt.date(2024, 2, 3), dt.datetime(2024, 2, 3), 2.25, False, None, None],
    ]
    return make_book(
        tmp_path / "src.xlsx", {"Intro": rows_writer([["see next"]]), "Data": rows_writer(rows)}
    )


def test_rejects_round_trip(tmp_path: Path) -> None:
    options = SourceOptions(sheet="Data", header_row=3)
    source, _, result = read_all(typed_book(tmp_path), **options.model_dump())
    assert result.info.columns == ["id", "when", "stamp", "amount", "ok", "note", "_error"]
    sink = open_rejects(tmp_path / "rejects.xlsx", result.info)
    sink.write(source.with_columns(pl.Series("_error", ["bad id", "bad date"])))
    sink.close()
    back, rejects, again = read_all(tmp_path / "rejects.xlsx", **options.model_dump())
    assert rejects is None
    assert again.info.sheets == ["Data"]
    assert again.info.columns == ["id", "when", "stamp", "amount", "ok", "note", "_row", "_error"]
    assert back.select("id", "when", "stamp", "amount", "ok", "note").equals(
        source.select("id", "when", "stamp", "amount", "ok", "note")
    )
    assert back.get_column("_row").to_list() == [4, 5]
    assert back.get_column("_error").to_list() == ["bad id", "bad date"]
    assert back.get_column("__row").to_list() == [4, 5]  # header at row 3 again
    with zipfile.ZipFile(tmp_path / "rejects.xlsx") as archive:
        names = archive.read("xl/workbook.xml").decode()
    assert 'name="Data"' in names and 'name="Intro"' not in names


def test_rejects_of_rejects_keep_their_shape(tmp_path: Path) -> None:
    options = SourceOptions(sheet="Data", header_row=3)
    source, _, result = read_all(typed_book(tmp_path), **options.model_dump())
    first = open_rejects(tmp_path / "r1.xlsx", result.info)
    first.write(source.with_columns(pl.lit("e1").alias("_error")))
    first.close()
    again, _, info = read_all(tmp_path / "r1.xlsx", **options.model_dump())
    second = open_rejects(tmp_path / "r2.xlsx", info.info)
    second.write(again.with_columns(pl.lit("e2").alias("_error")))
    second.close()
    final, _, final_info = read_all(tmp_path / "r2.xlsx", **options.model_dump())
    assert final_info.info.columns == info.info.columns
    assert final.get_column("_error").to_list() == ["e2", "e2"]
    assert final.get_column("_row").to_list() == [4, 5]


def test_rejects_from_reader_errors_and_several_sheets(tmp_path: Path) -> None:
    result = read(three_sheets(tmp_path), SourceOptions(sheet="*"))
    frames = [b.data for b in result.batches]
    sink = open_rejects(tmp_path / "r.xlsx", result.info)
    for frame in reversed(frames):  # sheets may arrive in any order, rows interleaved
        sink.write(frame.with_columns(pl.lit("why").alias("_error")))
    sink.close()
    back = read(tmp_path / "r.xlsx", SourceOptions(sheet="*"))
    assert back.info.sheets == ["One", "Two"]
    assert back.info.extra["sheet_columns"] == {
        "One": ["id", "name", "_row", "_error"],
        "Two": ["id", "city", "_row", "_error"],
    }
    data, _, _ = collect(back)
    assert data.select("id", "name", "city", "_row", "__sheet").rows() == [
        (1, "a", None, 2, "One"),
        (2, "b", None, 3, "One"),
        (10, None, "Paris", 2, "Two"),
    ]


def test_rejects_of_error_rows(tmp_path: Path) -> None:
    _, rejects, result = read_all(error_book(tmp_path))
    assert rejects is not None
    sink = open_rejects(tmp_path / "r.xlsx", result.info)
    sink.write(rejects)
    sink.close()
    back, _, _ = read_all(tmp_path / "r.xlsx")
    assert back.select("id", "ratio", "look", "_row", "_error").rows() == [
        (
            2,
            None,
            None,
            3,
            "Excel error #DIV/0! in column 'ratio'; Excel error #N/A in column 'look'",
        ),
        (None, None, None, 6, "Excel error #NUM! in column 'ratio'"),
    ]


def test_empty_sink_writes_the_header(tmp_path: Path) -> None:
    _, _, result = read_all(typed_book(tmp_path), sheet="Data", header_row=3)
    open_rejects(tmp_path / "r.xlsx", result.info).close()
    data, _, back = read_all(tmp_path / "r.xlsx", sheet="Data", header_row=3)
    assert data.height == 0
    assert back.info.columns == ["id", "when", "stamp", "amount", "ok", "note", "_row", "_error"]


def test_sheet_index_still_finds_the_sheet(tmp_path: Path) -> None:
    _, _, result = read_all(three_sheets(tmp_path), sheet=2)
    sink = open_rejects(tmp_path / "r.xlsx", result.info)
    sink.write(pl.DataFrame({"id": [10], "city": ["Paris"], "__row": [2], "_error": ["x"]}))
    sink.close()
    data, _, back = read_all(tmp_path / "r.xlsx", sheet=2)
    assert back.info.sheets == ["Two"]
    assert data.select("id", "city", "_row", "_error").rows() == [(10, "Paris", 2, "x")]


def test_awkward_values_are_written_without_loss(tmp_path: Path) -> None:
    _, _, result = read_all(typed_book(tmp_path), sheet="Data", header_row=3)
    frame = pl.DataFrame(
        {
            "id": [2**60, None],
            "note": ["=1+1", "x" * 40_000],
            "when": [dt.date(1850, 5, 6), None],
            "stamp": [dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))), None],
            "amount": [float("nan"), None],
            "__row": [9, 10],
            "__sheet": [None, "Data"],
            "_error": ["e", None],
        }
    )
    sink = open_rejects(tmp_path / "r.xlsx", result.info)
    sink.write(frame)
    sink.close()
    data, _, _ = read_all(tmp_path / "r.xlsx", sheet="Data", header_row=3)
    assert data.get_column("id").to_list() == [str(2**60), None]  # exact, as text
    assert data.get_column("note").to_list() == ["=1+1", "x" * 32_767]
    assert data.get_column("when").to_list() == ["1850-05-06", None]
    assert data.get_column("stamp").to_list() == [dt.datetime(2024, 1, 1, 10), None]
    assert data.get_column("amount").to_list() == ["nan", None]
    assert data.get_column("_error").to_list() == [
        "e",
        "column 'note' was cut to 32767 characters (Excel's limit)",
    ]


def test_1904_flag_followed_by_an_x14_workbook_pr(tmp_path: Path) -> None:
    # Excel 2016 for Mac adds <x14:workbookPr> (no date1904) after the real one; calamine
    # takes the last one, so the reader corrects its dates by the 1,462 days between systems.
    rows: list[list[object]] = [["day", "stamp"], [dt.date(2021, 1, 1), dt.datetime(2021, 1, 1, 6)]]
    plain = make_book(tmp_path / "plain.xlsx", {"S": rows_writer(rows)}, {"date_1904": True})
    path = tmp_path / "mac.xlsx"
    extension = (
        '<extLst><ext uri="{79F54976-1DA5-4618-B147-4CDE4B953A38}" '
        'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        '<x14:workbookPr defaultImageDpi="32767"/></ext></extLst></workbook>'
    )
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/workbook.xml":
                content = content.replace(b"</workbook>", extension.encode())
            target.writestr(item, content)
    data, _, _ = read_all(path)
    assert data.get_column("day").to_list() == [dt.date(2021, 1, 1)]
    assert data.get_column("stamp").to_list() == [dt.datetime(2021, 1, 1, 6)]
