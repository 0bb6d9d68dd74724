"""Export writers (CSV, JSON, NDJSON, XML): exact bytes, round trips through Conveyor's readers,
errors a user can cause, and abort. XLSX is in test_writer_xlsx.py; both share SAMPLE here."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from lxml import etree

from conveyor.errors import ConfigError
from conveyor.formats import read_source
from conveyor.formats.base import SourceOptions
from conveyor.formats.writers import ExportFormat, WriteOptions, open_writer
from conveyor.schema import Column

UTC = dt.UTC
PARIS = "Europe/Paris"

#: Every kind, XML-safe names; no row is all NULL (an XLSX reader skips empty rows).
COLUMNS = [
    Column("id", "integer"),
    Column("name", "string"),
    Column("ratio", "float"),
    Column("price", "decimal", 10, 2),
    Column("amount", "decimal", 38, 8),
    Column("active", "boolean"),
    Column("born", "date"),
    Column("seen_utc", "datetime"),
    Column("seen_paris", "datetime"),
    Column("seen_naive", "datetime"),
    Column("meta", "json"),
]
BIG = "1234567890123456789012.12345678"  # 30 significant digits
ROWS: list[tuple[Any, ...]] = [
    (1, "Zoë 😀 日本", 0.1, "12.50", BIG, True, dt.date(2024, 1, 2),
     dt.datetime(2024, 1, 2, 3, 4, 5, 123456), dt.datetime(2024, 7, 1, 12, 0, 0, 250000),
     dt.datetime(2024, 1, 2, 3, 4, 5, 123456), '{"tags": ["a", "b"], "n": 1}'),
    (2, "", -2.5, None, "-98765432109876543.21098765", False, None,
     None, dt.datetime(2024, 1, 15, 8, 30), None, None),
    (None, None, None, "-1.05", "11111111111111111111.00000001", None, dt.date(1999, 12, 31),
     dt.datetime(1999, 12, 31, 23, 59, 59), None, dt.datetime(2000, 1, 1), "[]"),
    (2**40, 'say "hi", then\nleave', 1e20, "0.00", "-22222222222222222222.2", True,
     dt.date(1900, 3, 1), dt.datetime(2030, 6, 15, 0, 0, 0, 1000), dt.datetime(1999, 3, 28, 3),
     dt.datetime(1970, 1, 1), '{"nested": {"deep": true}}'),
    (-7, "a,b;c\r\nd\te", 3.0, "99999999.99", "33333333333333333333.33333333", False,
     dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 12), dt.datetime(2024, 10, 27, 4, 30),
     dt.datetime(2024, 2, 29, 12), '{"s": "x<&>y"}'),
    (6, "  <b>padded</b> & more  ", -0.0, "-0.01", "4444444444444444444.4444444", None,
     dt.date(2038, 1, 19), None, None, None, None),
]  # fmt: skip
BATCHES = [2, 0, 3, 1]  # rows per write: several batches and an empty one


def sample_frame(rows: Sequence[tuple[Any, ...]] = ROWS) -> pl.DataFrame:
    """ROWS with the dtypes an export passes: UTC, Paris-zoned and naive datetimes."""
    data = {c.name: [row[i] for row in rows] for i, c in enumerate(COLUMNS)}
    frame = pl.DataFrame(
        {
            **data,
            "price": [None if v is None else Decimal(v) for v in data["price"]],
            "amount": [None if v is None else Decimal(v) for v in data["amount"]],
        },
        schema={c.name: c.polars_dtype() for c in COLUMNS},
    )
    return frame.with_columns(
        pl.col("seen_paris").dt.replace_time_zone(None).dt.replace_time_zone(PARIS),
        pl.col("seen_naive").dt.replace_time_zone(None),
    )


def write_export(
    path: Path,
    fmt: ExportFormat,
    frame: pl.DataFrame,
    columns: Sequence[Column] = COLUMNS,
    options: WriteOptions = WriteOptions(),  # noqa: B008
    batches: Sequence[int] = BATCHES,
) -> int:
    """Write ``frame`` in batches of the given sizes (the rest in a last one); rows written."""
    writer = open_writer(path, fmt, columns, options)
    start = 0
    for size in batches:
        writer.write(frame.slice(start, size))
        start += size
    writer.write(frame.slice(start))
    writer.close()
    return writer.rows


def read_back(path: Path, columns: Sequence[Column] = COLUMNS, **options: Any) -> pl.DataFrame:
    """Every record of ``path`` through Conveyor's reader, the export's columns only."""
    frames = [b.data for b in read_source(path, SourceOptions(**options)).batches]
    return pl.concat(frames, how="diagonal_relaxed").select(c.name for c in columns)


def canonical(value: object) -> str | None:
    """The text every format writes for a value, made independently with Python."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date | Decimal | int):
        return str(value)
    assert isinstance(value, float)
    return repr(value)


