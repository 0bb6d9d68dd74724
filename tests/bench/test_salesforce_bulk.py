"""The Salesforce Bulk benchmark runs end to end at a small size (its figures come from real
runs only): 3,000 Accounts, so the first read goes through a Bulk query job."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import ROOT

sys.path.append(str(ROOT / "bench"))
import salesforce_bulk


def test_a_small_run_reads_through_bulk_and_ends_equal(capsys: pytest.CaptureFixture[str]) -> None:
    assert salesforce_bulk.main(["--rows", "3000", "--sqlite"]) == 0
    out = capsys.readouterr().out
    assert "| first run, Salesforce -> local | REST query, Bulk query | 3,000 |" in out
    assert "both sides equal: 3,000 records compared" in out
