"""Every public fixture file imports without a mapping with counts that add up, or fails with
one clear error that names the file: never a traceback, never a lost row."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor import import_file
from tests.helpers import PEER

FIXTURES = sorted(
    [
        *(PEER / "csv-spectrum" / "csvs").glob("*.csv"),
        *(PEER / "csvkit-examples" / "examples").glob("*.csv"),
        *(PEER / "csvkit-examples" / "examples").glob("*.tsv"),
        *(PEER / "csvkit-examples" / "examples").glob("*.xlsx"),
        *(PEER / "csvkit-examples" / "examples").glob("*.json"),
        *(PEER / "calamine" / "tests").glob("*.xlsx"),
        *(PEER / "json-test-suite" / "test_parsing").glob("y_*.json"),
        *(PEER / "defusedxml" / "xmltestdata").glob("*.xml"),
    ]
)


def test_the_peer_suites_are_there() -> None:
    assert len(FIXTURES) > 230, f"peer suites not found under {PEER}"


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_imports_with_balanced_counts_or_one_clear_error(
    path: Path, tmp_path: Path
) -> None:
    report = import_file(
        path,
        target=f"sqlite:///{tmp_path / 'fixtures.db'}",
        table="fixture",
        rejects_path=tmp_path / f"rejects{path.suffix}",
    )
    if report.status == "failed":
        assert report.error is not None
        assert path.name in report.error or "fixture" in report.error, report.error
        assert "internal error" not in report.error, report.error
        assert "Traceback" not in report.error
    else:
        assert report.status == "succeeded"
        assert report.counts.balanced, report.counts
        assert report.counts.inserted + report.counts.rejected == report.counts.rows_read