def copy_text(value: object) -> str | None:
    """The text CSV writes (PostgreSQL's COPY text), made independently with Python: datetimes
    in UTC as ``2024-01-02 03:04:05.5+00`` (fraction trimmed), naive ones without offset."""
    if not isinstance(value, dt.datetime):
        return canonical(value)
    utc = value if value.tzinfo is None else value.astimezone(UTC)
    text = utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    text = text.rstrip("0").rstrip(".")
    return text if value.tzinfo is None else text + "+00"


def expected_texts(frame: pl.DataFrame) -> list[list[str | None]]:
    """Per column, the canonical text of each value (aware datetimes in their own zone)."""
    return [[canonical(v) for v in frame.get_column(c.name).to_list()] for c in COLUMNS]


# --- exact bytes -------------------------------------------------------------------------------

SMALL_COLUMNS = [
    Column("E-mail Address", "string"),
    Column("n", "integer"),
    Column("amount", "decimal", 10, 2),
    Column("at", "datetime"),
    Column("ok", "boolean"),
    Column("note", "string"),
    Column("meta", "json"),
]


def small_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "E-mail Address": ["a@x.io", None],
            "n": [1, None],
            "amount": [Decimal("12.50"), None],
            "at": [dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), None],
            "ok": [True, None],
            "note": ["", 'say "hi", bye\nnow'],
            "meta": ['{"k": [1, 2]}', None],
        },
        schema={c.name: c.polars_dtype() for c in SMALL_COLUMNS},
    )


def test_csv_exact_bytes_null_is_empty_and_empty_string_is_quoted(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert write_export(path, "csv", small_frame(), SMALL_COLUMNS, batches=[1]) == 2
    assert path.read_bytes() == (
        b"E-mail Address,n,amount,at,ok,note,meta\n"
        b'a@x.io,1,12.50,2024-01-02 03:04:05.123456+00,true,"","{""k"": [1, 2]}"\n'
        b',,,,,"say ""hi"", bye\nnow",\n'
    )


def test_ndjson_and_json_exact_bytes(tmp_path: Path) -> None:
    first = (
        '{"E-mail Address":"a@x.io","n":1,"amount":"12.50",'
        '"at":"2024-01-02T03:04:05.123456+00:00","ok":true,"note":"","meta":{"k": [1, 2]}}'
    )
    second = (
        '{"E-mail Address":null,"n":null,"amount":null,"at":null,"ok":null,'
        '"note":"say \\"hi\\", bye\\nnow","meta":null}'
    )
    write_export(tmp_path / "a.ndjson", "ndjson", small_frame(), SMALL_COLUMNS, batches=[1])
    write_export(tmp_path / "a.json", "json", small_frame(), SMALL_COLUMNS, batches=[1])
    assert (tmp_path / "a.ndjson").read_text("utf-8") == f"{first}\n{second}\n"
    assert (tmp_path / "a.json").read_text("utf-8") == f"[\n{first},\n{second}\n]\n"
    assert json.loads((tmp_path / "a.json").read_text("utf-8"))[1]["note"] == 'say "hi", bye\nnow'


def test_xml_exact_bytes_nil_empty_and_namespace(tmp_path: Path) -> None:
    columns = [Column("email", "string"), Column("n", "integer"), Column("note", "string")]
    frame = pl.DataFrame({"email": ["a&b@x.io", None], "n": [1, None], "note": ["", "<i>\r"]})
    options = WriteOptions(xml_root="export", xml_record="row", xml_namespace="urn:x?a=1&b=2")
    write_export(tmp_path / "a.xml", "xml", frame, columns, options, batches=[1])
    assert (tmp_path / "a.xml").read_text("utf-8") == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<export xmlns="urn:x?a=1&amp;b=2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        "<row><email>a&amp;b@x.io</email><n>1</n><note></note></row>\n"
        '<row><email xsi:nil="true"/><n xsi:nil="true"/><note>&lt;i&gt;&#13;</note></row>\n'
        "</export>\n"
    )
    root = etree.parse(str(tmp_path / "a.xml")).getroot()
    assert root.tag == "{urn:x?a=1&b=2}export"
    assert [child.text for child in root[1]] == [None, None, "<i>\r"]


def test_json_special_floats_and_json_scalars(tmp_path: Path) -> None:
    columns = [Column("f", "float"), Column("j", "json")]
    frame = pl.DataFrame(
        {
            "f": [float("nan"), float("inf"), float("-inf"), 1.5e-7],
            "j": ["3", '"s"', "null", "1e400"],
        }
    )
    write_export(tmp_path / "a.ndjson", "ndjson", frame, columns)
    assert (tmp_path / "a.ndjson").read_text("utf-8").splitlines() == [
        '{"f":"NaN","j":3}',
        '{"f":"Infinity","j":"s"}',
        '{"f":"-Infinity","j":null}',
        '{"f":1.5e-7,"j":1e400}',
    ]


