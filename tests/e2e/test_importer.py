"""Pipeline behaviours beyond the samples: mismatches caught early, progress, failures recorded."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from conveyor import import_file
from conveyor.report import ImportCounts
from tests.helpers import MAPPINGS, copy_example, rows


def test_schema_mismatch_is_reported_before_anything_is_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE contacts (email TEXT PRIMARY KEY, contact_id BLOB)")
    engine.dispose()
    source = copy_example("contacts.csv", tmp_path)
    report = import_file(source, MAPPINGS / "contacts.yaml", url)
    assert report.status == "failed"
    assert report.error is not None
    assert "contact_id" in report.error
    assert "first_name" in report.error  # every problem is listed, not only the first
    assert rows(url, "contacts", "email") == []
    assert report.rejects_path is None
    jobs = rows(url, "conveyor_import_jobs", "id")
    assert [(j["status"], j["rows_read"]) for j in jobs] == [("failed", 0)]


def test_missing_source_column_names_the_column_and_the_choices(tmp_path: Path) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text("First Name,E-mail\nAda,ada@example.org\n", encoding="utf-8")
    report = import_file(source, MAPPINGS / "contacts.yaml", f"sqlite:///{tmp_path / 't.db'}")
    assert report.status == "failed"
    assert report.error is not None
    assert "E-mail Address" in report.error
    assert "E-mail" in report.error


def test_progress_reports_reading_and_loading(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int | None, int]] = []
    source = copy_example("contacts.csv", tmp_path)
    report = import_file(
        source,
        MAPPINGS / "contacts.yaml",
        f"sqlite:///{tmp_path / 't.db'}",
        progress=lambda phase, done, total, rows: calls.append((phase, done, total, rows)),
    )
    assert report.status == "succeeded"
    size = source.stat().st_size
    assert ("read", size, size, 12) in calls
    assert calls[-1] == ("load", 7, 7, 7)


def test_job_row_records_the_outcome(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    source = copy_example("contacts.csv", tmp_path)
    report = import_file(source, MAPPINGS / "contacts.yaml", url)
    (job,) = rows(url, "conveyor_import_jobs", "id")
    assert job["id"] == report.job_id
    assert job["status"] == "succeeded"
    assert job["file_name"] == "contacts.csv"
    assert job["file_size"] == source.stat().st_size
    assert len(job["file_sha256"]) == 64
    assert job["mapping_name"] == "contacts"
    assert job["target_table"] == "contacts"
    counts = ImportCounts(**{k: job[k] for k in ImportCounts.__dataclass_fields__})
    assert counts == report.counts
    assert job["rejects_path"] == str(tmp_path / "contacts.rejects.csv")


def test_update_only_rejects_unknown_keys_into_the_rejects_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    first = tmp_path / "people.csv"
    first.write_text("id,name\n1,Ann\n2,Bob\n", encoding="utf-8")
    assert import_file(first, target=url, key=["id"]).counts.inserted == 2
    mapping = tmp_path / "people.yaml"
    mapping.write_text(
        "target: {table: people, key: [id], mode: update_only}\n"
        "fields:\n  id: {type: integer}\n  name: {}\n",
        encoding="utf-8",
    )
    update = tmp_path / "update.csv"
    update.write_text("id,name\n1,Ann\n2,Bobby\n3,Cid\n", encoding="utf-8")
    report = import_file(update, mapping, url)
    assert report.counts == ImportCounts(3, 0, 1, 1, 0, 1)
    assert report.rejects_path is not None
    rejected = report.rejects_path.read_text(encoding="utf-8").splitlines()
    assert rejected[0] == "id,name,_row,_error"
    assert rejected[1].startswith("3,Cid,4,")
    assert "not found" in rejected[1]


def _dedupe_import(tmp_path: Path, strategy: str) -> tuple[ImportCounts, str]:
    source = tmp_path / "people.csv"
    source.write_text(
        "id,name,city\n1,Ann,\n2,Bob,Oslo\n1,,Rome\n3,Cid,Lima\n2,Bo,\n", encoding="utf-8"
    )
    mapping = tmp_path / "people.yaml"
    mapping.write_text(
        "target: {table: people, key: [id]}\n"
        f"dedupe: {{strategy: {strategy}}}\n"
        "fields:\n  id: {type: integer}\n  name: {}\n  city: {}\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 't.db'}"
    report = import_file(source, mapping, url)
    assert report.status == "succeeded", report.error
    stored = [(r["id"], r["name"], r["city"]) for r in rows(url, "people", "id")]
    rejects = report.rejects_path.read_text(encoding="utf-8") if report.rejects_path else ""
    return report.counts, f"{stored}\n{rejects}"


def test_dedupe_error_rejects_every_duplicated_row_into_the_rejects_file(tmp_path: Path) -> None:
    counts, seen = _dedupe_import(tmp_path, "error")
    assert counts == ImportCounts(5, 1, 0, 0, 0, 4)
    stored, rejects = seen.split("\n", 1)
    assert stored == "[(3, 'Cid', 'Lima')]"
    lines = rejects.splitlines()
    assert lines[0] == "id,name,city,_row,_error"
    assert sorted(line.split(",")[3] for line in lines[1:]) == ["2", "3", "4", "6"]
    assert all("duplicate key id=1" in ln or "duplicate key id=2" in ln for ln in lines[1:])


def test_dedupe_merge_fills_fields_from_later_rows(tmp_path: Path) -> None:
    counts, seen = _dedupe_import(tmp_path, "merge")
    assert counts == ImportCounts(5, 3, 0, 0, 2, 0)
    assert seen.split("\n", 1)[0] == "[(1, 'Ann', 'Rome'), (2, 'Bo', 'Oslo'), (3, 'Cid', 'Lima')]"
