"""Unit tests for the streaming CSV reader (small files in tmp_path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from conveyor.errors import ConfigError, SourceError
from conveyor.formats import read_source
from conveyor.formats.base import Batch, ReadResult, SourceOptions
from conveyor.formats.csv import read
from conveyor.formats.csv_detect import SAMPLE_BYTES, name_columns, sniff_delimiter
from tests.formats.support import data_rows, load_with, reject_rows, write_file


def write(tmp_path: Path, data: bytes, name: str = "src.csv") -> Path:
    return write_file(tmp_path, name, data)


def load(path: Path, **options: Any) -> tuple[ReadResult, list[Batch]]:
    return load_with(read, path, **options)


# --- basic shape and batching ---------------------------------------------------------------


def test_simple_file_columns_dtypes_and_row_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, b"id,name\n1,Ann\n2,Bob\n")
    result, batches = load(path)
    assert result.info.columns == ["id", "name"]
    assert result.info.format == "csv"
    assert result.info.size == 20
    assert len(batches) == 1
    assert batches[0].data.schema == pl.Schema(
        {"id": pl.String, "name": pl.String, "__row": pl.Int64}
    )
    assert data_rows(batches) == [("1", "Ann", 2), ("2", "Bob", 3)]
    assert batches[0].rejects is None
    assert batches[0].position == 20


def test_batches_hold_at_most_batch_size_rows(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\n" + b"".join(b"%d\n" % i for i in range(5)))
    _, batches = load(path, batch_size=2)
    assert [b.data.height for b in batches] == [2, 2, 1]
    assert [b.data["__row"].to_list() for b in batches] == [[2, 3], [4, 5], [6]]
    positions = [b.position for b in batches]
    assert positions == sorted(positions)
    assert positions[-1] == path.stat().st_size


def test_rejects_count_toward_the_batch_size(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,b\n1,2\n3\n4,5\n6\n7,8\n")
    _, batches = load(path, batch_size=2)
    assert [(b.data.height, 0 if b.rejects is None else b.rejects.height) for b in batches] == [
        (1, 1),
        (1, 1),
        (1, 0),
    ]


def test_options_are_resolved_in_info_and_not_mutated(tmp_path: Path) -> None:
    path = write(tmp_path, b"a;b\n1;2\n")
    options = SourceOptions()
    result = read(path, options)
    assert options.encoding is None and options.delimiter is None
    assert result.info.options.encoding == "utf-8"
    assert result.info.options.delimiter == ";"
    assert result.info.options.format == "csv"
    assert result.info.encoding == "utf-8"
    assert result.info.delimiter == ";"


def test_read_source_dispatches_csv_and_tsv(tmp_path: Path) -> None:
    csv_path = write(tmp_path, b"a,b\n1,2\n", "x.csv")
    tsv_path = write(tmp_path, b"a\tb\n1\t2\n", "x.tsv")
    for path in (csv_path, tsv_path):
        result = read_source(path)
        assert result.info.columns == ["a", "b"]
        assert data_rows(list(result.batches)) == [("1", "2", 2)]


def test_abandoned_iteration_closes_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\n1\n2\n3\n")
    result = read(path, SourceOptions(batch_size=1))
    first = next(result.batches)
    assert first.data["a"].to_list() == ["1"]
    result.batches.close()  # type: ignore[attr-defined]


# --- encodings -------------------------------------------------------------------------------


def test_utf8_bom_gives_utf8_sig_and_a_clean_header(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffnom,ville\nZoé,Orléans\n".encode())
    result, batches = load(path)
    assert result.info.encoding == "utf-8-sig"
    assert result.info.columns == ["nom", "ville"]
    assert result.info.extra["bom"] is True
    assert data_rows(batches) == [("Zoé", "Orléans", 2)]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path: Path, codec: str) -> None:
    path = write(tmp_path, "\ufeffa,b\r\n1,ʤ\r\n".encode(codec))
    result, batches = load(path)
    assert result.info.encoding == "utf-16"
    assert result.info.extra["byte_order"] == ("little" if codec.endswith("le") else "big")
    assert result.info.columns == ["a", "b"]
    assert data_rows(batches) == [("1", "ʤ", 2)]


def test_utf8_without_bom_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path, "a\nœuvre\n".encode())
    result, batches = load(path)
    assert result.info.encoding == "utf-8"
    assert data_rows(batches) == [("œuvre", 2)]


def test_cp1252_fallback(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n€5,café\n".encode("cp1252"))
    result, batches = load(path)
    assert result.info.encoding == "cp1252"
    assert data_rows(batches) == [("€5", "café", 2)]


def test_latin1_fallback_for_bytes_cp1252_leaves_undefined(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\n\x81\xe9\n")
    result, batches = load(path)
    assert result.info.encoding == "latin-1"
    assert data_rows(batches) == [("\x81é", 2)]


def test_declared_encoding_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "a\ncafé\n".encode())  # valid UTF-8, read as declared
    result, batches = load(path, encoding="latin-1")
    assert result.info.encoding == "latin-1"
    assert data_rows(batches) == [("cafÃ©", 2)]


def test_declared_utf8_skips_a_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffa,b\n1,2\n".encode())
    result, batches = load(path, encoding="utf-8")
    assert result.info.columns == ["a", "b"]
    assert result.info.extra["bom"] is True
    assert data_rows(batches) == [("1", "2", 2)]


def test_multibyte_char_cut_by_the_sample_edge_still_detects_utf8(tmp_path: Path) -> None:
    line = b"x" * 99 + b"\n"
    body = b"a\n" + line * ((SAMPLE_BYTES - 2) // 100)
    pad = SAMPLE_BYTES - len(body) - 1
    body += b"y" * pad + "é\n".encode()  # "é" is 2 bytes: the first is the sample's last byte
    assert body[SAMPLE_BYTES - 1 : SAMPLE_BYTES + 1] == "é".encode()
    path = write(tmp_path, body)
    result, batches = load(path)
    assert result.info.encoding == "utf-8"
    assert data_rows(batches)[-1][0] == "y" * pad + "é"


def test_late_utf8_error_names_file_line_and_fix(tmp_path: Path) -> None:
    body = b"a,b\n" + b"1,two\r\n" * 200_000 + b"2,caf\xe9\n"  # 1.4 MB: past the sample
    path = write(tmp_path, body)
    result = read(path, SourceOptions())
    assert result.info.encoding == "utf-8"
    with pytest.raises(SourceError) as err:
        list(result.batches)
    assert str(err.value) == (
        f"{path}: line 200002 (byte {len(body) - 2}) cannot be decoded as utf-8: "
        "set `encoding: cp1252` in the mapping's source"
    )


def test_declared_cp1252_error_suggests_latin1(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\r1\r\x81\r")
    with pytest.raises(SourceError, match=r"line 3 \(byte 4\) .* `encoding: latin-1`"):
        list(read(path, SourceOptions(encoding="cp1252")).batches)


def test_unknown_declared_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\n1\n")
    with pytest.raises(ConfigError, match="unknown encoding 'klingon'"):
        read(path, SourceOptions(encoding="klingon"))


# --- delimiter -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"a,b,c\n1,2,3\n", ","),
        (b"a;b;c\n1;2,5;3\n", ";"),
        (b"a\tb\n1\t2\n", "\t"),
        (b"a|b\n1|2\n", "|"),
        (b'"x;y",z\n"1;2",3\n', ","),  # a delimiter inside quotes does not count
        (b"a,b;c\n1,2;3\n", ","),  # a tie prefers the comma
        (b"id;name;price,eur\n1;x;3,5\n2;y;4,0\n", ";"),  # equally consistent: more fields
        (b"a;b,c;d\n1;2;3\n4;5;6\n", ";"),  # the more consistent candidate wins
        (b"a,b;c\n1,2\n3,4\n5;6\n", ","),
        (b"single\nvalue\n", ","),  # nothing splits the header
    ],
)
def test_sniffed_delimiter(tmp_path: Path, body: bytes, expected: str) -> None:
    result, _ = load(write(tmp_path, body))
    assert result.info.delimiter == expected


def test_sniff_delimiter_helper_directly() -> None:
    assert sniff_delimiter("a|b|c\n1|2|3\n", '"') == "|"
    assert sniff_delimiter("", '"') == ","


def test_sniffing_starts_at_the_header_row(tmp_path: Path) -> None:
    path = write(tmp_path, b"report; 2024; final\nnotes, more notes\na|b\n1|2\n")
    result, batches = load(path, header_row=3)
    assert result.info.delimiter == "|"
    assert data_rows(batches) == [("1", "2", 4)]


@pytest.mark.parametrize(("declared", "actual"), [("tab", "\t"), ("\\t", "\t"), ("\t", "\t")])
def test_declared_tab_spellings(tmp_path: Path, declared: str, actual: str) -> None:
    result, batches = load(write(tmp_path, b"a\tb\n1\t2\n"), delimiter=declared)
    assert result.info.delimiter == actual
    assert data_rows(batches) == [("1", "2", 2)]


def test_bad_declared_delimiter(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="delimiter must be a single character"):
        read(write(tmp_path, b"a\n"), SourceOptions(delimiter="::"))
    with pytest.raises(ConfigError, match="delimiter and quote_char are both"):
        read(write(tmp_path, b"a\n"), SourceOptions(delimiter='"'))


# --- quoting, line endings, blank lines, NUL --------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings_and_embedded_breaks(tmp_path: Path, eol: bytes) -> None:
    body = eol.join(
        [b"a,b", b'1,"x' + eol + b'y"', b'2,"he said ""hi"""', b'"p' + eol + eol + b'q",3', b""]
    )
    result, batches = load(write(tmp_path, body))
    text_eol = eol.decode()
    assert result.info.extra["line_terminator"] == text_eol
    assert data_rows(batches) == [
        ("1", f"x{text_eol}y", 2),
        ("2", 'he said "hi"', 4),
        (f"p{text_eol}{text_eol}q", "3", 5),
    ]


