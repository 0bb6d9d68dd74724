"""Exports end to end: every format's round trip through a mapping (export, import again, the
identical table), on both dialects; PostgreSQL's COPY path against the Polars path; filters,
overwrite and partial files through the command line."""

from __future__ import annotations

import json
import re
import resource
import signal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conveyor.cli import app
from conveyor.cli_export import join_option_words
from conveyor.exporter import ExportRequest, export_table, options_from
from conveyor.importer import import_file
from conveyor.mapping import MappingSpec, parse_mapping
from tests.helpers import rows

runner = CliRunner()

MAPPING = """\
name: people
source: {delimiter: ";"}
target: {table: people, key: [email]}
fields:
  email: {from: E-mail, transforms: [strip, lower], required: true}
  name: {from: Name}
  amount: {from: Amount, type: "decimal(14,2)", decimal_separator: ",", thousands_separator: "."}
  signed_up: {from: Signed, type: date, format: "%d/%m/%Y"}
  seen_at: {from: Seen, type: datetime, format: "%Y-%m-%d %H:%M:%S", timezone: Europe/Paris}
  active: {from: Active, type: boolean, true_values: [ja], false_values: [nein]}
  visits: {from: Visits, type: integer}
  score: {from: Score, type: float}
  note: {from: Note}
"""

PEOPLE = (
    "E-mail;Name;Amount;Signed;Seen;Active;Visits;Score;Note\n"
    ' Ann@X.org ;"Ann ""the first""";1.234,50;31/01/2024;2024-03-30 02:30:00;ja;3;0.1;"a;b\nc"\n'
    "bob@x.org;Bøb Ünïcode;;29/02/2024;2024-07-01 23:59:59;nein;;2.5;\n"
    "cy@x.org;;0,01;;;;12;;<tag> & 'quotes'\n"
    "dee@x.org;Dee;99999999999,99;01/01/1999;1999-12-31 23:00:00;ja;0;-3.75;x\n"
)
FORMATS = ["csv", "xlsx", "json", "ndjson", "xml"]


def spec(table: str = "people") -> MappingSpec:
    parsed = parse_mapping(MAPPING)
    return parsed.model_copy(update={"target": parsed.target.model_copy(update={"table": table})})


def seed(db_url: str, folder: Path) -> None:
    source = folder / "seed.csv"
    source.write_text(PEOPLE, encoding="utf-8")
    report = import_file(source, spec(), db_url)
    assert (report.status, report.counts.inserted, report.counts.rejected) == ("succeeded", 4, 0)


def ring_a_bell(db_url: str) -> None:
    """Put a control character XML 1.0 cannot hold into row 4's note."""
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE people SET note = 'bell \x07' WHERE email = 'dee@x.org'")
    engine.dispose()


def table_rows(db_url: str, table: str) -> list[dict[str, Any]]:
    return rows(db_url, table, "email")


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_through_the_mapping(fmt: str, db_url: str, tmp_path: Path) -> None:
    seed(db_url, tmp_path)
    out = tmp_path / f"people.{fmt}"
    report = export_table(ExportRequest("people", out, database=db_url, mapping=spec()))
    assert (report.status, report.rows, report.error) == ("succeeded", 4, None)
    assert report.bytes == out.stat().st_size > 0
    again = import_file(out, spec("people_again"), db_url)
    assert (again.status, again.counts.inserted, again.counts.rejected) == ("succeeded", 4, 0)
    assert table_rows(db_url, "people_again") == table_rows(db_url, "people")


