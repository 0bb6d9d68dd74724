"""``python -m conveyor.testing.fakes.jira``: the fake as a process for CLI tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from conveyor.testing.fakes.jira import Credentials
from tests.helpers import ROOT
from tests.testing.fakes.processes import serve

SEED = """\
issues:
  - {summary: Printer jam, customfield_10050: ext-1, labels: [hardware], status: In Progress}
  - project: OPS
    issuetype: Bug
    summary: Disk full
    description: The disk is full.
    priority: {name: Highest}
    comments: [First look]
"""


def test_serves_a_seeded_site_until_terminated(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED, encoding="utf-8")
    process = serve("jira", "--seed", str(seed))
    credentials = Credentials()
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        with requests.Session() as http:
            http.trust_env = False
            http.auth = (credentials.email, credentials.api_token.get_secret_value())
            answer = http.get(
                f"{url}/rest/api/2/search/jql",
                params={"jql": "project in (TIC, OPS) ORDER BY key ASC", "fields": "status"},
            )
        assert answer.status_code == 200, answer.text
        statuses = {i["key"]: i["fields"]["status"]["name"] for i in answer.json()["issues"]}
        assert statuses == {"OPS-1": "To Do", "TIC-1": "In Progress"}
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_data_center_deployment() -> None:
    process = serve("jira", "--deployment", "Server")
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        with requests.Session() as http:
            http.trust_env = False
            info = http.get(f"{url}/rest/api/2/serverInfo").json()
        assert info["deploymentType"] == "Server"
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert process.returncode == 0


def test_a_bad_seed_file_is_a_clear_error(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("issues:\n  - {summary: Fine}\n  - {priority: {name: High}}\n", "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "conveyor.testing.fakes.jira", "--seed", str(seed)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "issues[1]" in result.stderr and "You must specify a summary" in result.stderr
    assert "Traceback" not in result.stderr
