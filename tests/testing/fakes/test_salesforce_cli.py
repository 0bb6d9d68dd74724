"""``python -m conveyor.testing.fakes.salesforce``: the fake as a process for CLI tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.helpers import ROOT


def test_serves_a_seeded_org_until_terminated(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "fields:\n"
        "  Account: [{name: Conveyor_Key__c, external_id: true, unique: true}]\n"
        "records:\n"
        "  Account: [{Name: Acme, Conveyor_Key__c: A-1}, {Name: Beta, Conveyor_Key__c: B-2}]\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conveyor.testing.fakes.salesforce",
            "--port",
            "0",
            "--seed",
            str(seed),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url, token = process.stdout.readline().split()
        with requests.get(
            f"{url}/services/data/v59.0/query",
            params={"q": "SELECT Conveyor_Key__c FROM Account ORDER BY Name"},
            headers={"Authorization": f"Bearer {token}"},
        ) as answer:
            assert [r["Conveyor_Key__c"] for r in answer.json()["records"]] == ["A-1", "B-2"]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_a_bad_seed_file_is_a_clear_error(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("records:\n  Account: [{Phone: '555'}]\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "conveyor.testing.fakes.salesforce", "--seed", str(seed)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "records.Account" in result.stderr and "REQUIRED_FIELD_MISSING" in result.stderr
    assert "Traceback" not in result.stderr
