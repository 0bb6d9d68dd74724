"""Bad input at size, end to end: a 100 MB field, 10,000 columns, an encoding change after the
first batches. The outcomes and their rules are described in ``test_bad_input``.

- A 100 MB value imports in CSV (the csv module's field limit is raised to 256 MiB), JSON and
  XML (a document without a DOCTYPE lifts libxml2's 10 MB text-node limit). Peak RSS of such an
  import is about ten times the field (measured: 0.7 to 1.1 GB for 100 MB).
- 10,000 columns read fine; a mapping that picks 5 of them imports. A table of more columns
  than the database allows (SQLite 2,000, PostgreSQL 1,600) fails before anything is written.
- Bytes that stop decoding after the first batches fail the import before the first row is
  written: the file is read and mapped whole before the load.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import xlsxwriter

from conveyor import import_file
from tests.e2e.test_bad_input import (
    assert_accounted,
    assert_clear_failure,
    mapping_file,
    seed,
    table_rows,
)

BIG = 100 * 1024 * 1024
WIDE = 10_000
PICKED = (0, 1, 500, 5_000, 9_999)


def _scalar(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


# -- a 100 MB field -----------------------------------------------------------------------------


def _big_file(folder: Path, fmt: str) -> Path:
    path = folder / f"big.{fmt}"
    big = "x" * BIG
    with path.open("w", encoding="utf-8") as fh:
        if fmt == "csv":
            fh.writelines(["id,note\n1,small\n2,", big, "\n3,after\n"])
        elif fmt == "json":
            fh.writelines(['[{"id": 1, "note": "small"}, {"id": 2, "note": "', big])
            fh.write('"}, {"id": 3, "note": "after"}]')
        else:
            fh.writelines(["<rows><row><id>1</id><note>small</note></row><row><id>2</id><note>"])
            fh.writelines([big, "</note></row><row><id>3</id><note>after</note></row></rows>"])
    return path


def _assert_big_imported(path: Path, url: str) -> None:
    report = import_file(path, None, url, key=["id"])
    assert assert_accounted(report, 3) == []
    assert report.counts.inserted == 3
    lengths = _scalar(url, "SELECT id, length(note) FROM big ORDER BY id")
    assert lengths == [(1, 5), (2, BIG), (3, 5)]


@pytest.mark.slow
def test_a_100_mb_csv_field_imports(tmp_path: Path, db_url: str) -> None:
    _assert_big_imported(_big_file(tmp_path, "csv"), db_url)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_100_mb_json_or_xml_value_imports(tmp_path: Path, sqlite_url: str, fmt: str) -> None:
    # SQLite only: the CSV case shows PostgreSQL taking a 100 MB value; this is the reader.
    _assert_big_imported(_big_file(tmp_path, fmt), sqlite_url)


def test_a_field_past_the_limit_fails_naming_its_line(tmp_path: Path, sqlite_url: str) -> None:
    # A quote never closed is what a field past the limit almost always is (see test_bad_input
    # for one in a smaller file); here the field is closed but longer than the limit allows.
    path = tmp_path / "long.csv"
    path.write_text("id,note\n1,a\n2," + "x" * 1000 + "\n3,b\n", encoding="utf-8")
    limit = csv.field_size_limit(500)
    try:
        report = import_file(path, None, sqlite_url, key=["id"])
    finally:
        csv.field_size_limit(limit)
    assert_clear_failure(
        report, "the record starting at line 3 has a field longer than 500 characters"
    )
    assert not table_rows(sqlite_url, "long")


# -- 10,000 columns -----------------------------------------------------------------------------


def _wide_file(folder: Path, fmt: str) -> Path:
    header = [f"c{i}" for i in range(WIDE)]
    rows = [[r] + [f"{r}_{i}" for i in range(1, WIDE)] for r in range(1, 4)]
    path = folder / f"wide.{fmt}"
    if fmt == "csv":
        lines = [",".join(header)] + [",".join(map(str, row)) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, header)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, row)
    book.close()
    return path


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_mapping_picking_5_of_10000_columns_imports(
    tmp_path: Path, db_url: str, fmt: str
) -> None:
    fields = "".join(f"  c{i}: {{from: c{i}}}\n" for i in PICKED)
    mapping = mapping_file(tmp_path, "wide5", ["c0"], fields)
    report = import_file(_wide_file(tmp_path, fmt), mapping, db_url)
    assert assert_accounted(report, 3) == []
    stored = table_rows(db_url, "wide5")
    assert stored is not None
    assert [tuple(str(v) for v in row) for row in stored] == [
        (str(r), *(f"{r}_{i}" for i in PICKED[1:])) for r in range(1, 4)
    ]


def test_more_columns_than_the_database_allows_fail_before_writing(
    tmp_path: Path, db_url: str
) -> None:
    fields = "".join(f"  c{i}: {{from: c{i}}}\n" for i in range(2_500))
    mapping = mapping_file(tmp_path, "w2500", ["c0"], fields)
    report = import_file(_wide_file(tmp_path, "csv"), mapping, db_url)
    assert_clear_failure(report, "'w2500'", "columns", names_file=False)
    assert table_rows(db_url, "w2500") is None


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_10000_columns_without_a_mapping_fail_with_how_to_fix(
    tmp_path: Path, db_url: str, fmt: str
) -> None:
    report = import_file(_wide_file(tmp_path, fmt), None, db_url, key=["c0"])
    assert_clear_failure(report, "10,000 columns", "mapping", names_file=False)
    assert table_rows(db_url, "wide") is None


# -- an encoding change after the first batches -------------------------------------------------

ROWS = 120_000
BAD_AT = 110_000  # record number of the first Latin-1 bytes: past two 50,000-row batches


def _late_latin1(folder: Path, fmt: str) -> Path:
    """UTF-8 records with accents from the start, then one whose "é" is a Latin-1 byte."""
    names = [("Zoé" if i % 2 else "Ann").encode() for i in range(ROWS)]
    names[BAD_AT - 1] = b"caf\xe9"
    path = folder / f"mixed.{fmt}"
    if fmt == "csv":
        body = b"".join(b"%d,%s\n" % (i + 10, n) for i, n in enumerate(names))
        path.write_bytes(b"id,name\n" + body)
    elif fmt == "json":
        body = b",".join(b'{"id": %d, "name": "%s"}' % (i + 10, n) for i, n in enumerate(names))
        path.write_bytes(b"[" + body + b"]")
    else:
        body = b"".join(
            b"<row><id>%d</id><name>%s</name></row>" % (i + 10, n) for i, n in enumerate(names)
        )
        path.write_bytes(b"<rows>" + body + b"</rows>")
    return path


def test_a_csv_encoding_change_after_the_first_batches_writes_nothing(
    tmp_path: Path, db_url: str
) -> None:
    before = seed(tmp_path, db_url, None, key=["id"], table="mixed")
    report = import_file(_late_latin1(tmp_path, "csv"), None, db_url, key=["id"])
    assert_clear_failure(
        report,
        f"line {BAD_AT + 1} (byte ",
        "cannot be decoded as utf-8: line 3 holds utf-8 text, so the file mixes encodings",
    )
    assert report.counts.inserted == report.counts.updated == 0
    assert table_rows(db_url, "mixed") == before


@pytest.mark.parametrize(
    ("fmt", "problem"),
    [
        ("json", f"invalid JSON after record {BAD_AT - 1}"),
        ("xml", "Invalid bytes in character encoding"),
    ],
)
def test_a_json_or_xml_encoding_change_after_the_first_batches_writes_nothing(
    tmp_path: Path, sqlite_url: str, fmt: str, problem: str
) -> None:
    before = seed(tmp_path, sqlite_url, None, key=["id"], table="mixed")
    report = import_file(_late_latin1(tmp_path, fmt), None, sqlite_url, key=["id"])
    assert_clear_failure(report, problem)
    assert report.counts.inserted == report.counts.updated == 0
    assert table_rows(sqlite_url, "mixed") == before
