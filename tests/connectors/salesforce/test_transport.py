"""An org is reached over https; plain http only for a loopback URL (a proxy or the fake)."""

from __future__ import annotations

import pytest

from connectors.salesforce import from_settings
from conveyor.errors import ConfigError, TransientError
from tests.connectors.salesforce.harness import fake_org


def test_a_loopback_http_instance_url_reaches_the_fake_with_no_test_session() -> None:
    with fake_org() as fake:
        fake.seed("Account", [{"Name": "Reached"}])
        connector = from_settings({"instance_url": fake.url, "access_token": fake.session_id})
        try:
            connector.check()
            info = connector.describe("Account")
            names = [
                r.values["Name"]
                for b in connector.read_changes("Account", None, ["Name"])
                for r in b.records
            ]
        finally:
            connector.close()
    assert info.fields["Name"].writable
    assert names == ["Reached"]


@pytest.mark.parametrize(
    "url", ["http://acme.my.salesforce.com", "ftp://127.0.0.1:1", "acme.my.salesforce.com"]
)
def test_other_instance_urls_must_be_https(url: str) -> None:
    with pytest.raises(ConfigError, match="instance_url must be an https URL"):
        from_settings({"instance_url": url, "access_token": "t"})


def test_a_call_that_does_not_answer_in_time_is_transient() -> None:
    with fake_org() as fake:
        fake.faults.delay("*describe*", seconds=2, times=1)
        connector = from_settings(
            {"instance_url": fake.url, "access_token": fake.session_id, "timeout_seconds": 0.3}
        )
        with pytest.raises(TransientError, match="cannot be reached: ReadTimeout"):
            connector.describe("Account")
        connector.close()
