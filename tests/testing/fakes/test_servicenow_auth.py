"""The fake ServiceNow's authentication (basic, OAuth grants, expiry and refresh), its
rate-limit answers and headers, injected failures and delays, and its call counters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.servicenow import (
    RATE_RULE,
    FakeServiceNow,
    ManualClock,
    servicenow_session,
    table_url,
)

NOT_AUTHENTICATED = {
    "error": {
        "message": "User Not Authenticated",
        "detail": "Required to provide Auth information",
    },
    "status": "failure",
}
DENIED = {"error_description": "access_denied", "error": "server_error"}
LIST = "GET /api/now/table/{table}"
START = "2024-05-01T10:20:30Z"
NEXT_HOUR = 1714561200  # 2024-05-01T11:00:00Z


@pytest.fixture
def fake() -> Iterator[FakeServiceNow]:
    with FakeServiceNow(clock=ManualClock(START)) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeServiceNow) -> Iterator[requests.Session]:
    with servicenow_session(fake) as session:
        yield session


@pytest.fixture
def anonymous() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def token(anonymous: requests.Session, fake: FakeServiceNow, **form: str) -> requests.Response:
    client = {"client_id": fake.client_id, "client_secret": fake.client_secret}
    return anonymous.post(f"{fake.url}/oauth_token.do", data={**client, **form})


def bearer(anonymous: requests.Session, fake: FakeServiceNow, access: str) -> requests.Response:
    return anonymous.get(table_url(fake, "sys_user"), headers={"Authorization": f"Bearer {access}"})


def test_basic_auth(fake: FakeServiceNow, anonymous: requests.Session) -> None:
    ok = anonymous.get(table_url(fake, "sys_user"), auth=(fake.username, fake.password))
    assert ok.status_code == 200 and len(ok.json()["result"]) == 4
    for auth in [(fake.username, "wrong"), ("nobody", fake.password), None]:
        refused = anonymous.get(table_url(fake, "sys_user"), auth=auth)
        assert refused.status_code == 401
        assert refused.json() == NOT_AUTHENTICATED


def test_password_grant_expiry_and_refresh(
    fake: FakeServiceNow, anonymous: requests.Session
) -> None:
    issued = token(
        anonymous, fake, grant_type="password", username=fake.username, password=fake.password
    )
    assert issued.status_code == 200
    body = issued.json()
    assert set(body) == {"access_token", "refresh_token", "scope", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1799
    assert bearer(anonymous, fake, body["access_token"]).status_code == 200

    fake.expire_tokens()
    expired = bearer(anonymous, fake, body["access_token"])
    assert expired.status_code == 401 and expired.json() == NOT_AUTHENTICATED
    refreshed = token(
        anonymous, fake, grant_type="refresh_token", refresh_token=body["refresh_token"]
    )
    assert refreshed.status_code == 200
    fresh = refreshed.json()["access_token"]
    assert fresh != body["access_token"]
    assert bearer(anonymous, fake, fresh).status_code == 200

    clock = fake.clock
    assert isinstance(clock, ManualClock)
    clock.advance(1800)  # past expires_in on the fake's clock
    assert bearer(anonymous, fake, fresh).status_code == 401


def test_client_credentials_and_refusals(fake: FakeServiceNow, anonymous: requests.Session) -> None:
    machine = token(anonymous, fake, grant_type="client_credentials")
    assert machine.status_code == 200 and "refresh_token" not in machine.json()
    assert bearer(anonymous, fake, machine.json()["access_token"]).status_code == 200
    # client credentials as HTTP basic auth, as requests-oauthlib sends them
    basic = anonymous.post(
        f"{fake.url}/oauth_token.do",
        data={"grant_type": "client_credentials"},
        auth=(fake.client_id, fake.client_secret),
    )
    assert basic.status_code == 200
    refusals: list[dict[str, Any]] = [
        {"grant_type": "password", "username": fake.username, "password": "wrong"},
        {"grant_type": "refresh_token", "refresh_token": "not-a-token"},
        {"grant_type": "authorization_code", "code": "x"},
    ]
    for form in refusals:
        refused = token(anonymous, fake, **form)
        assert refused.status_code == 401 and refused.json() == DENIED
    wrong_client = anonymous.post(
        f"{fake.url}/oauth_token.do",
        data={
            "grant_type": "client_credentials",
            "client_id": fake.client_id,
            "client_secret": "nope",
        },
    )
    assert wrong_client.status_code == 401 and wrong_client.json() == DENIED
    assert bearer(anonymous, fake, "made-up").status_code == 401


def test_injected_429_carries_servicenow_rate_headers(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    fake.faults.fail_next("GET /api/now/table/*", status=429)
    limited = http.get(table_url(fake, "incident"))
    assert limited.status_code == 429
    assert limited.json() == {
        "error": {
            "message": "Rate limit exceeded",
            "detail": "Rate limit of 1000 requests per hour for Table API exceeded",
        },
        "status": "failure",
    }
    assert limited.headers["Retry-After"] == str(NEXT_HOUR - 1714558830)
    assert limited.headers["X-RateLimit-Limit"] == "1000"
    assert limited.headers["X-RateLimit-Reset"] == str(NEXT_HOUR)
    assert limited.headers["X-RateLimit-Rule"] == RATE_RULE
    assert "X-RateLimit-Remaining" not in limited.headers
    assert http.get(table_url(fake, "incident")).status_code == 200  # only the next call

    fake.faults.fail_next(
        "POST */import/*", status=429, retry_after=7, headers={"X-RateLimit-Rule": None}
    )
    imported = http.post(f"{fake.url}/api/now/import/u_incident_import", json={})
    assert imported.status_code == 429 and imported.headers["Retry-After"] == "7"
    assert "X-RateLimit-Rule" not in imported.headers


def test_a_rate_limit_rule_counts_per_hour(fake: FakeServiceNow, http: requests.Session) -> None:
    fake.faults.rate_limit(2, route="GET /api/now/table/*")
    first = http.get(table_url(fake, "incident"))
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Reset"] == str(NEXT_HOUR)
    assert "Retry-After" not in first.headers and "X-RateLimit-Remaining" not in first.headers
    assert http.get(table_url(fake, "incident")).status_code == 200
    third = http.get(table_url(fake, "incident"))
    assert third.status_code == 429 and "Retry-After" in third.headers
    assert "2 requests per hour" in third.json()["error"]["detail"]
    assert http.post(table_url(fake, "incident"), json={}).status_code == 201  # other route
    clock = fake.clock
    assert isinstance(clock, ManualClock)
    clock.advance(3600)
    assert http.get(table_url(fake, "incident")).status_code == 200


def test_other_failures_delays_and_counters(fake: FakeServiceNow, http: requests.Session) -> None:
    fake.faults.fail_next("*", status=503, times=2)
    for _ in range(2):
        down = http.get(table_url(fake, "incident"))
        assert down.status_code == 503
        assert down.json() == {
            "error": {"message": "Service Unavailable", "detail": None},
            "status": "failure",
        }
    fake.faults.fail_next("DELETE *", status=401)
    sys_id = fake.insert("incident", {"short_description": "x"})
    unauthorized = http.delete(table_url(fake, "incident", sys_id))
    assert unauthorized.status_code == 401 and unauthorized.json() == NOT_AUTHENTICATED
    assert fake.get("incident", sys_id) is not None
    fake.faults.fail_next(
        "POST /api/now/table/{table}", status=500, message="Boom", detail="Script error"
    )
    broken = http.post(table_url(fake, "incident"), json={})
    assert broken.status_code == 500
    assert broken.json()["error"] == {"message": "Boom", "detail": "Script error"}

    fake.faults.delay("GET /api/now/table/{table}/{sys_id}", seconds=0.3, times=1)
    started = time.monotonic()
    assert http.get(table_url(fake, "incident", sys_id)).status_code == 200
    assert time.monotonic() - started >= 0.3
    fake.faults.clear()

    fake.reset_calls()
    http.get(table_url(fake, "incident"))
    http.get(table_url(fake, "incident", sys_id))
    http.get(f"{fake.url}/nowhere")
    assert fake.calls == 3
    assert fake.calls_by_route == {
        LIST: 1,
        "GET /api/now/table/{table}/{sys_id}": 1,
        "GET (no route)": 1,
    }
