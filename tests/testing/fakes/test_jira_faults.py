"""Failures the fake Jira injects on demand (throttling with and without ``Retry-After``,
outages, 401s, refused issues, slow answers), its authentication and its call counters."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from jira import JIRA
from jira.exceptions import JIRAError

from conveyor.testing.fakes.jira import CONVEYOR_KEY, FakeJira, ManualClock
from conveyor.testing.fakes.jira.client import jira_client, jira_session, rest_url

CREATE = "POST /rest/api/{version}/issue"
SEARCH_JQL = "GET /rest/api/{version}/search/jql"
ISO_MINUTE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\dZ$")
FIELDS = {"project": {"key": "TIC"}, "issuetype": {"name": "Task"}, "summary": "Printer jam"}


def _get(url: str, **kwargs: Any) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, **kwargs)


def answer_of(error: JIRAError) -> requests.Response:
    """The HTTP answer a ``JIRAError`` carries."""
    assert error.response is not None
    return error.response


@pytest.fixture
def fake() -> Iterator[FakeJira]:
    clock = ManualClock("2024-01-31T13:05:00Z", step=timedelta(milliseconds=10))
    with FakeJira(clock=clock) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def jira(fake: FakeJira) -> Iterator[JIRA]:
    client = jira_client(fake)
    yield client
    client._session.close()


def test_429_without_retry_after_through_the_package(fake: FakeJira, jira: JIRA) -> None:
    fake.faults.fail_next("POST */issue", status=429)
    started = time.monotonic()
    with pytest.raises(JIRAError) as raised:
        jira.create_issue(fields=FIELDS)
    assert time.monotonic() - started < 2  # max_retries=0: no backoff sleep
    answer = answer_of(raised.value)
    assert raised.value.status_code == 429 and "Retry-After" not in answer.headers
    assert ISO_MINUTE.match(answer.headers["X-RateLimit-Reset"])
    assert answer.headers["RateLimit-Reason"] == "jira-burst-based"
    assert answer.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    assert jira.create_issue(fields=FIELDS).key == "TIC-1"  # only the next call failed
    assert fake.calls_by_route[CREATE] == 2


def test_429_with_retry_after_and_a_reset_time(fake: FakeJira, jira: JIRA) -> None:
    fake.faults.fail_next("GET */search*", status=429, retry_after=120, times=2)
    for _ in range(2):
        with pytest.raises(JIRAError) as raised:
            jira.enhanced_search_issues("project = TIC", json_result=True)
        headers = answer_of(raised.value).headers
        assert headers["Retry-After"] == "120"
        assert headers["X-RateLimit-Reset"] == "2024-01-31T13:07Z"  # the clock + 120 s
    assert jira.enhanced_search_issues("project = TIC", json_result=True) == {
        "issues": [],
        "isLast": True,
    }


def test_503_headers_can_be_replaced_or_removed(fake: FakeJira) -> None:
    fake.faults.fail_next("GET */myself", status=503, retry_after=5)
    fake.faults.fail_next(
        "GET */myself",
        status=429,
        headers={"RateLimit-Reason": "jira-quota-tenant-based", "X-RateLimit-Reset": None},
    )
    with jira_session(fake) as http:
        outage = http.get(rest_url(fake, "myself"))
        throttled = http.get(rest_url(fake, "myself"))
        fine = http.get(rest_url(fake, "myself"))
    assert (outage.status_code, outage.headers["Retry-After"]) == (503, "5")
    assert throttled.headers["RateLimit-Reason"] == "jira-quota-tenant-based"
    assert "X-RateLimit-Reset" not in throttled.headers
    assert fine.status_code == 200


def test_a_401_fault_answers_the_deployment_s_401(fake: FakeJira, jira: JIRA) -> None:
    fake.faults.fail_next("*", status=401)
    with pytest.raises(JIRAError) as raised:
        jira.myself()
    assert raised.value.status_code == 401
    assert raised.value.text == "Client must be authenticated to access this resource."


def test_rejected_issues_answer_400_in_jira_s_shape(fake: FakeJira, jira: JIRA) -> None:
    fake.faults.reject_issues(
        lambda issue: issue["fields"].get(CONVEYOR_KEY) == "bad",
        errors={CONVEYOR_KEY: "Conveyor Key is not valid"},
        messages=["Rejected by a validator"],
    )
    with pytest.raises(JIRAError) as raised:
        jira.create_issue(fields={**FIELDS, CONVEYOR_KEY: "bad"})
    assert raised.value.status_code == 400
    assert answer_of(raised.value).json() == {
        "errorMessages": ["Rejected by a validator"],
        "errors": {CONVEYOR_KEY: "Conveyor Key is not valid"},
    }
    issue = jira.create_issue(fields={**FIELDS, CONVEYOR_KEY: "good"})
    assert issue.key == "TIC-1"  # the refused create used no key
    with pytest.raises(JIRAError):
        issue.update(fields={CONVEYOR_KEY: "bad"})
    assert fake.issue("TIC-1")["fields"][CONVEYOR_KEY] == "good"  # type: ignore[index]


def test_a_transient_rejection_passes_after_its_times(fake: FakeJira, jira: JIRA) -> None:
    fake.faults.reject_issues(lambda issue: True, operations=["create"], times=1)
    with pytest.raises(JIRAError) as raised:
        jira.create_issue(fields=FIELDS)
    assert raised.value.text == "The issue was rejected by a workflow validator."
    assert jira.create_issue(fields=FIELDS).key == "TIC-1"


def test_delays_slow_matching_calls(fake: FakeJira) -> None:
    fake.faults.delay("GET */myself", 0.3, times=1)
    with jira_session(fake) as http:
        started = time.monotonic()
        http.get(rest_url(fake, "myself"))
        slow = time.monotonic() - started
        started = time.monotonic()
        http.get(rest_url(fake, "myself"))
        fast = time.monotonic() - started
    assert slow >= 0.3 and fast < 0.3


def test_cloud_takes_only_email_and_api_token(fake: FakeJira) -> None:
    url = rest_url(fake, "myself")
    good = _get(url, auth=(fake.email, fake.api_token))
    assert good.status_code == 200 and good.json()["accountId"] == fake.users[0].account_id
    for attempt in (
        _get(url, auth=(fake.email, "wrong")),
        _get(url, auth=("admin", "admin-password")),
        _get(url, headers={"Authorization": f"Bearer {fake.pat}"}),
        _get(url),
    ):
        assert attempt.status_code == 401
        assert attempt.json() == {
            "message": "Client must be authenticated to access this resource.",
            "status-code": 401,
        }
        assert attempt.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert _get(rest_url(fake, "serverInfo")).status_code == 200  # public
    assert _get(rest_url(fake, "serverInfo"), auth=("x", "y")).status_code == 401


def test_data_center_takes_a_password_or_a_token() -> None:
    with FakeJira(deployment="Server") as dc:
        url = rest_url(dc, "myself")
        assert _get(url, auth=(dc.username, dc.password)).status_code == 200
        bearer = {"Authorization": f"Bearer {dc.pat}"}
        assert _get(url, headers=bearer).status_code == 200
        failed = _get(url, auth=(dc.username, "wrong"))
        assert failed.status_code == 401 and failed.text.startswith("Basic Authentication Failure")
        anonymous = _get(url)
        assert anonymous.status_code == 401
        assert anonymous.json()["errorMessages"] == [
            "You are not authenticated. Authentication required to perform this operation."
        ]
        with pytest.raises(JIRAError) as raised:
            JIRA(server=dc.url, token_auth="not-the-token", max_retries=0).myself()
        assert raised.value.status_code == 401


def test_calls_are_counted_per_route(fake: FakeJira, jira: JIRA) -> None:
    fake.reset_calls()
    jira.create_issue(fields=FIELDS)  # POST, then GET to reload
    jira.enhanced_search_issues("project = TIC", fields=["key"], json_result=True)
    with jira_session(fake) as http:
        assert http.get(f"{fake.url}/rest/api/2/nothing/here").status_code == 404
    assert fake.calls_by_route == {
        CREATE: 1,
        "GET /rest/api/{version}/issue/{issueIdOrKey}": 1,
        "GET /rest/api/{version}/field": 1,  # the package's first search reads the fields
        SEARCH_JQL: 1,
        "GET (no route)": 1,
    }
    assert fake.calls == 5
    fake.reset_calls()
    assert fake.calls == 0 and fake.calls_by_route == {}
