"""Signing in to the fake the ways simple-salesforce does: SOAP login with a security token,
OAuth username-password and client-credentials grants, and an existing session."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from conveyor.testing.fakes.salesforce import FakeSalesforce, loopback_session
from tests.testing.fakes.conftest import data_url


def test_username_password_and_security_token_through_soap_login(fake: FakeSalesforce) -> None:
    credentials = fake.credentials
    with loopback_session(fake.url) as session:
        sf = Salesforce(
            username=credentials.username,
            password=credentials.password.get_secret_value(),
            security_token=credentials.security_token.get_secret_value(),
            domain="test",
            session=session,
        )
        assert sf.sf_instance == fake.url.removeprefix("http://")
        assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    (login,) = fake.logins
    assert (login.grant, login.host, login.username) == (
        "soap",
        "test.salesforce.com",
        credentials.username,
    )


def test_a_wrong_password_is_refused(fake: FakeSalesforce) -> None:
    with (
        loopback_session(fake.url) as session,
        pytest.raises(SalesforceAuthenticationFailed) as raised,
    ):
        Salesforce(
            username=fake.credentials.username,
            password="wrong",
            security_token="wrong",
            session=session,
        )
    assert raised.value.code == "INVALID_LOGIN"
    assert fake.logins == []


def test_client_credentials_through_my_domain(fake: FakeSalesforce) -> None:
    credentials = fake.credentials
    with loopback_session(fake.url) as session:
        sf = Salesforce(
            consumer_key=credentials.client_id,
            consumer_secret=credentials.client_secret.get_secret_value(),
            domain="conveyor.my",
            session=session,
        )
        assert sf.query("SELECT Id FROM Account")["done"] is True
    assert [(login.grant, login.host) for login in fake.logins] == [
        ("client_credentials", "conveyor.my.salesforce.com")
    ]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "client_id": "nope"}, "invalid_client_id"),
        (
            {"grant_type": "password", "client_id": "fake-client-id", "client_secret": "x"},
            "invalid_client",
        ),
        (
            {
                "grant_type": "password",
                "client_id": "fake-client-id",
                "client_secret": "fake-client-secret",
                "username": "conveyor@example.com",
                "password": "fake-password",  # the security token is missing
            },
            "invalid_grant",
        ),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
def test_token_endpoint_errors(fake: FakeSalesforce, form: dict[str, str], error: str) -> None:
    with requests.post(f"{fake.url}/services/oauth2/token", data=form) as answer:
        assert answer.status_code == 400
        assert answer.json()["error"] == error


def test_token_endpoint_answers_an_instance_url_and_token(fake: FakeSalesforce) -> None:
    form = {
        "grant_type": "password",
        "client_id": "fake-client-id",
        "client_secret": "fake-client-secret",
        "username": "conveyor@example.com",
        "password": "fake-passwordFAKETOKEN",
    }
    with requests.post(f"{fake.url}/services/oauth2/token", data=form) as answer:
        body = answer.json()
    assert body["instance_url"] == fake.url and body["token_type"] == "Bearer"
    with requests.get(
        data_url(fake, "limits"), headers={"Authorization": f"Bearer {body['access_token']}"}
    ) as limits:
        assert limits.status_code == 200


def test_calls_without_a_valid_token_are_refused(fake: FakeSalesforce) -> None:
    for headers in ({}, {"Authorization": "Bearer forged"}):
        with requests.get(data_url(fake, "sobjects"), headers=headers) as answer:
            assert answer.status_code == 401
            assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    with requests.get(f"{fake.url}/services/data/") as versions:
        assert versions.status_code == 200  # the version list needs no session
        assert {"version": "59.0", "url": "/services/data/v59.0"}.items() <= {
            k: v for item in versions.json() if item["version"] == "59.0" for k, v in item.items()
        }.items()
