"""Peer suites: calamine's XLSX fixtures and csvkit's XLSX examples.

calamine's expected values (``calamine/EXPECTED.md``) are cells (row, col), 0-based from the
start of the used range, with no header. Conveyor always reads a header row (``header_row``,
default 1), so calamine's first row is our header (its cells are column names) and calamine's row
r is our data row with ``__row`` = r + 1 + (rows above the used range). The tests below say
where each expected cell lands. Deviations are the ``test_deviation_*`` tests, each with its
reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from conveyor.errors import SourceError
from conveyor.formats.base import SourceOptions
from conveyor.formats.xlsx import read
from tests.helpers import PEER

PEERS = PEER
CALAMINE = PEERS / "calamine" / "tests"
CSVKIT = PEERS / "csvkit-examples" / "examples"


def read_file(
    path: Path, **options: object
) -> tuple[list[str], pl.DataFrame, pl.DataFrame | None, list[str]]:
    result = read(path, SourceOptions.model_validate(options))
    batches = list(result.batches)
    data = pl.concat([b.data for b in batches], how="diagonal") if batches else pl.DataFrame()
    rejects = [b.rejects for b in batches if b.rejects is not None]
    joined = pl.concat(rejects, how="diagonal") if rejects else None
    return result.info.columns, data, joined, result.info.warnings


def rows(data: pl.DataFrame, *columns: str) -> list[tuple[object, ...]]:
    return data.select(*columns).rows()


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["date.xlsx", "date_1904.xlsx"])
def test_dates_in_both_systems(name: str) -> None:
    # (0,0) = 2021-01-01 (serial 44197 in 1900, 42735 in 1904) is the header cell of column A.
    # A reader ignoring date1904 would give 2016-12-31 here.
    columns, data, _, _ = read_file(CALAMINE / name)
    assert columns == ["2021-01-01", "15"]
    # (1,0) is the next day; the column also holds a duration, so it is text (mixed types).
    assert rows(data, "2021-01-01", "15", "__row")[0] == ("2021-01-02", 16, 2)


@pytest.mark.parametrize(
    ("name", "shown"),
    [("date.xlsx", "1900-01-10 15:10:10"), ("date_1904.xlsx", "1904-01-11 15:10:10")],
)
def test_deviation_duration_in_a_mixed_column(name: str, shown: str) -> None:
    """(2,0) is 255:10:10. Deviation: the column mixes dates and a duration, so it is read as
    text, and calamine renders the duration cell as a date-time from the epoch. A column of
    durations only is read as pl.Duration (see test_xlsx.py::test_duration_column)."""
    _, data, _, _ = read_file(CALAMINE / name)
    assert rows(data, "2021-01-01", "__row")[1] == (shown, 3)


def test_iso_date_cells_are_their_text() -> None:
    # t="d" cells: calamine (and EXPECTED.md) give the ISO strings; mapping casts them.
    columns, data, _, _ = read_file(CALAMINE / "date_iso.xlsx")
    assert columns == ["2021-01-01"]
    assert data.get_column("2021-01-01").to_list()[:2] == ["2021-01-01T10:10:10", "10:10:10"]


def test_dates_with_quoted_number_formats() -> None:
    columns, data, _, _ = read_file(CALAMINE / "date_quoted_format.xlsx")
    assert columns == ["2021-01-01"]  # A1
    assert data.schema["2021-01-01"] == pl.Date
    assert data.get_column("2021-01-01").to_list() == [dt.date(2021, 1, 1)] * 3  # A2..A4


# --- formulas -------------------------------------------------------------------------------


def test_formula_cached_values() -> None:
    columns, data, _, warnings = read_file(CALAMINE / "formula.issue.xlsx")
    # (0,0) = 23 and (0,2) = 23 are headers; the second one is renamed.
    assert columns == ["23", "23_2", "column_7", "column_10"]
    # (12,6) = 2 -> column G, sheet row 13; (13,9) = "US" -> column J, sheet row 14.
    assert rows(data, "column_7", "column_10", "__row") == [(2, None, 13), (None, "US", 14)]
    assert warnings[0] == (
        "Sheet 'Sheet1', column C repeats the name '23' of column A; it is read as '23_2'."
    )


@pytest.mark.parametrize(
    ("name", "sheet", "expected"),
    [
        ("shared_formula_simple.xlsx", "Sheet1", [(2, 4), (3, 6)]),
        ("shared_formula_reversed.xlsx", "Sheet2", [(2, 2), (3, 3), (4, 4), (5, 5)]),
        ("issue_567_absolute_shared.xlsx", "Sheet1", [(0, 0), (0, 0)]),
    ],
)
def test_shared_formula_cached_values(
    name: str, sheet: str, expected: list[tuple[int, int]]
) -> None:
    columns, data, _, _ = read_file(CALAMINE / name, sheet=sheet)
    assert rows(data, columns[0], columns[1]) == expected


def test_shared_formula_multi_axis() -> None:
    columns, data, _, _ = read_file(CALAMINE / "issue_565_multi_axis_shared.xlsx")
    assert columns == ["0", "0_2", "0_3", "0_4", "0_5", "0_6", "0_7", "0_8", "0_9"]
    assert rows(data, "0", "0_5", "__row") == [(0, 0, 2), (None, 0, 3), (None, 0, 4)]


# --- sheets and layout ----------------------------------------------------------------------


def test_any_sheets() -> None:
    result = read(CALAMINE / "any_sheets.xlsx", SourceOptions(sheet="*"))
    assert result.info.sheets == ["Visible", "Hidden", "VeryHidden"]
    assert result.info.warnings[0] == "Sheet 'Chart' is a chart sheet (no cells); it is skipped."
    with pytest.raises(SourceError, match="'Chart' is a chart sheet"):
        read(CALAMINE / "any_sheets.xlsx", SourceOptions(sheet="Chart"))


def test_issues_sheets() -> None:
    # issue2 = [[1,"a"],[2,"b"],[3,"c"]]: row 0 is the header.
    columns, data, _, _ = read_file(CALAMINE / "issues.xlsx", sheet="issue2")
    assert (columns, rows(data, "1", "a")) == (["1", "a"], [(2, "b"), (3, "c")])
    # issue5 = [[0.5]]: a header only.
    columns, data, _, _ = read_file(CALAMINE / "issues.xlsx", sheet="issue5")
    assert (columns, data.height) == (["0.5"], 0)
    # issue6 = [[1],[2],["ab"],[false]]: mixed types, so text.
    columns, data, _, _ = read_file(CALAMINE / "issues.xlsx", sheet="issue6")
    assert data.get_column("1").to_list() == ["2", "ab", "false"]


def test_empty_sheet() -> None:
    columns, data, rejects, warnings = read_file(CALAMINE / "empty_sheet.xlsx")
    assert (columns, data.height, rejects) == ([], 0, None)
    assert warnings == ["Sheet 'Sheet1' has no data at or below row 1."]


def test_header_row_below_blank_rows() -> None:
    columns, data, _, _ = read_file(CALAMINE / "header-row.xlsx", header_row=9)
    assert columns == ["Columns", "Column A", "Column B", "Column C"]
    assert data.rows() == [("put data here", 1, 2, 3, 10, "Sheet1")]


def test_merged_cells_keep_their_top_left_value() -> None:
    # A1:B1, A2:A4 and B2:D4 are merged: only each region's first cell holds the value.
    columns, data, _, _ = read_file(CALAMINE / "merge_cells.xlsx")
    assert columns == ["Row Merge", "column_2", "Not Merged"]
    assert data.rows() == [("Column Merge", "Chunk Merged", None, 2, "Sheet1")]


def test_huge_declared_extent_stays_small() -> None:
    # issue_174 declares A1:XFD1048576; read it in a fresh process and bound its peak memory.
    probe = (
        "import resource, json\n"
        "from pathlib import Path\n"
        "from conveyor.formats.xlsx import read\n"
        "from conveyor.formats.base import SourceOptions\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"result = read(Path({str(CALAMINE / 'issue_174.xlsx')!r}), SourceOptions())\n"
        "rows = sum(b.data.height for b in result.batches)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps([rows, len(result.info.columns), (after - before) // 1024]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    data_rows, columns, grown_mb = json.loads(done.stdout.strip().splitlines()[-1])
    assert (data_rows, columns) == (1, 11)
    assert grown_mb < 200


# --- strings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("has_x000D_.xlsx", "ABC\r\nDEF"),
        ("has_x000D_inline.xlsx", "ABC\r\nDEF"),
        ("encoded_entities.xlsx", "&"),
        ("rph.xlsx", "課きく　毛こ"),
        ("issue_419.xlsx", "Hello"),
    ],
)
def test_string_decoding(name: str, header: str) -> None:
    # (0,0) of each file is our header.
    columns, _, _, _ = read_file(CALAMINE / name)
    assert columns == [header]


def test_deviation_empty_shared_string_row_is_skipped() -> None:
    """Sheet1 = [["abc"],[""]]. Deviation: a row whose only cell is an empty string is treated as
    an entirely empty row and skipped (an empty string carries no data to import)."""
    columns, data, rejects, _ = read_file(CALAMINE / "empty_shared_string.xlsx")
    assert (columns, data.height, rejects) == (["abc"], 0, None)


def test_empty_shared_string_value() -> None:
    columns, data, _, _ = read_file(CALAMINE / "empty_shared_string_value.xlsx")
    assert columns == ["Name", "City", "Status"]
    assert rows(data, *columns) == [("Alice", None, "Active"), (None, "Berlin", None)]


def test_empty_style_attribute() -> None:
    columns, data, _, _ = read_file(CALAMINE / "empty_s_attribute.xlsx")
    assert columns == ["Name", "Value"]
    assert rows(data, *columns) == [("John", 1), ("Sophia", 2), ("Peter", 3), ("Sam", 4)]


def test_inline_string_with_cdata() -> None:
    columns, data, _, _ = read_file(CALAMINE / "inlineStr_cdata.xlsx")
    assert columns == ["Hello CDATA", "World"]
    assert rows(data, *columns) == [("12345", "NormalText")]  # "12345" stays text


def test_inline_string_with_extra_value_node() -> None:
    columns, data, _, _ = read_file(CALAMINE / "inlineStr_with_value.xlsx")
    assert columns[:4] == ["NN", "Hierarchy", "Outline Number", "ID"]
    assert rows(data, "NN", "Hierarchy", "Outline Number", "ID") == [(1, "+", "1.", "RQ11610")]


def test_whitespace_follows_calamine() -> None:
    # Decision: keep calamine's rule (<t> text trimmed unless xml:space="preserve"); header
    # names are stripped besides. The preserved " \t\n" header of C1 strips to empty and column
    # C holds no data, so it is dropped.
    columns, data, _, _ = read_file(CALAMINE / "whitespace_trim.xlsx", sheet="inlineStr")
    assert columns == ["trimmed value", "value with tabs", "clean text"]
    assert rows(data, "trimmed value", "value with tabs") == [
        ("line1\nline2", "  line1\nline2  "),
        ("日期 时间", None),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "richtext-namespaced.xlsx",
            ["inline string\nLine 2\nLine 3", "shared string\nLine 2\nLine 3"],
        ),
        ("richtext-after-plain.xlsx", ["abcd", "abcd_2", "abcd_3", "abcd_4"]),
    ],
)
def test_rich_text_runs_are_joined(name: str, expected: list[str]) -> None:
    columns, data, _, _ = read_file(CALAMINE / name)
    assert columns == expected
    if name == "richtext-after-plain.xlsx":
        assert data.row(0)[:4] == ("tvalrval1rval2", "rval1rval2", "rval1rval2", "rval1rval2")


# --- package layouts ------------------------------------------------------------------------


def test_nonstandard_namespace_prefix() -> None:
    columns, data, _, _ = read_file(CALAMINE / "nonstandard-xml-ns-prefix.xlsx")
    assert columns == ["a", "b"]
    assert rows(data, "a", "b", "__row") == [(1, 3, 2), (2, 4, 3)]


def test_backslash_part_names() -> None:
    columns, data, _, _ = read_file(CALAMINE / "issue_530.xlsx", header_row=4)
    assert columns[:3] == ["领域", "平台", "小微"]
    assert rows(data, "领域", "总人数", "__row") == [("集团IT平台", "9", 5)]


def test_minimal_package_and_strict_paths() -> None:
    columns, data, _, _ = read_file(CALAMINE / "minimal_package.xlsx", header_row=3)
    assert columns[:3] == ["BKG_NUM", "BKG_DT", "BKG_TM"]
    assert data.height == 193
    columns, data, _, _ = read_file(CALAMINE / "strict_iso_paths.xlsx")
    assert columns[:2] == ["Item", "Thickness"]
    assert rows(data, "Item", "Thickness")[0] == ("150-031260-001_B", 1.5)


# --- errors and unreadable files ------------------------------------------------------------


def test_error_cells() -> None:
    columns, data, rejects, _ = read_file(CALAMINE / "errors.xlsx", sheet="Feuil1")
    assert (columns, data.height) == (["column_1"], 0)
    assert rejects is not None
    assert rows(rejects, "column_1", "__row", "_error") == [
        (None, 2, "Excel error #NAME? in column 'column_1'"),
        (None, 3, "Excel error #VALUE! in column 'column_1'"),
        (None, 4, "Excel error #NULL! in column 'column_1'"),
        (None, 5, "Excel error #REF! in column 'column_1'"),
        (None, 6, "Excel error #NUM! in column 'column_1'"),
        (None, 7, "Excel error #N/A in column 'column_1'"),
    ]


def test_deviation_error_in_the_header_row() -> None:
    """(0,0) = #DIV/0!. Deviation: it is the header cell, which names a column rather than
    holding data; an error there reads as an empty header (column_1), not as a reject."""
    columns, _, _, warnings = read_file(CALAMINE / "errors.xlsx", sheet="Feuil1")
    assert columns == ["column_1"]
    assert warnings == ["Sheet 'Feuil1', column A has no name; it is read as 'column_1'."]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("pass_protected.xlsx", "is password-protected (encrypted)"),
        ("issue252.xlsx", "is damaged"),
    ],
)
def test_unreadable(name: str, problem: str) -> None:
    with pytest.raises(SourceError) as caught:
        read(CALAMINE / name, SourceOptions())
    assert caught.value.path == str(CALAMINE / name)
    assert problem in caught.value.problem


def test_in_cell_picture_is_no_error() -> None:
    # Excel stores an in-cell picture as #VALUE! with a rich-value index (vm).
    _, data, rejects, warnings = read_file(CALAMINE / "picture_richdata.xlsx")
    assert (data.height, rejects) == (0, None)
    assert warnings[0] == (
        "Sheet 'Sheet1': 1 cell(s) hold a picture, not a value (first: B2); they are read as empty."
    )


UNREADABLE = {"pass_protected.xlsx", "issue252.xlsx"}


@pytest.mark.parametrize(
    "path",
    sorted(p for p in CALAMINE.glob("*.xls*") if p.name not in UNREADABLE),
    ids=lambda p: p.name,
)
def test_every_fixture_reads_all_sheets(path: Path) -> None:
    result = read(path, SourceOptions(sheet="*"))
    batches = list(result.batches)
    for batch in batches:
        assert batch.data.columns[-2:] == ["__row", "__sheet"]
        assert batch.data.schema["__row"] == pl.Int64
    assert all(b.position <= result.info.size for b in batches)


# --- csvkit ---------------------------------------------------------------------------------


def csvkit_text(value: object) -> str:
    """A value as csvkit renders it after type inference."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def expected_csv(name: str) -> list[list[str]]:
    with (CSVKIT / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def as_csv(columns: list[str], data: pl.DataFrame) -> list[list[str]]:
    return [columns] + [[csvkit_text(v) for v in row] for row in data.select(columns).rows()]


def test_deviation_csvkit_names_an_empty_header_by_letter() -> None:
    """csvkit names the header-less column H "h"; Conveyor names it "column_8" (as the brief
    asks: column_N, N its position in the sheet). The values compare in the tests below."""
    columns, _, _, _ = read_file(CSVKIT / "test.xlsx")
    assert (columns[-1], expected_csv("testxlsx_converted.csv")[0][-1]) == ("column_8", "h")


def _compare(columns: list[str], data: pl.DataFrame, expected: str) -> None:
    want = expected_csv(expected)
    got = as_csv(columns, data)
    assert got[0][:-1] == want[0][:-1]
    assert got[1:] == want[1:]


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("test.xlsx", {}),
        ("sheets.xlsx", {"sheet": "data"}),
        ("test_skip_lines.xlsx", {"header_row": 4}),
    ],
)
def test_csvkit_conversions(name: str, options: dict[str, object]) -> None:
    columns, data, rejects, _ = read_file(CSVKIT / name, **options)
    assert rejects is None
    _compare(columns, data, "testxlsx_converted.csv")
    assert data.schema["date"] == pl.Date and data.schema["integer"] == pl.Int64


def test_csvkit_unicode_sheet() -> None:
    columns, data, _, _ = read_file(CSVKIT / "sheets.xlsx", sheet="ʤ")
    assert as_csv(columns, data) == expected_csv("testxlsx_unicode_converted.csv")
