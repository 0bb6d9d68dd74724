"""The write-path benchmark's pure parts, and its hand-written SQL checked against Conveyor.

The benchmark scripts import each other as top-level modules (a script's folder is on its
path), so bench/ is put on the path here too. Nothing here times anything or imports big files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from conveyor import import_file
from conveyor.mapping import load_mapping
from conveyor.mapping.checks import EMAIL_PATTERN
from tests.helpers import ROOT

sys.path.append(str(ROOT / "bench"))
import generate_contacts
import handwritten
import memory_large
import write_path
from write_path import Run

MAPPING = ROOT / "bench" / "contacts.yaml"


def runs(**seconds: list[float]) -> list[Run]:
    """Runs of 1,000 rows each with the given times, per case key."""
    return [Run(case, 1000, s) for case, times in seconds.items() for s in times]


# -- command lines ----------------------------------------------------------------------------


def test_defaults_and_the_command_that_repeats_a_run() -> None:
    args = write_path.parser().parse_args([])
    assert (args.rows, args.seed, args.repeat, args.json, args.pg_url) == (
        1_000_000,
        42,
        1,
        False,
        None,
    )
    assert write_path.command(args) == "python bench/write_path.py --rows 1000000 --seed 42"
    args = write_path.parser().parse_args(
        ["--rows", "5", "--seed", "7", "--repeat", "3", "--json", "--pg-url", "postgresql://x"]
    )
    assert write_path.command(args) == (
        "python bench/write_path.py --rows 5 --seed 7 --repeat 3 --json"
    )


@pytest.mark.parametrize("argv", [["--rows", "0"], ["--repeat", "-2"]])
def test_counts_below_one_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        write_path.parser().parse_args(argv)
    assert exit_.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_memory_script_takes_a_size_or_rows_not_both(capsys: pytest.CaptureFixture[str]) -> None:
    parse = memory_large._parser().parse_args
    assert parse(["--size-gb", "5"]).size_gb == 5.0
    assert parse(["--rows", "200"]).rows == 200
    for argv in ([], ["--size-gb", "1", "--rows", "2"], ["--size-gb", "0"]):
        with pytest.raises(SystemExit):
            parse(argv)
    err = capsys.readouterr().err
    assert "one of the arguments --size-gb --rows is required" in err
    assert "must be more than 0, got 0" in err


def test_rows_for_a_size_follow_the_measured_row_size() -> None:
    assert memory_large.rows_for(5) == round(5 * 2**30 / 155.5)
    assert 34_000_000 < memory_large.rows_for(5) < 35_000_000
    assert memory_large.rows_for(1e-9) == 1


# -- ratios and the table ---------------------------------------------------------------------


def test_ratios_compare_median_rates_with_each_reference() -> None:
    summaries = write_path.summarise(
        runs(a=[1.0, 3.0, 2.0], b=[4.0, 4.0, 5.0], c=[2.0], c_sql=[3.0], d=[2.5, 10.0, 3.0])
    )
    by_case = {s.case.key: s for s in summaries}
    assert [s.case.key for s in summaries] == ["a", "b", "c", "c_sql", "d"]
    assert by_case["a"].run.seconds == 2.0  # the median of three
    assert by_case["b"].ratio == pytest.approx(0.5)  # (1000/4) / (1000/2)
    assert by_case["b"].met is True  # the goal is 0.5: equal meets it
    assert by_case["c"].ratio == pytest.approx(1.5)
    assert by_case["c"].met is True
    assert by_case["d"].ratio == pytest.approx(2 / 3)
    assert by_case["d"].met is True
    assert (by_case["a"].ratio, by_case["a"].met, by_case["c_sql"].ratio) == (None, None, None)


def test_a_goal_missed_and_an_even_count_of_runs() -> None:
    summaries = write_path.summarise(runs(a=[1.0, 2.0], d=[2.0, 4.0]))
    by_case = {s.case.key: s for s in summaries}
    assert by_case["a"].run.seconds == 1.0  # the lower median of two is a real run
    assert by_case["d"].ratio == pytest.approx(0.5)
    assert by_case["d"].met is False  # below 0.6
    assert "b" not in by_case  # a case without runs is left out


def test_ratio_to_a_reference_that_did_nothing_is_zero() -> None:
    assert write_path.rate_ratio(Run("b", 10, 1.0), Run("a", 0, 1.0)) == 0.0
    assert Run("a", 10, 0.0).rows_per_second == 0.0


def test_markdown_table_has_a_row_per_case_with_its_verdict() -> None:
    measured = [
        Run("a", 1000, 1.0, counts={"copied": 1000}),
        Run("b", 1000, 4.0, 512.4, {"rows_read": 1000, "inserted": 10, "unchanged": 990}),
        Run("c", 1000, 1.0, 300.0, {"rows_read": 1000, "updated": 5}),
        Run("c_sql", 1000, 1.0, counts={"copied": 1000, "written": 1000}),
    ]
    lines = write_path.markdown_table(write_path.summarise(measured)).splitlines()
    assert lines[0] == (
        "| case | rows | seconds | rows/s | ratio | goal | met? | peak RSS MB | counts |"
    )
    assert lines[1] == "|---|---|---|---|---|---|---|---|---|"
    assert lines[2] == (
        "| (a) raw COPY, text columns | 1,000 | 1.00 | 1,000 | reference |  |  |  | copied=1,000 |"
    )
    assert lines[3] == (
        "| (b) re-import, half stored, same values | 1,000 | 4.00 | 250 | 0.25x (a) | >= 0.5 "
        "| **no** | 512 | inserted=10 unchanged=990 |"
    )
    assert "| 1.00x hand-written | >= 1.2 | **no** | 300 | updated=5 |" in lines[4]
    assert lines[5].endswith("| reference |  |  |  | copied=1,000 written=1,000 |")
    assert len(lines) == 6


def test_run_line_shows_memory_only_when_measured() -> None:
    line = Run("a", 2000, 0.5, counts={"copied": 2000}).line()
    assert line.startswith("(a) raw COPY, text columns ")
    assert line.split()[-4:] == ["rows=2000", "seconds=0.50", "rows/s=4,000", "copied=2,000"]
    assert "peak_rss_mb=123 inserted=1" in Run("d", 1, 1.0, 123.4, {"inserted": 1}).line()


def test_tables_identical_compares_every_run_but_the_raw_copy() -> None:
    same = [
        Run("a", 1, 1.0),
        Run("b", 1, 1.0, fingerprint="5:9"),
        Run("d", 1, 1.0, None, {}, "5:9"),
    ]
    assert write_path.tables_identical(same)
    assert not write_path.tables_identical([*same, Run("c", 1, 1.0, fingerprint="5:8")])


# -- the hand-written SQL ---------------------------------------------------------------------


def test_sql_columns_follow_the_mapping_and_the_file() -> None:
    fields = load_mapping(MAPPING).fields
    assert list(handwritten.TARGET_COLUMNS) == list(fields)
    assert len(handwritten.RAW_COLUMNS) == len(generate_contacts.COLUMNS)
    for name, (raw, _expr) in handwritten.TARGET_COLUMNS.items():
        source = generate_contacts.COLUMNS.index(str(fields[name].from_))
        assert handwritten.RAW_COLUMNS[source] == raw, name


def test_upsert_text_keeps_the_last_row_of_a_key_and_skips_equal_rows() -> None:
    text = handwritten.upsert_sql("bench_contacts").as_string()
    assert text.startswith('INSERT INTO "bench_contacts" AS t ("email", "contact_id", ')
    assert 'SELECT DISTINCT ON ("s"."email" COLLATE "C") ' in text
    assert 'FROM "handwritten_stage" AS r OFFSET 0) AS s WHERE ' in text
    assert 'ORDER BY "s"."email" COLLATE "C", s."file_order" DESC ' in text
    assert 'ON CONFLICT ("email") DO UPDATE SET "contact_id" = "excluded"."contact_id", ' in text
    assert text.count('"excluded"."modified_at"') == 2  # set, and compared in the WHERE
    assert '"email" = "excluded"' not in text
    assert " IS DISTINCT FROM (" in text
    assert "{" not in text.replace("%(email_pattern)s", "")  # every placeholder filled


def test_stage_table_numbers_rows_only_when_temporary() -> None:
    plain = handwritten.create_raw_table("raw").as_string()
    temp = handwritten.create_raw_table("st", temporary=True).as_string()
    assert plain.startswith('CREATE TABLE "raw" ("contact_id" text, ')
    assert plain.count(" text") == 12 and "file_order" not in plain
    assert temp.endswith('"file_order" bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DROP')


# -- against PostgreSQL -----------------------------------------------------------------------


def _connect(url: str) -> psycopg.Connection[Any]:
    return handwritten.connect(make_url(url))


@pytest.mark.postgres
def test_fast_email_check_answers_as_conveyors_pattern(pg_url: str) -> None:
    label63, label64 = "a" * 63, "b" * 64
    addresses = [
        "anna.smith.1@example.com",
        "Anna.Smith@Example.COM",
        f"x@{label63}.com",
        f"x@{label64}.com",
        f"x@mail.{label64}",
        f"x@{'.'.join(['abcdefghij'] * 8)}",  # a long domain of short labels
        f"{'c' * 70}@example.com",  # a long local part is fine
        "x@-example.com",
        "x@example-.com",
        "x@ex-ample.com",
        "x@example",
        "x@example.",
        "x@@example.com",
        "x y@example.com",
        "x@",
        "@example.com",
        "x@localhost",
        "x@example..com",
    ]
    query = sql.SQL("SELECT a, a ~ %(conveyor)s, {} FROM unnest(%(addresses)s::text[]) AS a")
    fast = query.format(handwritten.email_check(sql.Identifier("a")))
    params = {**handwritten.check_patterns(), "conveyor": EMAIL_PATTERN, "addresses": addresses}
    with _connect(pg_url) as conn:
        answers = conn.execute(fast, params).fetchall()
    assert [(a, fast) for a, _, fast in answers] == [(a, slow) for a, slow, _ in answers]
    assert sum(slow for _, slow, _ in answers) == 6  # both answers seen


def _same_rows(conn: psycopg.Connection[Any], one: str, other: str) -> bool:
    query = sql.SQL(
        "SELECT (SELECT count(*) FROM (TABLE {a} EXCEPT ALL TABLE {b}) AS x)"
        " + (SELECT count(*) FROM (TABLE {b} EXCEPT ALL TABLE {a}) AS y)"
    ).format(a=sql.Identifier(one), b=sql.Identifier(other))
    row = conn.execute(query).fetchone()
    return row is not None and row[0] == 0


@pytest.mark.postgres
def test_handwritten_sql_gives_conveyors_table(pg_empty_url: str, tmp_path: Path) -> None:
    """First load, then half the keys missing and the rest changed: same rows as Conveyor."""
    path = generate_contacts.write_contacts(tmp_path / "contacts.csv", 3000, 5)
    report = import_file(path, MAPPING, pg_empty_url, rejects_path=tmp_path / "rejects.csv")
    assert report.status == "succeeded", report.error
    assert report.counts.duplicates > 10 and report.counts.rejected > 5  # both rules exercised
    patterns = handwritten.check_patterns()
    with _connect(pg_empty_url) as conn:
        conn.execute("CREATE TABLE hand (LIKE bench_contacts INCLUDING ALL)")
        first = handwritten.handwritten_upsert(conn, path, "hand", patterns)
        assert (first.copied, first.written) == (3000, report.counts.inserted)
        assert _same_rows(conn, "bench_contacts", "hand")
        fingerprint = handwritten.fingerprint(conn, "hand")
        assert fingerprint == handwritten.fingerprint(conn, "bench_contacts")
        deleted = conn.execute("DELETE FROM hand WHERE contact_id % 2 = 0").rowcount
        changed = conn.execute("UPDATE hand SET lifetime_value = lifetime_value + 1").rowcount
        assert deleted > 1000 and changed > 1000
        assert handwritten.fingerprint(conn, "hand") != fingerprint
        again = handwritten.handwritten_upsert(conn, path, "hand", patterns)
        assert again.written == deleted + changed
        assert handwritten.fingerprint(conn, "hand") == fingerprint
        raw = handwritten.raw_copy(conn, path, "raw")
        assert raw.copied == 3000
        query = "SELECT count(*) FILTER (WHERE email <> lower(btrim(email))) FROM raw"
        row = conn.execute(query).fetchone()
        assert row is not None and row[0] > 100  # as in the file: untrimmed, mixed case
