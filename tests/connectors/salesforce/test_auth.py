"""Signing in, as simple-salesforce does it, against the fake org: password (production or
sandbox), OAuth2 client credentials at the org's My Domain, an existing session; an expired
session is renewed once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.salesforce import SalesforceConnector, SalesforceSettings
from conveyor.errors import ConfigError
from conveyor.testing.fakes.salesforce.client import loopback_session
from conveyor.testing.fakes.salesforce.fake import FakeSalesforce

PASSWORD = {"username": "conveyor@example.com", "password": "fake-password"}
TOKEN = {"security_token": "FAKETOKEN"}
CLIENT = {
    "client_id": "fake-client-id",
    "client_secret": "fake-client-secret",
    "instance_url": "https://acme.my.salesforce.com",
}


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as fake:
        yield fake


def connect(fake: FakeSalesforce, settings: dict[str, Any]) -> SalesforceConnector:
    parsed = SalesforceSettings.model_validate(settings)
    return SalesforceConnector(parsed, session=loopback_session(fake.url))


@pytest.mark.parametrize(
    ("settings", "grant", "host"),
    [
        ({**PASSWORD, **TOKEN}, "soap", "login.salesforce.com"),  # simple-salesforce's way
        ({**PASSWORD, **TOKEN, "sandbox": True}, "soap", "test.salesforce.com"),
        (CLIENT, "client_credentials", "acme.my.salesforce.com"),
    ],
)
def test_each_way_in_signs_in_where_salesforce_says(
    fake: FakeSalesforce, settings: dict[str, Any], grant: str, host: str
) -> None:
    connector = connect(fake, settings)
    connector.check()
    connector.close()
    [login] = fake.logins
    assert (login.grant, login.host) == (grant, host)


def test_an_expired_session_signs_in_again_once(fake: FakeSalesforce) -> None:
    connector = connect(fake, {**PASSWORD, **TOKEN})
    connector.check()
    fake.faults.expire_session()
    connector.describe("Account")  # refused once, signed in again, then answered
    assert len(fake.logins) == 2
    connector.close()


def test_an_expired_existing_session_is_a_config_error(fake: FakeSalesforce) -> None:
    connector = SalesforceConnector(
        SalesforceSettings.model_validate(
            {"instance_url": fake.url, "access_token": fake.session_id}
        )
    )
    fake.faults.expire_session()
    with pytest.raises(ConfigError, match="INVALID_SESSION_ID"):
        connector.check()
    connector.close()


def test_a_wrong_password_is_a_config_error_that_shows_no_secret(fake: FakeSalesforce) -> None:
    connector = connect(fake, {**PASSWORD, "password": "hunter2-wrong", **TOKEN})
    with pytest.raises(ConfigError) as raised:
        connector.check()
    connector.close()
    assert "hunter2" not in str(raised.value) and "FAKETOKEN" not in str(raised.value)
