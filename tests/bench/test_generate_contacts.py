"""The benchmark's contacts generator, driven through its command line, and its mapping."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor import import_file
from conveyor.mapping import load_mapping
from conveyor.mapping.checks import EMAIL_PATTERN
from tests.helpers import ROOT

GENERATOR = ROOT / "bench" / "generate_contacts.py"
MAPPING = ROOT / "bench" / "contacts.yaml"
ROWS = 20_000
HEADER = [
    "Contact ID",
    "First Name",
    "Last Name",
    "E-mail Address",
    "Phone",
    "Company",
    "Street",
    "City",
    "Country",
    "Signup Date",
    "Lifetime Value",
    "Last Modified",
]
EMAIL = HEADER.index("E-mail Address")
VALUE = HEADER.index("Lifetime Value")


def generate(out: Path, rows: int, seed: int, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(GENERATOR), "--rows", str(rows), "--seed", str(seed)]
    return subprocess.run(
        [*command, "--out", str(out), *extra], capture_output=True, text=True, check=False
    )


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def contacts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("bench") / "contacts.csv"
    assert generate(out, ROWS, 7).returncode == 0
    yield out


def test_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    for name, seed in (("a.csv", 11), ("b.csv", 11), ("c.csv", 12)):
        assert generate(tmp_path / name, 500, seed).returncode == 0
    first = (tmp_path / "a.csv").read_bytes()
    assert first == (tmp_path / "b.csv").read_bytes()
    assert first != (tmp_path / "c.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv", "c.csv"]


def test_csv_reads_back_rows_of_twelve_fields(contacts: Path) -> None:
    header, *body = read(contacts)
    assert header == HEADER
    assert len(body) == ROWS
    assert {len(row) for row in body} == {12}
    assert [row[0] for row in body[:3]] == ["100001", "100002", "100003"]


def test_values_are_noisy_the_way_the_brief_says(contacts: Path) -> None:
    body = read(contacts)[1:]
    assert any("," in row[HEADER.index("Company")] for row in body)
    assert any("\n" in row[HEADER.index("Street")] for row in body)
    assert any(row[EMAIL] != row[EMAIL].strip() for row in body)
    assert any(row[EMAIL].strip() != row[EMAIL].strip().lower() for row in body)
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", row[9]) for row in body)
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{2}", row[VALUE]) for row in body)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[11]) for row in body)
    assert all(re.fullmatch(r"[A-Z]{2}", row[8]) for row in body)
    assert any(float(row[VALUE].replace(",", "")) >= 1000 for row in body)


def test_duplicate_and_invalid_shares(contacts: Path) -> None:
    keys = [row[EMAIL].strip().lower() for row in read(contacts)[1:]]
    invalid = [key for key in keys if not re.match(EMAIL_PATTERN, key)]
    valid = [key for key in keys if re.match(EMAIL_PATTERN, key)]
    repeats = len(valid) - len(set(valid))
    assert 0.003 < len(invalid) / ROWS < 0.007, len(invalid)
    assert 0.015 < repeats / ROWS < 0.025, repeats


def test_change_every_changes_only_that_rows_value(contacts: Path, tmp_path: Path) -> None:
    variant = tmp_path / "changed.csv"
    assert generate(variant, ROWS, 7, "--change-every", "2").returncode == 0
    before, after = read(contacts)[1:], read(variant)[1:]
    assert len(after) == ROWS
    for number, (old, new) in enumerate(zip(before, after, strict=True), start=1):
        if number % 2:
            assert new == old
        else:
            assert new[:VALUE] + new[VALUE + 1 :] == old[:VALUE] + old[VALUE + 1 :]
            cents = [int(v[VALUE].replace(",", "").replace(".", "")) for v in (old, new)]
            assert cents[1] - cents[0] == 12_345


def test_negative_rows_is_refused(tmp_path: Path) -> None:
    result = generate(tmp_path / "x.csv", -1, 1)
    assert result.returncode == 2
    assert "--rows: must be 0 or more, got -1" in result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_mapping_imports_the_file_with_exact_counts(contacts: Path, tmp_path: Path) -> None:
    spec = load_mapping(MAPPING)
    assert spec.target.key == ["email"]
    assert spec.dedupe.strategy == "last"
    keys = [row[EMAIL].strip().lower() for row in read(contacts)[1:]]
    valid = [key for key in keys if re.match(EMAIL_PATTERN, key)]
    report = import_file(
        contacts, MAPPING, f"sqlite:///{tmp_path / 'bench.db'}", rejects_path=tmp_path / "r.csv"
    )
    assert report.status == "succeeded", report.error
    counts = report.counts
    assert (counts.rows_read, counts.inserted, counts.updated, counts.unchanged) == (
        ROWS,
        len(set(valid)),
        0,
        0,
    )
    assert counts.duplicates == len(valid) - len(set(valid))
    assert counts.rejected == ROWS - len(valid)