def test_embedded_break_of_another_kind_is_kept(tmp_path: Path) -> None:
    body = b'a,b\n1,"x\r\ny\rz"\n2,3\n'
    _, batches = load(write(tmp_path, body))
    assert data_rows(batches) == [("1", "x\r\ny\rz", 2), ("2", "3", 5)]


def test_blank_lines_are_skipped_not_counted_not_rejected(tmp_path: Path) -> None:
    body = b'a,b\n\n1,2\r\n\r\n""\n   \n3,4\n\n'
    _, batches = load(write(tmp_path, body))
    assert data_rows(batches) == [("1", "2", 3), ("3", "4", 7)]
    assert reject_rows(batches) == [
        ("   ", None, 6, "row has 1 field but the header has 2; no values for: 'b'")
    ]


def test_single_column_keeps_an_empty_quoted_value(tmp_path: Path) -> None:
    _, batches = load(write(tmp_path, b'a\n""\n\nx\n'))
    assert data_rows(batches) == [("", 2), ("x", 4)]


def test_nul_bytes_are_kept(tmp_path: Path) -> None:
    _, batches = load(write(tmp_path, b"a,b\n\x00,x\x00y\n"))
    assert data_rows(batches) == [("\x00", "x\x00y", 2)]


def test_bare_quotes_in_unquoted_field_are_kept(tmp_path: Path) -> None:
    _, batches = load(write(tmp_path, b'a,b\n5\'1",x"y\n'))
    assert data_rows(batches) == [("5'1\"", 'x"y', 2)]


