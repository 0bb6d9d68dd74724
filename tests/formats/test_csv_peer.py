"""The CSV reader against outside material: csv-spectrum and csvkit's examples.

See ../shared/peer-suites/README.md section 1 and csvkit-examples/EXPECTED.md. Deviations from
csvkit's expectations each have a named test below with the reason in a comment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conveyor.errors import SourceError
from conveyor.formats import read_source
from conveyor.formats.base import Batch, ReadResult, SourceOptions

PEER = Path(__file__).resolve().parents[3] / "shared" / "peer-suites"
SPECTRUM = PEER / "csv-spectrum"
CSVKIT = PEER / "csvkit-examples" / "examples"

SPECTRUM_CASES = [
    "comma_in_quotes",
    "empty",
    "empty_crlf",
    "escaped_quotes",
    "json",
    "newlines",
    "newlines_crlf",
    "quotes_and_newlines",
    "simple",
    "simple_crlf",
    "utf8",
]


def load(path: Path, **options: Any) -> tuple[ReadResult, list[Batch]]:
    result = read_source(path, SourceOptions(**options))
    return result, list(result.batches)


def records(batches: list[Batch]) -> list[dict[str, Any]]:
    return [row for b in batches for row in b.data.drop("__row").to_dicts()]


def table(path: Path, **options: Any) -> list[list[str]]:
    """Header and rows as lists of strings, csvkit's way of stating expectations."""
    result, batches = load(path, **options)
    assert all(b.rejects is None for b in batches)
    return [result.info.columns] + [list(r.values()) for r in records(batches)]


def test_the_peer_suites_are_present() -> None:
    assert sorted(p.stem for p in (SPECTRUM / "csvs").glob("*.csv")) == sorted(
        [*SPECTRUM_CASES, "location_coordinates"]
    )


# --- csv-spectrum -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SPECTRUM_CASES)
def test_csv_spectrum(name: str) -> None:
    expected = json.loads((SPECTRUM / "json" / f"{name}.json").read_text(encoding="utf-8"))
    result, batches = load(SPECTRUM / "csvs" / f"{name}.csv")
    assert records(batches) == expected
    assert result.info.columns == list(expected[0])
    assert all(b.rejects is None for b in batches)


def test_csv_spectrum_location_coordinates_keeps_bare_quotes() -> None:
    # Upstream's JSON does not match its CSV (README section 1): only "reads without error and
    # keeps the quote characters" is checked.
    _, batches = load(SPECTRUM / "csvs" / "location_coordinates.csv")
    [row] = records(batches)
    assert row["Location Coordinates"] == "37\ufffd36'37.8\"N 121\ufffd2'17.9\"W"
    assert row["Contact Phone Number"] == "2095257564"


# --- csvkit examples: encodings ---------------------------------------------------------------

ABC_UNICODE = [["a", "b", "c"], ["1", "2", "3"], ["4", "5", "ʤ"]]


@pytest.mark.parametrize(
    ("name", "options", "encoding", "expected"),
    [
        ("test_latin1.csv", {"encoding": "latin1"}, "latin1", [*ABC_UNICODE[:2], ["4", "5", "©"]]),
        # Undeclared, the byte 0xA9 is not UTF-8, so the cp1252 fallback applies (© either way).
        ("test_latin1.csv", {}, "cp1252", [*ABC_UNICODE[:2], ["4", "5", "©"]]),
        ("test_utf8.csv", {}, "utf-8", [["foo", "bar", "baz"], *ABC_UNICODE[1:]]),
        ("test_utf8_bom.csv", {}, "utf-8-sig", [["foo", "bar", "baz"], *ABC_UNICODE[1:]]),
        ("test_utf16_big.csv", {}, "utf-16", ABC_UNICODE),
        ("test_utf16_little.csv", {}, "utf-16", ABC_UNICODE),
    ],
)
def test_csvkit_encodings(
    name: str, options: dict[str, str], encoding: str, expected: list[list[str]]
) -> None:
    assert table(CSVKIT / name, **options) == expected
    assert read_source(CSVKIT / name, SourceOptions(**options)).info.encoding == encoding


