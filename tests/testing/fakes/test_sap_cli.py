"""``python -m conveyor.testing.fakes.sap``: the fake as a process for CLI tests."""

from __future__ import annotations

import signal
from pathlib import Path

import requests

from conveyor.testing.fakes.sap import Credentials
from tests.testing.fakes.processes import serve

SEED = """\
A_BusinessPartner:
  - {BusinessPartnerCategory: "1", FirstName: Ada, LastName: Lovelace, YY1_ConveyorKey: ext-1}
  - {BusinessPartner: "ACME", BusinessPartnerCategory: "2", OrganizationBPName1: ACME}
"""


def test_serves_a_seeded_system_until_terminated(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED, encoding="utf-8")
    process = serve("sap", "--seed", str(seed))
    credentials = Credentials()
    try:
        assert process.stdout is not None
        service_url = process.stdout.readline().strip()
        assert service_url.startswith("http://127.0.0.1:")
        assert service_url.endswith("/sap/opu/odata/sap/API_BUSINESS_PARTNER")
        with requests.Session() as http:
            http.trust_env = False
            http.auth = (credentials.username, credentials.password.get_secret_value())
            answer = http.get(
                f"{service_url}/A_BusinessPartner",
                params={"$format": "json", "$select": "BusinessPartner,BusinessPartnerFullName"},
            )
        assert answer.status_code == 200, answer.text
        assert [
            (p["BusinessPartner"], p["BusinessPartnerFullName"])
            for p in answer.json()["d"]["results"]
        ] == [("1000001", "Ada Lovelace"), ("ACME", "ACME")]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr


def test_a_bad_seed_file_is_reported(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("A_BusinessPartner:\n  - {LastName: No category}\n", encoding="utf-8")
    process = serve("sap", "--seed", str(seed))
    _, err = process.communicate(timeout=20)
    assert process.returncode == 2
    assert "A_BusinessPartner[0]" in err and "category" in err