def test_custom_quote_char(tmp_path: Path) -> None:
    _, batches = load(write(tmp_path, b"a,b\n'x,y',2\n"), quote_char="'")
    assert data_rows(batches) == [("x,y", "2", 2)]


def test_unclosed_quote_in_a_large_file_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, b'a,b\n1,"oops\n' + b"2,3\n" * 40_000)
    with pytest.raises(SourceError, match=r"starting at line 2 .* never closed"):
        list(read(path, SourceOptions()).batches)


# --- header -----------------------------------------------------------------------------------


def test_header_row_skips_earlier_lines_even_with_quotes(tmp_path: Path) -> None:
    body = b'Export "of\r\n2024\r\nid,name\r\n1,Ann\r\n'
    result, batches = load(write(tmp_path, body), header_row=3)
    assert result.info.columns == ["id", "name"]
    assert data_rows(batches) == [("1", "Ann", 4)]


def test_blank_lines_before_the_header_are_skipped(tmp_path: Path) -> None:
    result, batches = load(write(tmp_path, b"\n\na\n1\n"))
    assert result.info.columns == ["a"]
    assert data_rows(batches) == [("1", 4)]


def test_header_names_renamed_with_warnings(tmp_path: Path) -> None:
    body = b"email,,Email,email,email_2,__row,\n" + b"1,2,3,4,5,6,7\n"
    result, batches = load(write(tmp_path, body))
    assert result.info.columns == [
        "email",
        "column_2",
        "Email",
        "email_3",
        "email_2",
        "__row_2",
        "column_7",
    ]
    assert result.info.warnings == [
        "Column 2 of the header has no name; it is read as 'column_2'.",
        "Column 4 of the header repeats the name 'email' of column 1; it is read as 'email_3'.",
        "Column 6 of the header is named '__row', a name Conveyor keeps for its own use; "
        "it is read as '__row_2'.",
        "Column 7 of the header has no name; it is read as 'column_7'.",
    ]
    assert data_rows(batches) == [("1", "2", "3", "4", "5", "6", "7", 2)]


