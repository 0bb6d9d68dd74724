"""Failures a connector must survive: 429/503 with ``Retry-After``, planned refusals with SAP's
error body, and sign-in by basic auth or an OAuth client-credentials bearer token (401
otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.sap import (
    FakeSap,
    ManualClock,
    fetch_csrf,
    oauth_session,
    partner_url,
    sap_session,
)

LIST = "GET /sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner"


@pytest.fixture
def fake() -> Iterator[FakeSap]:
    with FakeSap(clock=ManualClock("2024-02-01T12:00:00Z")) as running:
        running.insert({"BusinessPartnerCategory": "1", "LastName": "Lovelace"})
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeSap) -> Iterator[requests.Session]:
    with sap_session(fake) as session:
        fetch_csrf(fake, session)
        yield session


def test_429_and_503_carry_retry_after(fake: FakeSap, http: requests.Session) -> None:
    fake.faults.fail_next("GET */A_BusinessPartner", status=429, retry_after=7, times=2)
    for _ in range(2):
        limited = http.get(partner_url(fake))
        assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
        assert limited.json()["error"]["message"]["value"] == "Too Many Requests"
    assert http.get(partner_url(fake, "1000001")).status_code == 200  # another route
    assert http.get(partner_url(fake)).status_code == 200
    assert fake.calls_by_route[LIST] == 3

    fake.faults.fail_next("POST *", status=503, retry_after=30)
    down = http.post(partner_url(fake), json={"BusinessPartnerCategory": "1", "LastName": "X"})
    assert (down.status_code, down.headers["Retry-After"]) == (503, "30")
    assert len(fake.partners()) == 1
    again = http.post(partner_url(fake), json={"BusinessPartnerCategory": "1", "LastName": "X"})
    assert again.status_code == 201


def test_planned_refusal_has_sap_error_body(fake: FakeSap, http: requests.Session) -> None:
    fake.faults.reject(
        lambda p: p["YY1_ConveyorKey"] == "blocked",
        code="R11/124",
        message="Partner is locked by user SMITH",
        details=[
            {
                "code": "R11/124",
                "message": "Partner is locked by user SMITH",
                "severity": "error",
                "target": "BusinessPartner",
            },
            {"code": "R11/125", "message": "Try again later", "severity": "info"},
        ],
        operations={"update"},
        times=1,
    )
    created = http.post(
        partner_url(fake),
        json={"BusinessPartnerCategory": "1", "LastName": "Y", "YY1_ConveyorKey": "blocked"},
    )
    assert created.status_code == 201  # only updates are refused
    refused = http.patch(partner_url(fake, "1000001"), json={"YY1_ConveyorKey": "blocked"})
    assert refused.status_code == 400
    error: dict[str, Any] = refused.json()["error"]
    assert error["code"] == "R11/124"
    assert error["message"] == {"lang": "en", "value": "Partner is locked by user SMITH"}
    details = error["innererror"]["errordetails"]
    assert [(d["code"], d["severity"], d["target"]) for d in details] == [
        ("R11/124", "error", "BusinessPartner"),
        ("R11/125", "info", ""),
    ]
    assert error["innererror"]["application"]["service_id"] == "API_BUSINESS_PARTNER"
    assert fake.partner("1000001")["YY1_ConveyorKey"] == ""  # type: ignore[index]
    retried = http.patch(partner_url(fake, "1000001"), json={"YY1_ConveyorKey": "blocked"})
    assert retried.status_code == 204  # the refusal was transient


def test_basic_auth_is_required(fake: FakeSap) -> None:
    with requests.Session() as anonymous:
        anonymous.trust_env = False
        answer = anonymous.get(partner_url(fake))
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith('Basic realm="SAP NetWeaver')
        wrong = anonymous.get(partner_url(fake), auth=(fake.username, "wrong"))
        assert wrong.status_code == 401
        right = anonymous.get(partner_url(fake), auth=(fake.username, fake.password))
        assert right.status_code == 200
        # the session cookie the answer set signs in on its own, as on SAP
        assert anonymous.get(partner_url(fake)).status_code == 200


def test_oauth_client_credentials_bearer_token(fake: FakeSap) -> None:
    with requests.Session() as raw:
        raw.trust_env = False
        bad = raw.post(
            fake.token_url,
            data={"grant_type": "client_credentials"},
            auth=(fake.client_id, "wrong"),
        )
        assert (bad.status_code, bad.json()["error"]) == (401, "unauthorized")
    with oauth_session(fake) as bearer:
        assert bearer.get(partner_url(fake, "1000001")).json()["d"]["LastName"] == "Lovelace"
        fetch_csrf(fake, bearer)
        created = bearer.post(
            partner_url(fake), json={"BusinessPartnerCategory": "2", "OrganizationBPName1": "ACME"}
        )
        assert created.status_code == 201
        fake.expire_tokens()
        bearer.cookies.clear()
        assert bearer.get(partner_url(fake)).status_code == 401
    assert fake.calls_by_route["POST /oauth/token"] == 2


def test_an_action_runs_before_the_next_matching_call_only() -> None:
    """Faults.before_next: another SAP user acts just before a call arrives (once)."""
    with FakeSap() as fake:
        key = fake.insert({"BusinessPartnerCategory": "1", "LastName": "Before"})
        seen: list[str] = []
        fake.faults.before_next("GET */A_BusinessPartner", lambda: seen.append("ran"))
        fake.faults.before_next("GET */$metadata", lambda: fake.update(key, {"LastName": "X"}))
        auth = (fake.username, fake.password)
        for _ in range(2):
            answer = requests.get(f"{fake.service_url}/A_BusinessPartner", auth=auth, timeout=5)
            assert answer.status_code == 200
        assert seen == ["ran"]
        assert fake.partner(key)["LastName"] == "Before"  # type: ignore[index]
        requests.get(f"{fake.service_url}/$metadata", auth=auth, timeout=5)
        assert fake.partner(key)["LastName"] == "X"  # type: ignore[index]