# --- round trips through Conveyor's readers ----------------------------------------------------


def test_csv_round_trip(tmp_path: Path) -> None:
    frame = sample_frame()
    path = tmp_path / "out.csv"
    assert write_export(path, "csv", frame) == 6
    back = read_back(path)  # the CSV reader reads NULL and "" alike, as ""
    expected = [[copy_text(v) or "" for v in frame.get_column(c.name).to_list()] for c in COLUMNS]
    assert [back.get_column(c.name).to_list() for c in COLUMNS] == expected
    assert back.get_column("name")[4] == "a,b;c\r\nd\te"
    assert back.get_column("amount")[0] == BIG
    assert back.get_column("seen_paris")[3] == "1999-03-28 01:00:00+00"


@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [("utf-16", "\t", b"\xff\xfe"), ("utf-8-sig", ";", b"\xef\xbb\xbf"), ("cp1252", "|", b"")],
)
def test_csv_other_encodings_and_delimiters(
    tmp_path: Path, encoding: str, delimiter: str, bom: bytes
) -> None:
    frame = sample_frame().with_columns(pl.col("name").str.replace_all("[😀日本]", "é"))
    path = tmp_path / "out.csv"
    write_export(path, "csv", frame, options=WriteOptions(delimiter=delimiter, encoding=encoding))
    data = path.read_bytes()
    head = "id".encode("utf-16-le" if encoding == "utf-16" else "utf-8")
    assert data.startswith(bom + head)
    assert bom == b"" or bom not in data[len(bom) :]  # one BOM, at the start
    back = read_back(path)
    assert back.get_column("name").to_list() == [v or "" for v in frame["name"].to_list()]
    assert back.get_column("amount")[0] == BIG


def test_json_round_trip(tmp_path: Path) -> None:
    frame = sample_frame()
    for fmt, name in (("json", "out.json"), ("ndjson", "out.ndjson")):
        path = tmp_path / name
        assert write_export(path, fmt, frame) == 6  # type: ignore[arg-type]
        back = read_back(path, flatten_depth=0)
        texts = dict(zip([c.name for c in COLUMNS], expected_texts(frame), strict=True))
        assert back.get_column("id").to_list() == frame.get_column("id").to_list()
        assert back.get_column("active").to_list() == frame.get_column("active").to_list()
        ratio = back.get_column("ratio").to_list()
        assert [None if v is None else float(v) for v in ratio] == frame["ratio"].to_list()
        for name in ("name", "price", "amount", "born", "seen_utc", "seen_paris", "seen_naive"):
            assert back.get_column(name).to_list() == texts[name], name
        metas = [None if v is None else json.loads(v) for v in back.get_column("meta")]
        assert metas == [None if v is None else json.loads(v) for v in frame["meta"]]


def test_xml_round_trip(tmp_path: Path) -> None:
    frame = sample_frame()
    path = tmp_path / "out.xml"
    assert write_export(path, "xml", frame, options=WriteOptions(xml_namespace="urn:t")) == 6
    etree.parse(str(path))  # well-formed for lxml
    back = read_back(path)  # NULL (xsi:nil) -> null, empty element -> ""
    assert [back.get_column(c.name).to_list() for c in COLUMNS] == expected_texts(frame)


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "xml"])
def test_zero_rows_give_a_valid_file(tmp_path: Path, fmt: ExportFormat) -> None:
    path = tmp_path / f"empty.{fmt}"
    assert write_export(path, fmt, sample_frame([]), batches=[0]) == 0
    text = path.read_text("utf-8")
    if fmt == "csv":
        assert text == ",".join(c.name for c in COLUMNS) + "\n"
    elif fmt == "json":
        assert text == "[]\n"
        assert json.loads(text) == []
    elif fmt == "ndjson":
        assert text == ""
    else:
        assert len(etree.fromstring(path.read_bytes())) == 0
        assert list(read_source(path).batches) == []


# --- errors a user can cause -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["E-mail Address", "1st", "a:b", "{urn}x", ""])
def test_xml_refuses_names_that_are_not_element_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="rename it with a mapping") as caught:
        open_writer(tmp_path / "a.xml", "xml", [Column("ok", "string"), Column(name, "string")])
    assert repr(name) in str(caught.value)
    assert not (tmp_path / "a.xml").exists()


def test_xml_refuses_bad_root_or_record_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="xml_record option"):
        open_writer(tmp_path / "a.xml", "xml", COLUMNS, WriteOptions(xml_record="my record"))