def test_name_columns_strips_bom_and_avoids_real_names() -> None:
    assert name_columns(["\ufeffa", "", "column_2", "a", "a"]) == (
        ["a", "column_2_2", "column_2", "a_2", "a_3"],
        [
            "Column 2 of the header has no name; it is read as 'column_2_2'.",
            "Column 4 of the header repeats the name 'a' of column 1; it is read as 'a_2'.",
            "Column 5 of the header repeats the name 'a' of column 1; it is read as 'a_3'.",
        ],
    )


@pytest.mark.parametrize("body", [b"", b"\n", b"\r\n\r\n\n"])
def test_empty_file_has_no_header(tmp_path: Path, body: bytes) -> None:
    path = write(tmp_path, body, "empty.csv")
    with pytest.raises(SourceError) as err:
        read(path, SourceOptions())
    assert str(err.value) == f"{path}: is empty: no header row"


def test_header_row_past_the_end(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\n1\n")
    with pytest.raises(SourceError, match="is empty from line 5 \\(header_row\\) on"):
        read(path, SourceOptions(header_row=5))


def test_header_only_file_gives_columns_and_zero_batches(tmp_path: Path) -> None:
    result, batches = load(write(tmp_path, b"a,b,c\r\n"))
    assert result.info.columns == ["a", "b", "c"]
    assert batches == []


# --- ragged rows ------------------------------------------------------------------------------


def test_ragged_rows_go_to_rejects_with_every_value(tmp_path: Path) -> None:
    body = b"a,b,c\n1,2,3\n4,5,6,17,x\n7\n8,9,10\n"
    _, batches = load(write(tmp_path, body))
    assert data_rows(batches) == [("1", "2", "3", 2), ("8", "9", "10", 5)]
    rejects = batches[0].rejects
    assert rejects is not None
    assert rejects.schema == pl.Schema(
        {"a": pl.String, "b": pl.String, "c": pl.String, "__row": pl.Int64, "_error": pl.String}
    )
    assert rejects.rows() == [
        ("4", "5", "6", 3, "row has 5 fields but the header has 3; extra values: '17', 'x'"),
        ("7", None, None, 4, "row has 1 field but the header has 3; no values for: 'b', 'c'"),
    ]


def test_source_error_column_is_replaced_in_rejects(tmp_path: Path) -> None:
    _, batches = load(write(tmp_path, b"a,_error\n1,old,extra\n"))
    assert reject_rows(batches) == [
        ("1", 2, "row has 3 fields but the header has 2; extra values: 'extra'")
    ]


# --- not a text file --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"\x00\x10junk\x00\x00" * 200, "NUL or control bytes"),
    ],
)
def test_binary_files_are_refused(tmp_path: Path, head: bytes, what: str) -> None:
    path = write(tmp_path, head + b"\x00" * 200)
    with pytest.raises(SourceError, match=f"does not look like a text CSV file.*{what}"):
        read(path, SourceOptions())


def test_utf16_without_bom_suggests_the_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n".encode("utf-16-le"))
    with pytest.raises(SourceError, match="set `encoding: utf-16-le`"):
        read(path, SourceOptions())
    result, batches = load(path, encoding="utf-16-le")
    assert data_rows(batches) == [("1", "2", 2)]
    assert result.info.columns == ["a", "b"]


# --- a large file -----------------------------------------------------------------------------


def test_large_file_streams_in_batches_with_exact_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as fh:
        fh.write("id,text\r\n")
        for i in range(300_000):
            # every 1000th record spans two lines, so line numbers drift from record numbers
            fh.write(f'{i},"a\r\nb"\r\n' if i % 1000 == 0 else f"{i},t{i}\r\n")
    result = read(path, SourceOptions(batch_size=70_000))
    heights, edges = [], []
    for batch in result.batches:
        heights.append(batch.data.height)
        rows = batch.data["__row"]
        ids = batch.data["id"]
        edges.append((ids[0], rows[0], ids[-1], rows[-1]))
        assert batch.position <= path.stat().st_size
    assert heights == [70_000, 70_000, 70_000, 70_000, 20_000]

    def line_of(i: int) -> int:  # header on line 1; one extra line per earlier two-line record
        return 2 + i + (i - 1) // 1000 + 1 if i > 0 else 2

    bounds = [(0, 69_999), (70_000, 139_999), (140_000, 209_999), (210_000, 279_999)]
    bounds.append((280_000, 299_999))
    assert edges == [
        (str(first), line_of(first), str(last), line_of(last)) for first, last in bounds
    ]
