"""``python -m conveyor.testing.fakes.servicenow``: the fake as a process for CLI tests."""

from __future__ import annotations

from pathlib import Path

import requests

from conveyor.testing.fakes.servicenow import Credentials
from tests.testing.fakes.processes import serve

SEED = """\
sys_user_group:
  - {name: Database}
incident:
  - {short_description: Printer jam, u_conveyor_key: ext-1, state: 2, assignment_group: Database}
  - {short_description: Disk full, u_conveyor_key: ext-2}
"""


def test_serves_a_seeded_instance_until_terminated(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED, encoding="utf-8")
    process = serve("servicenow", "--seed", str(seed))
    credentials = Credentials()
    try:
        assert process.stdout is not None
        url, instance_url = process.stdout.readline().split()
        assert url.startswith("http://127.0.0.1:")
        assert instance_url == url.replace("http://", "https://")
        with requests.Session() as http:
            http.trust_env = False
            http.auth = (credentials.username, credentials.password.get_secret_value())
            answer = http.get(
                f"{url}/api/now/table/incident",
                params={
                    "sysparm_query": "ORDERBYnumber",
                    "sysparm_display_value": "true",
                    "sysparm_fields": "u_conveyor_key,assignment_group,state",
                    "sysparm_exclude_reference_link": "true",
                },
            )
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == [
            {"u_conveyor_key": "ext-1", "assignment_group": "Database", "state": "In Progress"},
            {"u_conveyor_key": "ext-2", "assignment_group": "", "state": "New"},
        ]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_a_bad_seed_is_refused(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("incident:\n  - {state: 42}\n", encoding="utf-8")
    process = serve("servicenow", "--seed", str(seed))
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 2
    assert "incident[0]" in stderr and "Invalid value for field: state" in stderr