def test_csv_through_the_mapping_reads_like_the_source(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    out = tmp_path / "people.csv"
    export_table(ExportRequest("people", out, database=sqlite_url, mapping=spec()))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "E-mail;Name;Amount;Signed;Seen;Active;Visits;Score;Note"
    # Stored values, written as the mapping reads them: local time, day first, decimal comma.
    assert (
        lines[1]
        == 'ann@x.org;"Ann ""the first""";1234,50;31/01/2024;2024-03-30 02:30:00;ja;3;0.1;"a;b'
    )


@pytest.mark.postgres
def test_postgres_copy_and_the_csv_writer_write_the_same_bytes(
    pg_empty_url: str, tmp_path: Path
) -> None:
    seed(pg_empty_url, tmp_path)
    copied, written = tmp_path / "copied.csv", tmp_path / "written.csv"
    assert export_table(ExportRequest("people", copied, database=pg_empty_url)).rows == 4
    slow = ExportRequest("people", written, database=pg_empty_url, fast_copy=False)
    assert export_table(slow).rows == 4
    assert copied.read_bytes() == written.read_bytes()
    text = copied.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ("email,name,amount,signed_up,seen_at,active,visits,score,note")
    assert "cy@x.org,,0.01,,,,12,,<tag> & 'quotes'" in text
    assert 'ann@x.org,"Ann ""the first""",1234.50,2024-01-31,2024-03-30 01:30:00+00,' in text


def test_an_existing_file_needs_overwrite(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    out = tmp_path / "people.json"
    out.write_text("keep me")
    report = export_table(ExportRequest("people", out, database=sqlite_url))
    assert report.status == "failed"
    assert report.error == f"{out} exists: pass --overwrite to replace it"
    assert out.read_text() == "keep me"
    replaced = export_table(ExportRequest("people", out, database=sqlite_url, overwrite=True))
    assert replaced.status == "succeeded"
    assert [r["email"] for r in json.loads(out.read_text())] == [
        "ann@x.org",
        "bob@x.org",
        "cy@x.org",
        "dee@x.org",
    ]


def test_a_failed_export_leaves_no_file(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    ring_a_bell(sqlite_url)
    out = tmp_path / "people.xml"
    report = export_table(ExportRequest("people", out, database=sqlite_url))
    assert report.status == "failed"
    assert report.error is not None and "note" in report.error and "4" in report.error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed.csv", "test.db"]


def test_cli_filters_order_limit_fields_and_json(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    out = tmp_path / "some.ndjson"
    args = ["export", "people", "--out", str(out), "--database", sqlite_url, "--json"]
    args += ["--fields", "email,visits", "--where", "visits", ">=", "1", "--limit", "5"]
    result = runner.invoke(app, join_option_words([*args, "--order-by", "visits", "desc"]))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["status"], summary["rows"], summary["format"]) == ("succeeded", 2, "ndjson")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records == [{"email": "cy@x.org", "visits": 12}, {"email": "ann@x.org", "visits": 3}]


def test_cli_unknown_field_lists_the_valid_ones(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    out = tmp_path / "x.csv"
    args = ["export", "people", "--out", str(out), "--database", sqlite_url]
    result = runner.invoke(app, join_option_words([*args, "--where", "vists", "=", "1"]))
    assert result.exit_code == 1
    assert "vists" in result.stdout and "visits" in result.stdout and "email" in result.stdout
    assert not out.exists()


def test_option_words_join_into_one_value_each() -> None:
    argv = ["export", "t", "--order-by", "a", "desc", "--order-by", "b", "--limit", "2"]
    argv += ["--where", "n", ">=", "1", "--where", "name = Ann Lee", "--fields", "a"]
    assert join_option_words(argv) == [
        "export",
        "t",
        "--order-by",
        "a desc",
        "--order-by",
        "b",
        "--limit",
        "2",
        "--where",
        "n\x1f>=\x1f1",
        "--where",
        "name = Ann Lee",
        "--fields",
        "a",
    ]


def test_where_in_one_quoted_word(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    out = tmp_path / "x.json"
    args = ["export", "people", "--out", str(out), "--database", sqlite_url]
    result = runner.invoke(app, [*args, "--where", "name = Bøb Ünïcode", "--fields", "email"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == [{"email": "bob@x.org"}]


def test_options_given_win_over_the_mappings(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    out = tmp_path / "tabbed.csv"
    request = ExportRequest(
        "people", out, database=sqlite_url, mapping=spec(), options=options_from(delimiter="tab")
    )
    assert export_table(request).status == "succeeded"
    assert out.read_text(encoding="utf-8").splitlines()[0] == "\t".join(
        ["E-mail", "Name", "Amount", "Signed", "Seen", "Active", "Visits", "Score", "Note"]
    )


def test_cli_xml_invalid_characters_replaced_or_refused(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    ring_a_bell(sqlite_url)
    out = tmp_path / "people.xml"
    base = ["export", "people", "--out", str(out), "--database", sqlite_url]
    refused = runner.invoke(app, [*base, "--xml-invalid-chars", "drop"])
    assert refused.exit_code == 2
    assert "use error" in refused.output and "replace" in refused.output
    result = runner.invoke(app, [*base, "--xml-invalid-chars", "replace", "--xml-root", "people"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "<note>bell \ufffd</note>" in text and text.count("<people") == 1


def test_a_file_that_cannot_be_written_is_a_clear_failure(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    out = Path("/proc/conveyor-export.csv")  # a folder no file can be created in, even as root
    report = export_table(ExportRequest("people", out, database=sqlite_url))
    assert report.status == "failed"
    assert report.error is not None and "cannot write the export file" in report.error


def test_a_write_failing_half_way_is_a_clear_failure(sqlite_url: str, tmp_path: Path) -> None:
    """A full disk, simulated by a file size limit (EFBIG once SIGXFSZ is ignored)."""
    seed(sqlite_url, tmp_path)
    out = tmp_path / "big.json"
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, limits[1]))
    try:
        report = export_table(ExportRequest("people", out, database=sqlite_url))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous)
    assert report.status == "failed"
    assert report.error is not None
    assert report.error.startswith(f"cannot write {out}: File too large")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed.csv", "test.db"]


def test_progress_gets_rows_written_of_the_querys_rows(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    seen: list[tuple[int, int | None]] = []
    request = ExportRequest("people", tmp_path / "p.xml", database=sqlite_url, batch_rows=3)
    report = export_table(request, lambda rows, total: seen.append((rows, total)))
    assert report.rows == 4
    assert seen == [(0, 4), (3, 4), (4, 4)]


def test_cli_order_by_needs_field_or_field_desc(sqlite_url: str, tmp_path: Path) -> None:
    args = ["export", "people", "--out", str(tmp_path / "x.csv"), "--database", sqlite_url]
    result = runner.invoke(app, [*args, "--order-by", "visits sideways"])
    assert result.exit_code == 2
    words = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # Rich wraps in a box
    assert "'visits sideways': use FIELD or FIELD desc" in words