# --- csvkit examples: dialect and structure ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("optional_quote_characters.csv", {}, [["a", "b", "c"], ["1", "2", "3"]]),
        ("null_byte.csv", {}, [["a", "b", "c"], ["\x00", "2", "3"]]),
        ("sniff_limit.csv", {}, [["a", "b", "c"], ["1", "2", "3"]]),
        # csvkit's --snifflimit 0: a declared comma gives one column "a;b;c".
        ("sniff_limit.csv", {"delimiter": ","}, [["a;b;c"], ["1;2;3"]]),
        ("dummy.tsv", {}, [["a", "b", "c"], ["1", "2", "3"]]),
        ("dummy.tsv", {"delimiter": "\t"}, [["a", "b", "c"], ["1", "2", "3"]]),
        ("test_skip_lines.csv", {"header_row": 4}, [["a", "b", "c"], ["1", "2", "3"]]),
    ],
)
def test_csvkit_dialects(name: str, options: dict[str, Any], expected: list[list[str]]) -> None:
    assert table(CSVKIT / name, **options) == expected


def test_sniffed_delimiters_are_recorded() -> None:
    assert read_source(CSVKIT / "sniff_limit.csv").info.delimiter == ";"
    assert read_source(CSVKIT / "dummy.tsv").info.delimiter == "\t"


@pytest.mark.parametrize(
    ("name", "options"),
    [("dummy.tsv", {}), ("test_skip_lines.csv", {"header_row": 4})],
)
def test_csvkit_inputs_equal_dummy_csv(name: str, options: dict[str, Any]) -> None:
    assert table(CSVKIT / name, **options) == table(CSVKIT / "dummy.csv")


def test_csvkit_skip_lines_row_numbers_are_physical_lines() -> None:
    _, batches = load(CSVKIT / "test_skip_lines.csv", header_row=4)
    assert batches[0].data["__row"].to_list() == [5]


def test_csvkit_mac_newlines() -> None:
    # Deviation: EXPECTED.md gives "Once upon\na time" (csvkit's output rewrites the line break);
    # the reader keeps the CR that the quoted field holds in the file, as it keeps CRLF in
    # csv-spectrum's newlines_crlf.
    assert table(CSVKIT / "mac_newlines.csv") == [
        ["a", "b", "c"],
        ["1", "2", "3"],
        ["Once upon\ra time", "5", "6"],
    ]


def test_csvkit_bad_csv_rejects_ragged_rows_and_keeps_the_good_one() -> None:
    # csvkit numbers the errors 1 and 2 (data rows); __row is the physical line (2 and 3),
    # matching "header is line 1" everywhere else in Conveyor.
    _, batches = load(CSVKIT / "bad.csv")
    assert [row for b in batches for row in b.data.rows()] == [
        ("0", "mixed types.... uh oh", "17", 4)
    ]
    rejects = batches[0].rejects
    assert rejects is not None
    assert rejects.rows() == [
        (
            "1",
            "27",
            "",
            2,
            'row has 4 fields but the header has 3; extra values: "I\'m too long!"',
        ),
        (
            "",
            "I'm too short!",
            None,
            3,
            "row has 2 fields but the header has 3; no values for: 'column_c'",
        ),
    ]


def test_csvkit_header_newline() -> None:
    result, batches = load(CSVKIT / "test_header_newline.csv")
    assert result.info.columns == [
        "\t\n\x0b\x0c\r start \t\n\x0b\x0c\r end \t\n\x0b\x0c\r",
        "b",
        "c",
    ]
    # The quoted header spans seven physical lines (\n and \r each end one), so d,e,f is line 8.
    assert [row for b in batches for row in b.data.rows()] == [("d", "e", "f", 8)]


def test_csvkit_empty_csv() -> None:
    with pytest.raises(SourceError) as err:
        read_source(CSVKIT / "empty.csv")
    assert str(err.value) == f"{CSVKIT / 'empty.csv'}: is empty: no header row"


# Every other CSV in the examples reads without error; ragged ones put rows in rejects.
OTHER_CSVKIT = sorted(p.name for p in CSVKIT.glob("*.csv") if p.name != "empty.csv")


@pytest.mark.parametrize("name", OTHER_CSVKIT)
def test_every_csvkit_csv_reads_and_loses_no_row(name: str) -> None:
    path = CSVKIT / name
    result, batches = load(path)
    kept = sum(b.data.height for b in batches)
    refused = sum(0 if b.rejects is None else b.rejects.height for b in batches)
    raw = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    non_blank = [ln for ln in raw.split(b"\n") if ln]
    if b'"' not in raw:  # without quotes every non-blank line past the header is one record
        assert kept + refused == len(non_blank) - 1, result.info.columns
