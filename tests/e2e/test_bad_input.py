"""Bad input, end to end through ``import_file`` into SQLite and PostgreSQL.

Every case ends in one of two clear outcomes, and these tests hold each to it:

1. the import succeeds and each bad row is in the rejects file with an ``_error`` that says
   what to fix; or
2. the import fails with one ``report.error`` naming the file and the problem, and the target
   table is as it was (the file is read and mapped whole before the first row is written).

Either way the counts balance and every row of the file is in the table, in the rejects file
or counted as a duplicate. Decisions recorded here:

- wrong types and empty keys: the row is rejected, naming the field and the value;
- a key column missing from the file: one error before anything is written;
- NUL (0x00) in a CSV or JSON value: SQLite stores it as is; PostgreSQL text cannot hold it, so
  the row is rejected with the reason (the rest of its batch goes on). XML 1.0 forbids NUL:
  the file fails as not well-formed. A NUL in a header name becomes ``_`` in the column name;
- a 0-byte file fails ("empty"); a header-only CSV/XLSX file, an empty JSON array and an XML
  document without records succeed with 0 rows when a mapping says the columns;
- bytes that do not decode fail the whole file, naming the line and the encoding; a file that
  mixes UTF-8 with cp1252 is read as UTF-8 (never garbled silently) and fails at the first line
  that is not UTF-8. A declared encoding is trusted, with a warning when it looks wrong.

Huge inputs (a 100 MB field, 10,000 columns, an encoding change after the first batches) are
in ``test_bad_input_large``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
import xlsxwriter

from conveyor import import_file
from conveyor.formats import read_source
from conveyor.report import ImportReport

FORMATS = ("csv", "json", "xml", "xlsx")
_PEOPLE = "  id: {from: id, type: integer}\n  name: {from: name}\n"
TYPED_FIELDS = """\
  id: {from: id, type: integer}
  qty: {from: qty, type: integer}
  day: {from: day, type: date}
  price: {from: price, type: 'decimal(10,2)'}
