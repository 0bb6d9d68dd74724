"""Write modes and strategies chosen in a mapping, through the whole import."""

from __future__ import annotations

from pathlib import Path

from conveyor import import_file
from conveyor.report import ImportCounts
from tests.helpers import rows

MAPPING = """\
name: people
target: {{table: people, key: [id], {target}}}
fields:
  id: {{type: integer}}
  name: {{}}
  city: {{}}
{extra}"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def mapping(tmp_path: Path, target: str, extra: str = "") -> Path:
    return write(
        tmp_path, f"m{abs(hash(target + extra))}.yaml", MAPPING.format(target=target, extra=extra)
    )


def seed(tmp_path: Path, url: str) -> None:
    source = write(tmp_path, "seed.csv", "id,name,city\n1,Ann,Oslo\n2,Bob,Rome\n3,Cy,Lima\n")
    report = import_file(source, mapping(tmp_path, "mode: upsert"), url)
    assert report.counts.inserted == 3, report.error


def people(url: str) -> list[tuple[object, ...]]:
    return [(r["id"], r["name"], r["city"]) for r in rows(url, "people", "id")]


def test_merge_keeps_stored_values_for_empty_fields(tmp_path: Path, db_url: str) -> None:
    seed(tmp_path, db_url)
    source = write(tmp_path, "in.csv", "id,name,city\n1,,Paris\n2,Bob,\n4,Dee,\n")
    report = import_file(source, mapping(tmp_path, "existing: merge"), db_url)
    assert report.counts == ImportCounts(3, 1, 1, 1, 0, 0)
    assert people(db_url) == [
        (1, "Ann", "Paris"),
        (2, "Bob", "Rome"),
        (3, "Cy", "Lima"),
        (4, "Dee", None),
    ]


def test_delete_mode_deletes_by_key_and_rejects_unknown_keys(tmp_path: Path, db_url: str) -> None:
    seed(tmp_path, db_url)
    source = write(tmp_path, "gone.csv", "id,name,city\n1,,\n9,,\n")
    report = import_file(source, mapping(tmp_path, "mode: delete"), db_url)
    assert report.counts == ImportCounts(2, 0, 0, 0, 0, 1, deleted=1)
    assert report.counts.balanced
    assert people(db_url) == [(2, "Bob", "Rome"), (3, "Cy", "Lima")]
    assert report.rejects_path is not None
    text = report.rejects_path.read_text(encoding="utf-8")
    assert "key id=9 not found in people (mode delete)" in text


def test_replace_mode_swaps_the_table_rows(tmp_path: Path, db_url: str) -> None:
    seed(tmp_path, db_url)
    source = write(tmp_path, "all.csv", "id,name,city\n1,Ann,Oslo\n2,Bo,Rome\n5,Eve,Kyiv\n")
    report = import_file(source, mapping(tmp_path, "mode: replace"), db_url)
    assert report.status == "succeeded", report.error
    assert report.counts == ImportCounts(3, 1, 1, 1, 0, 0, removed=1)
    assert people(db_url) == [(1, "Ann", "Oslo"), (2, "Bo", "Rome"), (5, "Eve", "Kyiv")]
    tables = rows(db_url, "conveyor_import_jobs", "id")
    assert tables[-1]["removed"] == 1


def test_add_columns_from_the_mapping(tmp_path: Path, db_url: str) -> None:
    seed(tmp_path, db_url)
    source = write(tmp_path, "wide.csv", "id,name,city,tier\n1,Ann,Oslo,gold\n")
    wider = mapping(tmp_path, "add_columns: true", "  tier: {}\n")
    report = import_file(source, wider, db_url)
    assert report.counts == ImportCounts(1, 0, 1, 0, 0, 0), report.error
    assert [(r["id"], r["tier"]) for r in rows(db_url, "people", "id")] == [
        (1, "gold"),
        (2, None),
        (3, None),
    ]


def test_drift_without_add_columns_is_reported_before_writing(tmp_path: Path, db_url: str) -> None:
    seed(tmp_path, db_url)
    source = write(tmp_path, "wide.csv", "id,name,city,tier\n1,Zed,Oslo,gold\n")
    report = import_file(source, mapping(tmp_path, "mode: upsert", "  tier: {}\n"), db_url)
    assert report.status == "failed"
    assert report.error is not None and "column 'tier' is missing" in report.error
    assert people(db_url)[0] == (1, "Ann", "Oslo")
