"""The sync benchmark runs end to end with tiny sizes (its figures come from real runs only)."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import ROOT

sys.path.append(str(ROOT / "bench"))
import sync_speed


def test_a_small_run_changes_both_sides_and_ends_equal(capsys: pytest.CaptureFixture[str]) -> None:
    assert sync_speed.main(["--rows", "300", "--sqlite", "--page-size", "50"]) == 0
    out = capsys.readouterr().out
    assert "| 10% changed on each side | 60 |" in out
    assert "| idle run 25 min later | 0 |" in out and "| 2 | 2.0 |" in out
