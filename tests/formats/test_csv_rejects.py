"""Unit tests for the CSV rejects writer: the source's own dialect, and round trips."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from conveyor.errors import ConfigError
from conveyor.formats.base import Batch, ReadResult, SourceInfo, SourceOptions
from conveyor.formats.csv import open_rejects, read
from tests.formats.support import data_rows, load_with, reject_rows, write_file


def write(tmp_path: Path, data: bytes, name: str = "src.csv") -> Path:
    return write_file(tmp_path, name, data)


def load(path: Path, **options: Any) -> tuple[ReadResult, list[Batch]]:
    return load_with(read, path, **options)


def source_info(tmp_path: Path, body: bytes, **options: Any) -> SourceInfo:
    return read(write(tmp_path, body), SourceOptions(**options)).info


def test_rejects_file_layout_and_rendering(tmp_path: Path) -> None:
    info = source_info(tmp_path, b"id,when,tags,name\n1,2,3,4\n")
    frame = pl.DataFrame(
        {
            "name": ["Ann", None],
            "id": [1, 2],
            "when": [dt.date(2024, 1, 31), None],
            "tags": [["x", "y"], None],
            "ignored": ["?", "?"],
            "__row": pl.Series([2, 9], dtype=pl.Int64),
            "_error": ["bad id", "bad date"],
        }
    )
    out = tmp_path / "rejects.csv"
    with open_rejects(out, info) as sink:
        sink.write(frame)
    assert out.read_bytes() == (
        b"id,when,tags,name,_row,_error\n"
        b'1,2024-01-31,"[""x"", ""y""]",Ann,2,bad id\n'
        b"2,,,,9,bad date\n"
    )


def test_rejects_replace_source_row_and_error_columns(tmp_path: Path) -> None:
    info = source_info(tmp_path, b"_row,a,_error\n1,2,3\n")
    out = tmp_path / "rejects.csv"
    sink = open_rejects(out, info)
    sink.write(
        pl.DataFrame(
            {"_row": ["5"], "a": ["x"], "_error": ["new"], "__row": pl.Series([7], dtype=pl.Int64)}
        )
    )
    sink.close()
    sink.close()  # closing twice is harmless
    assert out.read_text() == "a,_row,_error\nx,7,new\n"


def test_unused_sink_writes_a_valid_header_only_file(tmp_path: Path) -> None:
    info = source_info(tmp_path, b"\n\na;b\r\n1;2\r\n", header_row=3)
    out = tmp_path / "rejects.csv"
    open_rejects(out, info).close()
    assert out.read_bytes() == b"\r\n\r\na;b;_row;_error\r\n"
    again, batches = load(out, **info.options.model_dump(exclude={"format"}))
    assert again.info.columns == ["a", "b", "_row", "_error"]
    assert batches == []


def test_unwritable_rejects_path(tmp_path: Path) -> None:
    info = source_info(tmp_path, b"a\n1\n")
    with pytest.raises(ConfigError, match="cannot write the rejects file"):
        open_rejects(tmp_path / "missing" / "rejects.csv", info)


def test_unencodable_text_is_escaped_not_fatal(tmp_path: Path) -> None:
    info = source_info(tmp_path, "a\ncafé\n".encode("cp1252"))
    out = tmp_path / "rejects.csv"
    with open_rejects(out, info) as sink:
        sink.write(pl.DataFrame({"a": ["é"], "_error": ["→ not allowed"]}))
    assert out.read_bytes() == b"a,_row,_error\n\xe9,,\\u2192 not allowed\n"


TRICKY = [
    "plain",
    "comma, inside",
    "semi; inside",
    'quote " inside',
    "lf\ninside",
    "crlf\r\ninside",
    "cr\rinside",
    "  spaced  ",
    "",
    "é ü ß €",
]


@pytest.mark.parametrize(
    ("encoding", "bom", "eol", "delimiter", "header_row", "extra_text"),
    [
        ("utf-8", b"", b"\n", b",", 1, "ʤ 日本"),
        ("utf-8", b"\xef\xbb\xbf", b"\r\n", b";", 2, "ʤ 日本"),
        ("cp1252", b"", b"\r\n", b";", 1, "œ ‰"),
        ("utf-16-le", b"\xff\xfe", b"\r\n", b"\t", 1, "ʤ 日本"),
        ("utf-16-be", b"\xfe\xff", b"\n", b",", 3, "ʤ 日本"),
        ("utf-8", b"", b"\r", b"|", 1, "ʤ"),
    ],
    ids=["utf8-lf", "utf8-bom", "cp1252", "utf16-le", "utf16-be", "utf8-cr"],
)
def test_rejects_round_trip(
    tmp_path: Path,
    encoding: str,
    bom: bytes,
    eol: bytes,
    delimiter: bytes,
    header_row: int,
    extra_text: str,
) -> None:
    d, e = delimiter.decode(), eol.decode()
    source = e * (header_row - 1) + f"name{d}note{d}n{e}x{d}y{d}1{e}"
    info = source_info(tmp_path, bom + source.encode(encoding), header_row=header_row)
    assert info.delimiter == d
    values = [*TRICKY, extra_text]
    frame = pl.DataFrame(
        {
            "note": values,
            "name": [v[::-1] for v in values],
            "n": pl.Series(range(len(values)), dtype=pl.Int64),
            "__row": pl.Series(range(10, 10 + len(values)), dtype=pl.Int64),
            "_error": [f"error {i}: {v}" for i, v in enumerate(values)],
        }
    )
    out = tmp_path / "rejects.csv"
    with open_rejects(out, info) as sink:
        sink.write(frame.head(4))
        sink.write(frame.tail(len(values) - 4))
    assert out.read_bytes().startswith(bom + (e * (header_row - 1)).encode(encoding))
    again, batches = load(out, **info.options.model_dump(exclude={"format"}))
    assert again.info.encoding == info.encoding
    assert again.info.columns == ["name", "note", "n", "_row", "_error"]
    assert reject_rows(batches) == []
    got = pl.concat([b.data for b in batches]).drop("__row")
    expected = frame.select(
        "name",
        "note",
        pl.col("n").cast(pl.String),
        pl.col("__row").cast(pl.String).alias("_row"),
        "_error",
    )
    assert got.to_dicts() == expected.to_dicts()


def test_round_trip_lone_cr_under_lf_endings(tmp_path: Path) -> None:
    info = source_info(tmp_path, b"a,b\n1,2\n")
    out = tmp_path / "rejects.csv"
    with open_rejects(out, info) as sink:
        sink.write(pl.DataFrame({"a": ["x\ry", "plain"], "b": ["1", "2"]}))
    assert out.read_bytes() == b'a,b,_row,_error\n"x\ry","1","",""\nplain,2,,\n'
    _, batches = load(out, **info.options.model_dump(exclude={"format"}))
    assert data_rows(batches) == [("x\ry", "1", "", "", 2), ("plain", "2", "", "", 4)]


def test_declared_utf8_with_bom_keeps_the_bom_in_rejects(tmp_path: Path) -> None:
    info = source_info(tmp_path, b"\xef\xbb\xbfa\n1\n", encoding="utf-8")
    out = tmp_path / "rejects.csv"
    open_rejects(out, info).close()
    assert out.read_bytes() == b"\xef\xbb\xbfa,_row,_error\n"