def test_xml_forbidden_characters_error_names_row_and_column(tmp_path: Path) -> None:
    columns = [Column("id", "integer"), Column("a", "string"), Column("b", "string")]
    frame = pl.DataFrame(
        {"id": [1, 2, 3, 4], "a": ["x", "y", "z", "ok\x0b"], "b": ["", "", "\x00", ""]}
    )
    writer = open_writer(tmp_path / "a.xml", "xml", columns)
    writer.write(frame.slice(0, 2))
    with pytest.raises(ConfigError) as caught:
        writer.write(frame.slice(2))  # rows 3 and 4: row 3 first, column b
    writer.abort()
    message = str(caught.value)
    assert "row 3, column 'b'" in message
    assert "U+0000" in message
    assert 'xml_invalid_chars="replace"' in message


def test_xml_forbidden_characters_replaced(tmp_path: Path) -> None:
    columns = [Column("a", "string"), Column("j", "json")]
    frame = pl.DataFrame({"a": ["a\x01b\x1fc\ufffed\uffffe\tf\ng", None], "j": ['"\x08"', "{}"]})
    path = tmp_path / "a.xml"
    write_export(path, "xml", frame, columns, WriteOptions(xml_invalid_chars="replace"))
    back = read_back(path, columns)
    assert back.rows() == [("a\ufffdb\ufffdc\ufffdd\ufffde\tf\ng", '"\ufffd"'), (None, "{}")]


def test_json_column_holding_invalid_json(tmp_path: Path) -> None:
    columns = [Column("id", "integer"), Column("j", "json")]
    writer = open_writer(tmp_path / "a.json", "json", columns)
    writer.write(pl.DataFrame({"id": [1], "j": ['{"a": 1}']}))
    with pytest.raises(ConfigError, match=r"row 3, column 'j': the value is not valid JSON"):
        writer.write(pl.DataFrame({"id": [2, 3], "j": ["[1e999]", "{'a': 1}"]}))
    writer.abort()


def test_csv_character_the_encoding_cannot_hold(tmp_path: Path) -> None:
    columns = [Column("id", "integer"), Column("name", "string")]
    writer = open_writer(tmp_path / "a.csv", "csv", columns, WriteOptions(encoding="cp1252"))
    writer.write(pl.DataFrame({"id": [1], "name": ["Zoë"]}))
    with pytest.raises(ConfigError, match=r"row 3, column 'name'.*U\+1F600.*cp1252"):
        writer.write(pl.DataFrame({"id": [2, 3], "name": ["ok", "smile 😀"]}))
    writer.abort()
    with pytest.raises(ConfigError, match=r"header \(column 'Ж'\)"):
        open_writer(
            tmp_path / "b.csv", "csv", [Column("Ж", "string")], WriteOptions(encoding="ascii")
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (WriteOptions(encoding="klingon-8"), "unknown text encoding 'klingon-8'"),
        (WriteOptions(encoding="base64"), "unknown text encoding 'base64'"),
        (WriteOptions(delimiter=";;"), "delimiter ';;' cannot be used"),
        (WriteOptions(delimiter='"'), "cannot be used"),
        (WriteOptions(delimiter="§"), "one ASCII character"),
    ],
)
def test_csv_bad_options(tmp_path: Path, options: WriteOptions, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_writer(tmp_path / "a.csv", "csv", COLUMNS, options)


def test_open_writer_refusals(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown export format 'parquet'"):
        open_writer(tmp_path / "a", "parquet", COLUMNS)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least one column"):
        open_writer(tmp_path / "a.csv", "csv", [])
    with pytest.raises(ConfigError, match="'id' twice"):
        open_writer(tmp_path / "a.csv", "csv", [Column("id", "integer"), Column("id", "string")])
    with pytest.raises(ConfigError, match="check that its folder exists"):
        open_writer(tmp_path / "missing" / "a.csv", "csv", COLUMNS)


def test_write_refuses_a_frame_of_other_columns(tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "a.csv", "csv", COLUMNS)
    with pytest.raises(ValueError, match="differ from the export's"):
        writer.write(sample_frame().select(reversed(sample_frame().columns)))
    writer.abort()


# --- abort ----------------------------------------------------------------------------------


def open_paths() -> set[str]:
    """Files this process holds open (Linux: /proc/self/fd)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson", "xml", "xlsx"])
def test_abort_releases_the_file(tmp_path: Path, fmt: ExportFormat) -> None:
    path = tmp_path / f"out.{fmt}"
    writer = open_writer(path, fmt, COLUMNS)
    writer.write(sample_frame())
    assert str(path) in open_paths()
    writer.abort()
    assert str(path) not in open_paths()
    writer.abort()  # twice is harmless
    path.unlink()
    assert writer.rows == 6