"""


# -- helpers (also used by test_bad_input_large) ------------------------------------------------


def write_file(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    """``rows`` under ``header`` in the format of ``path``'s suffix (None: no value)."""
    fmt = path.suffix.lstrip(".")
    if fmt == "csv":
        lines = [",".join(header)] + [
            ",".join("" if v is None else str(v) for v in r) for r in rows
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "json":
        records = [{k: v for k, v in zip(header, r, strict=True) if v is not None} for r in rows]
        path.write_text(json.dumps(records), encoding="utf-8")
    elif fmt == "xml":
        elements = (
            "".join(
                f"<{k}>{escape(str(v))}</{k}>"
                for k, v in zip(header, r, strict=True)
                if v is not None
            )
            for r in rows
        )
        path.write_text("<rows>" + "".join(f"<row>{e}</row>" for e in elements) + "</rows>")
    else:
        book = xlsxwriter.Workbook(str(path))
        sheet = book.add_worksheet("Data")
        sheet.write_row(0, 0, header)
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                if value is not None:
                    sheet.write(number, column, value)
        book.close()
    return path


def mapping_file(folder: Path, table: str, key: list[str], fields: str, source: str = "") -> Path:
    """A mapping YAML file; ``fields`` is the indented body of its ``fields:`` block."""
    path = folder / f"{table}.yaml"
    lines = [f"name: {table}", f"target: {{table: {table}, key: [{', '.join(key)}]}}"]
    if source:
        lines.append(f"source: {source}")
    path.write_text("\n".join([*lines, "fields:", fields]), encoding="utf-8")
    return path


def table_rows(url: str, table: str) -> list[tuple[Any, ...]] | None:
    """Every row of ``table`` in a stable order, or None when the table does not exist."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(table):
                return None
            found = sa.Table(table, sa.MetaData(), autoload_with=conn)
            return sorted((tuple(r) for r in conn.execute(sa.select(found))), key=repr)
    finally:
        engine.dispose()


def rejects(report: ImportReport) -> list[dict[str, Any]]:
    """The rejects file's records, read back with Conveyor's own reader as a user would."""
    if report.rejects_path is None:
        return []
    result = read_source(report.rejects_path)
    return [row for batch in result.batches for row in batch.data.to_dicts()]


def assert_accounted(report: ImportReport, rows_in_file: int) -> list[dict[str, Any]]:
    """Succeeded, counts balanced, every row of the file counted; returns the rejects."""
    assert report.status == "succeeded", report.error
    counts = report.counts
    assert counts.balanced, counts
    assert counts.rows_read == rows_in_file, counts
    found = rejects(report)
    assert len(found) == counts.rejected
    assert all(row["_error"] for row in found)
    return found


def assert_clear_failure(report: ImportReport, *needles: str, names_file: bool = True) -> str:
    """Failed with one error that says the problem in words (no traceback, no internal error)."""
    assert report.status == "failed"
    error = report.error
    assert error is not None
    assert report.counts.balanced
    if names_file:
        assert str(report.file) in error, error
    for needle in needles:
        assert needle in error, error
    for bad in ("Traceback", "internal error", 'File "'):
        assert bad not in error, error
    return error


def seed(folder: Path, url: str, mapping: Path | None, **identity: Any) -> list[tuple[Any, ...]]:
    """Import a good two-row file first, so a failure can be shown to leave the table as it was."""
    table = identity.get("table") or "typed"
    good = folder / "seed.csv"
    if mapping is None:
        good.write_text("id,name\n1,Ann\n2,Bob\n", encoding="utf-8")
    else:
        good.write_text("id,qty,day,price\n1,5,2024-01-02,1.50\n2,6,2024-01-03,2\n")
    assert import_file(good, mapping, url, **identity).status == "succeeded"
    before = table_rows(url, table)
    assert before is not None and len(before) == 2
    return before


# -- wrong types --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_types_are_rejected_naming_field_and_value(
    tmp_path: Path, db_url: str, fmt: str
) -> None:
    header = ["id", "qty", "day", "price"]
    rows: list[list[Any]] = [
        [1, 5, "2024-01-02", "1.50"],
        [2, "abc", "2024-01-02", "1.5"],
        [3, 4, "notadate", "2"],
        [4, 4, "2024-01-01", "x1"],
    ]
    path = write_file(tmp_path / f"typed.{fmt}", header, rows)
    mapping = mapping_file(tmp_path, "typed", ["id"], TYPED_FIELDS)
    report = import_file(path, mapping, db_url)
    found = assert_accounted(report, 4)
    assert report.counts.inserted == 1
    reasons = {str(r["_row"]): r["_error"] for r in found}
    first = 2 if fmt in ("csv", "xlsx") else 1  # a header line, or records counted from 1
    assert reasons == {
        str(first + 1): "qty (qty): 'abc' is not an integer",
        str(first + 2): "day (day): 'notadate' is not an ISO 8601 date",
        str(first + 3): "price (price): 'x1' is not a decimal(10,2)",
    }
    assert table_rows(db_url, "typed") is not None
    assert len(table_rows(db_url, "typed") or []) == 1


# -- keys missing -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_key_rejects_the_row(tmp_path: Path, db_url: str, fmt: str) -> None:
    rows: list[list[Any]] = [[1, 5, "2024-01-02", "1"], [None, 6, "2024-01-02", "2"]]
    path = write_file(tmp_path / f"typed.{fmt}", ["id", "qty", "day", "price"], rows)
    report = import_file(path, mapping_file(tmp_path, "typed", ["id"], TYPED_FIELDS), db_url)
    (reject,) = assert_accounted(report, 2)
    assert reject["_error"] == "id (id): required but empty"
    assert report.counts.inserted == 1


def test_an_empty_key_without_a_mapping_rejects_the_row(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,name\n1,Ann\n,Bob\n2,Cy\n", encoding="utf-8")
    report = import_file(path, None, db_url, key=["id"])
    (reject,) = assert_accounted(report, 3)
    assert reject["name"] == "Bob"
    assert "id" in reject["_error"] and "empty" in reject["_error"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_key_column_absent_from_the_file(tmp_path: Path, db_url: str, fmt: str) -> None:
    """A header (CSV, XLSX) says the columns: one error before anything is written. JSON and
    XML records are schemaless (a later record may hold a field the first ones lack), so each
    record without the key is rejected with the reason."""
    mapping = mapping_file(tmp_path, "typed", ["id"], TYPED_FIELDS)
    before = seed(tmp_path, db_url, mapping)
    rows: list[list[Any]] = [[7, "2024-01-02", "1"], [8, "2024-01-03", "2"]]
    path = write_file(tmp_path / f"nokey.{fmt}", ["qty", "day", "price"], rows)
    report = import_file(path, mapping, db_url)
    if fmt in ("csv", "xlsx"):
        assert_clear_failure(report, "column 'id' (for field id)", "is not in the file")
        assert report.rejects_path is None
    else:
        found = assert_accounted(report, 2)
        assert [r["_error"] for r in found] == ["id (id): required but empty"] * 2
    assert table_rows(db_url, "typed") == before


# -- NUL bytes ----------------------------------------------------------------------------------


def _nul_outcome(report: ImportReport, url: str, table: str, value: str, rows: int) -> None:
    """SQLite stores the NUL; PostgreSQL rejects that row with the reason, the rest go in."""
    found = assert_accounted(report, rows)
    stored = table_rows(url, table) or []
    if url.startswith("sqlite"):
        assert found == []
        assert (1, value) in stored
        assert len(stored) == rows
    else:
        (reject,) = found
        assert reject["_error"] == (
            "column 'name' contains a NUL character, which PostgreSQL cannot store"
        )
        assert reject["name"] == value  # the rejects file keeps the value as it was
        assert len(stored) == rows - 1 and all("\x00" not in str(r) for r in stored)


def test_nul_in_a_csv_field(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"id,name\n1,a\x00b\n2,ok\n3,fine\n")
    report = import_file(path, None, db_url, key=["id"])
    _nul_outcome(report, db_url, "nul", "a\x00b", 3)


def test_nul_in_a_json_string(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "nul.json"
    path.write_text('[{"id": 1, "name": "a\\u0000b"}, {"id": 2, "name": "ok"}]')
    report = import_file(path, None, db_url, key=["id"])
    _nul_outcome(report, db_url, "nul", "a\x00b", 2)


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_nul_in_a_header_becomes_an_underscore(tmp_path: Path, db_url: str, suffix: str) -> None:
    path = tmp_path / f"nulh.{suffix}"
    if suffix == "csv":
        path.write_bytes(b"id,na\x00me\n1,Ann\n2,Bob\n")
    else:
        path.write_text('[{"id": 1, "na\\u0000me": "Ann"}, {"id": 2, "na\\u0000me": "Bob"}]')
    report = import_file(path, None, db_url, key=["id"])
    assert assert_accounted(report, 2) == []
    assert table_rows(db_url, "nulh") == [(1, "Ann"), (2, "Bob")]
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        names = [c["name"] for c in sa.inspect(conn).get_columns("nulh")]
    engine.dispose()
    assert names == ["id", "na_me"]


@pytest.mark.parametrize("body", [b"a\x00b", b"a&#0;b"])
def test_nul_in_xml_fails_the_file_and_leaves_the_table(
    tmp_path: Path, db_url: str, body: bytes
) -> None:
    before = seed(tmp_path, db_url, None, key=["id"], table="nul")
    path = tmp_path / "nul.xml"
    path.write_bytes(b"<rows><row><id>3</id><name>" + body + b"</name></row></rows>")
    report = import_file(path, None, db_url, key=["id"])
    error = assert_clear_failure(report, "not well-formed XML at line 1, column")
    assert not error.endswith("\n")
    assert table_rows(db_url, "nul") == before


# -- empty and header-only files ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "problem"),
    [
        ("csv", "is empty: no header row"),
        ("json", "the file is empty"),
        ("xml", "the file is empty"),
        ("xlsx", "is empty (0 bytes)"),
    ],
)
def test_an_empty_file_fails_and_leaves_the_table(
    tmp_path: Path, db_url: str, fmt: str, problem: str
) -> None:
    before = seed(tmp_path, db_url, None, key=["id"], table="people")
    path = tmp_path / f"people.{fmt}"
    path.write_bytes(b"")
    assert_clear_failure(import_file(path, None, db_url, key=["id"]), problem)
    assert_clear_failure(
        import_file(path, mapping_file(tmp_path, "people", ["id"], _PEOPLE), db_url), problem
    )
    assert table_rows(db_url, "people") == before


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("csv", b"id,name\n"),
        ("csv", b"id,name\r\n\r\n\r\n"),
        ("json", b"[]"),
        ("xml", b"<rows></rows>"),
        ("xlsx", b""),  # written by write_file: a header row and nothing else
    ],
)
def test_a_file_without_records_succeeds_with_zero_rows(
    tmp_path: Path, db_url: str, fmt: str, content: bytes
) -> None:
    path = tmp_path / f"people.{fmt}"
    if fmt == "xlsx":
        write_file(path, ["id", "name"], [])
    else:
        path.write_bytes(content)
    mapping = mapping_file(tmp_path, "people", ["id"], _PEOPLE)
    report = import_file(path, mapping, db_url)
    assert assert_accounted(report, 0) == []
    assert table_rows(db_url, "people") == []  # the table is created, empty
    if fmt in ("csv", "xlsx"):  # a header says the columns: the identity mapping works too
        again = import_file(path, None, db_url, key=["id"], table="people_identity")
        assert assert_accounted(again, 0) == []
        assert table_rows(db_url, "people_identity") == []


@pytest.mark.parametrize("content", [b"[]", b"<rows></rows>"])
def test_no_records_and_no_mapping_fails_clearly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / ("people.json" if content == b"[]" else "people.xml")
    path.write_bytes(content)
    report = import_file(path, None, f"sqlite:///{tmp_path / 't.db'}")
    assert_clear_failure(report, "has no columns to import")


# -- a file that changes encoding ---------------------------------------------------------------


def test_small_csv_mixing_utf8_and_latin1_fails_naming_the_line(
    tmp_path: Path, db_url: str
) -> None:
    before = seed(tmp_path, db_url, None, key=["id"], table="mixed")
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"id,name\n3,ok\n4,caf\xc3\xa9\n5,caf\xe9\n6,x\n")
    report = import_file(path, None, db_url, key=["id"])
    assert_clear_failure(
        report,
        "line 4 (byte 26) cannot be decoded as utf-8",
        "line 3 holds utf-8 text, so the file mixes encodings",
    )
    assert table_rows(db_url, "mixed") == before


def test_declared_latin1_is_trusted_with_a_warning(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"id,name\n3,ok\n4,caf\xc3\xa9\n5,caf\xe9\n")
    mapping = mapping_file(tmp_path, "mixed", ["id"], _PEOPLE, "{encoding: latin-1}")
    report = import_file(path, mapping, sqlite_url)
    assert assert_accounted(report, 3) == []
    assert table_rows(sqlite_url, "mixed") == [(3, "ok"), (4, "cafÃ©"), (5, "café")]
    assert any(w.startswith("line 3 holds bytes that read as UTF-8 text") for w in report.warnings)


def test_declared_utf8_fails_at_the_latin1_line(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"id,name\n3,ok\n4,caf\xe9\n")
    mapping = mapping_file(tmp_path, "mixed", ["id"], _PEOPLE, "{encoding: utf-8}")
    report = import_file(path, mapping, sqlite_url)
    assert_clear_failure(report, "line 3 (byte 18) cannot be decoded as utf-8", "cp1252")
    assert not table_rows(sqlite_url, "mixed")  # no table, or an empty one


def test_mostly_latin1_reads_as_cp1252_and_warns_of_the_utf8_line(
    tmp_path: Path, sqlite_url: str
) -> None:
    path = tmp_path / "mostly.csv"
    path.write_bytes(b"id,name\n1,caf\xe9\n2,caf\xc3\xa9\n3,na\xefve\n")
    report = import_file(path, None, sqlite_url, key=["id"])
    assert assert_accounted(report, 3) == []
    assert report.warnings == [
        "line 3 holds bytes that read as UTF-8 text ('é') but the file is read as cp1252, so "
        "they read as 'Ã©': if the file mixes encodings, convert it to one and import it again"
    ]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        (
            "mixed.json",
            b'[{"id": 3, "name": "caf\xc3\xa9"}, {"id": 4, "name": "caf\xe9"}]',
            "invalid bytes in UTF8 string",
        ),
        (
            "mixed.ndjson",
            b'{"id": 3, "name": "caf\xc3\xa9"}\n{"id": 4, "name": "caf\xe9"}\n',
            "line 2 is not valid JSON: text that is not UTF-8",
        ),
        (
            "mixed.xml",
            b"<rows><row><id>3</id><name>caf\xc3\xa9</name></row>"
            b"<row><id>4</id><name>caf\xe9</name></row></rows>",
            "Invalid bytes in character encoding (the document is read as utf-8",
        ),
    ],
)
def test_json_and_xml_mixing_encodings_fail_and_leave_the_table(
    tmp_path: Path, db_url: str, name: str, content: bytes, problem: str
) -> None:
    before = seed(tmp_path, db_url, None, key=["id"], table="mixed")
    path = tmp_path / name
    path.write_bytes(content)
    assert_clear_failure(import_file(path, None, db_url, key=["id"], table="mixed"), problem)
    assert table_rows(db_url, "mixed") == before


# -- a quote never closed -----------------------------------------------------------------------


def test_a_quote_never_closed_fails_instead_of_swallowing_the_rest(
    tmp_path: Path, db_url: str
) -> None:
    before = seed(tmp_path, db_url, None, key=["id"], table="quote")
    path = tmp_path / "quote.csv"
    path.write_bytes(
        b"id,name\n"
        + b"".join(b"%d,n\n" % i for i in range(3, 60_000))
        + b'9,"oops\n'
        + b"10,x\n" * 100
    )
    report = import_file(path, None, db_url, key=["id"])
    assert_clear_failure(
        report, "the record starting at line 59999 opens a quote that is never closed"
    )
    assert table_rows(db_url, "quote") == before
