"""The whole pipeline on the sample files, against real SQLite and real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from conveyor import import_file
from conveyor.formats import SourceOptions, read_source
from conveyor.mapping import load_mapping
from conveyor.report import ImportCounts
from tests.helpers import MAPPINGS, copy_example, drop_all, rows

# file, mapping, table, key, expected counts of a first import into an empty table
CASES = [
    ("contacts.csv", "contacts", "contacts", "email", ImportCounts(12, 7, 0, 0, 1, 4)),
    ("orders.xlsx", "orders", "orders", "order_no", ImportCounts(6, 4, 0, 0, 1, 1)),
    ("products.json", "products", "products", "sku", ImportCounts(5, 4, 0, 0, 0, 1)),
    ("suppliers.xml", "suppliers", "suppliers", "supplier_id", ImportCounts(3, 2, 0, 0, 0, 1)),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.db'}"
        return
    url: str = request.getfixturevalue("pg_url")
    drop_all(url)
    yield url
    drop_all(url)


@pytest.mark.parametrize(("file", "mapping", "table", "key", "expected"), CASES)
def test_first_import_then_reimport(
    tmp_path: Path,
    target: str,
    file: str,
    mapping: str,
    table: str,
    key: str,
    expected: ImportCounts,
) -> None:
    source = copy_example(file, tmp_path)
    first = import_file(source, MAPPINGS / f"{mapping}.yaml", target)
    assert first.error is None
    assert first.status == "succeeded"
    assert first.counts == expected
    assert first.counts.balanced
    assert len(rows(target, table, key)) == expected.inserted

    repeat = import_file(source, MAPPINGS / f"{mapping}.yaml", target)
    assert repeat.status == "skipped"
    assert repeat.note is not None
    assert f"already imported into {table}" in repeat.note
    assert f"by job {first.job_id}" in repeat.note
    assert repeat.counts == ImportCounts()

    again = import_file(source, MAPPINGS / f"{mapping}.yaml", target, force=True)
    assert again.status == "succeeded"
    assert again.counts == ImportCounts(
        expected.rows_read, 0, 0, expected.inserted, expected.duplicates, expected.rejected
    )


def test_contacts_values_and_rejects_roundtrip(tmp_path: Path, target: str) -> None:
    source = copy_example("contacts.csv", tmp_path)
    report = import_file(source, "contacts", target, mappings_dir=MAPPINGS)
    assert report.rejects_path == tmp_path / "contacts.rejects.csv"

    stored = {r["email"]: r for r in rows(target, "contacts", "email")}
    ada = stored["ada.lovelace@example.org"]  # the later duplicate (row 9) won
    assert ada["contact_id"] == 1008
    assert ada["first_name"] == "Ada"
    assert ada["full_name"] == "Ada Lovelace"
    assert Decimal(str(ada["lifetime_value"])) == Decimal("1300.00")
    assert stored["alan.turing@example.org"]["lifetime_value"] in (0, Decimal("0"), "0", "0.00")
    assert stored["grace.hopper@example.com"]["country"] == "United States"
    assert stored["grace.hopper@example.com"]["newsletter"] in (False, 0)

    rejects = pl.read_csv(report.rejects_path, infer_schema=False)
    errors = dict(zip(rejects["Contact ID"], rejects["_error"], strict=True))
    assert set(errors) == {"1006", "1007", "1009", "1011"}
    assert "email" in errors["1006"] and "not-an-email" in errors["1006"]
    assert "31/02/2023" in errors["1007"]
    assert "maybe" in errors["1009"]
    assert "fields" in errors["1011"]

    # Fix the rejects file in place and import it again with the same mapping.
    fixed = (
        report.rejects_path.read_text(encoding="utf-8")
        .replace("not-an-email", "barbara.liskov@example.com")
        .replace("31/02/2023", "28/02/2023")
        .replace(",maybe,", ",yes,")
        .replace(",640.00,no\n", ",640.00,no,2024-03-11 17:00:00\n")
    )
    report.rejects_path.write_text(fixed, encoding="utf-8")
    second = import_file(report.rejects_path, "contacts", target, mappings_dir=MAPPINGS)
    assert second.error is None
    assert second.counts == ImportCounts(4, 4, 0, 0, 0, 0)
    assert len(rows(target, "contacts", "email")) == 11


def test_dry_run_writes_nothing(tmp_path: Path, target: str) -> None:
    source = copy_example("contacts.csv", tmp_path)
    report = import_file(source, MAPPINGS / "contacts.yaml", target, dry_run=True)
    assert report.status == "dry_run"
    assert report.counts == ImportCounts(12, 7, 0, 0, 1, 4)
    assert report.rejects_path is None
    assert not (tmp_path / "contacts.rejects.csv").exists()
    assert len(report.examples["inserted"]) == 3
    assert len(report.examples["rejected"]) == 3
    import_file(source, MAPPINGS / "contacts.yaml", target)
    changed = source.read_text(encoding="utf-8").replace("980.00", "990.00")
    source.write_text(changed, encoding="utf-8")
    preview = import_file(source, MAPPINGS / "contacts.yaml", target, dry_run=True)
    assert preview.counts == ImportCounts(12, 0, 1, 6, 1, 4)
    (updated,) = preview.examples["updated"]
    assert updated["email"] == "grace.hopper@example.com"
    old, new = updated["changed"]["lifetime_value"]
    assert (Decimal(str(old)), Decimal(str(new))) == (Decimal("980"), Decimal("990"))
    assert set(updated["changed"]) == {"lifetime_value"}
    assert {r["_row"] for r in preview.examples["rejected"]} <= {7, 8, 10, 12}
    assert len(rows(target, "contacts", "email")) == 7
    stored = {r["email"]: r for r in rows(target, "contacts", "email")}
    assert Decimal(str(stored["grace.hopper@example.com"]["lifetime_value"])) == Decimal("980")


def test_every_sample_reads_with_its_mapping_options() -> None:
    for file, mapping, *_ in CASES:
        spec = load_mapping(MAPPINGS / f"{mapping}.yaml")
        result = read_source(MAPPINGS.parent / "examples" / file, spec.source)
        assert sum(b.data.height for b in result.batches) > 0
        assert isinstance(spec.source, SourceOptions)


@pytest.mark.parametrize(("file", "mapping", "table", "key", "expected"), CASES)
def test_rejects_file_imports_again_with_the_same_mapping(
    tmp_path: Path,
    file: str,
    mapping: str,
    table: str,
    key: str,
    expected: ImportCounts,
) -> None:
    """Unfixed, a rejects file imports as is: the same rows are rejected for the same reasons."""
    target = f"sqlite:///{tmp_path / 'target.db'}"
    first = import_file(copy_example(file, tmp_path), MAPPINGS / f"{mapping}.yaml", target)
    assert first.rejects_path is not None
    again = import_file(
        first.rejects_path,
        MAPPINGS / f"{mapping}.yaml",
        target,
        rejects_path=tmp_path / f"second{first.rejects_path.suffix}",
    )
    assert again.status == "succeeded", again.error
    # The ragged CSV row was written with its missing field empty, so it now reads.
    padded = 1 if file == "contacts.csv" else 0
    assert again.counts == ImportCounts(
        expected.rejected, padded, 0, 0, 0, expected.rejected - padded
    )
    assert again.rejects_path is not None
    source = load_mapping(MAPPINGS / f"{mapping}.yaml").source
    before = [e for b in read_source(first.rejects_path, source).batches for e in b.data["_error"]]
    after = [e for b in read_source(again.rejects_path, source).batches for e in b.data["_error"]]
    assert after == [e for e in before if "fields but the header has" not in e]
