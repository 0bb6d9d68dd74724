"""The ``jira`` package, unmodified, against the fake Jira: the calls the connector will make,
on Cloud (REST v2 and v3) and on Data Center."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from jira import JIRA
from jira.exceptions import JIRAError

from conveyor.testing.fakes.jira import CONVEYOR_KEY, FakeJira, ManualClock
from conveyor.testing.fakes.jira.adf import NOT_ADF
from conveyor.testing.fakes.jira.client import jira_client, jira_session, rest_url

JIRA_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
ADF = {
    "version": 1,
    "type": "doc",
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Jams daily"}]}],
}


def answer_of(error: JIRAError) -> requests.Response:
    """The HTTP answer a ``JIRAError`` carries."""
    assert error.response is not None
    return error.response


@pytest.fixture
def fake() -> Iterator[FakeJira]:
    clock = ManualClock("2024-01-31T13:05:00Z", step=timedelta(seconds=1))
    with FakeJira(clock=clock) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def jira(fake: FakeJira) -> Iterator[JIRA]:
    client = JIRA(server=fake.url, basic_auth=(fake.email, fake.api_token), max_retries=0)
    yield client
    client._session.close()


def _new(jira: JIRA, **fields: Any) -> Any:
    base = {"project": {"key": "TIC"}, "issuetype": {"name": "Task"}, "summary": "Printer jam"}
    return jira.create_issue(fields={**base, **fields})


def test_cloud_issue_lifecycle(fake: FakeJira, jira: JIRA) -> None:
    issue = _new(
        jira,
        description="First line\nsecond line",
        labels=["hardware"],
        priority={"name": "High"},
        **{CONVEYOR_KEY: "ext-1"},
    )
    assert issue.key == "TIC-1" and issue.fields.status.name == "To Do"
    assert issue.fields.priority.name == "High" and issue.fields.labels == ["hardware"]
    assert issue.fields.description == "First line\nsecond line"
    assert getattr(issue.fields, CONVEYOR_KEY) == "ext-1"
    assert JIRA_DATETIME.match(issue.fields.updated)
    assert issue.fields.updated.endswith("+0100")  # Europe/Berlin in January, never Z

    issue.update(fields={"summary": "Printer jam (again)"}, update={"labels": [{"add": "urgent"}]})
    assert issue.fields.summary == "Printer jam (again)"
    assert fake.issue("TIC-1")["fields"]["labels"] == ["hardware", "urgent"]  # type: ignore[index]

    jira.transition_issue(issue, "Start")
    assert jira.issue("TIC-1").fields.status.name == "In Progress"

    before = jira.issue("TIC-1").fields.updated
    comment = jira.add_comment(issue, "Looking into it")
    assert comment.body == "Looking into it"
    assert jira.issue("TIC-1").fields.updated > before  # a comment moves updated
    assert [c.body for c in jira.comments("TIC-1")] == ["Looking into it"]

    issue.delete()
    assert fake.issue("TIC-1") is None
    with pytest.raises(JIRAError) as raised:
        jira.issue("TIC-1")
    assert raised.value.status_code == 404
    assert raised.value.text == "Issue does not exist or you do not have permission to see it."


def test_v3_speaks_atlassian_document_format(fake: FakeJira) -> None:
    v3 = jira_client(fake, "3")
    issue = v3.create_issue(
        fields={
            "project": {"key": "TIC"},
            "issuetype": {"name": "Bug"},
            "summary": "Printer jam",
            "description": ADF,
        }
    )
    assert issue.raw["fields"]["description"] == ADF
    assert jira_client(fake).issue(issue.key).fields.description == "Jams daily"  # v2: text
    with pytest.raises(JIRAError) as raised:
        v3.create_issue(
            fields={
                "project": {"key": "TIC"},
                "issuetype": {"name": "Bug"},
                "summary": "Plain text",
                "description": "not a document",
            }
        )
    assert raised.value.status_code == 400
    assert answer_of(raised.value).json() == {
        "errorMessages": [],
        "errors": {"description": NOT_ADF},
    }
    comment = v3.add_comment(issue.key, ADF)
    assert comment.raw["body"] == ADF
    with pytest.raises(JIRAError) as refused:
        v3.add_comment(issue.key, "plain")
    assert refused.value.status_code == 400


def test_only_the_status_s_transitions_are_offered(fake: FakeJira, jira: JIRA) -> None:
    key = fake.create_issue("TIC", {"summary": "Printer jam"})
    offered = jira.transitions(key)
    assert [(t["id"], t["name"], t["to"]["name"]) for t in offered] == [
        ("11", "Start", "In Progress"),
        ("61", "Close", "Done"),
    ]
    with pytest.raises(JIRAError) as raised:
        jira.transition_issue(key, "21")  # Review: only from In Progress
    assert raised.value.status_code == 400
    assert raised.value.text == "Transition id '21' is not valid for this issue."
    jira.transition_issue(key, "61")
    done = jira.issue(key)
    assert done.fields.resolution is not None and done.fields.resolution.name == "Done"
    assert done.fields.status.name == "Done"
    assert [t["name"] for t in jira.transitions(key)] == ["Reopen"]


def test_cloud_addresses_users_by_account_id_only(fake: FakeJira, jira: JIRA) -> None:
    alice = fake.users[1]
    with pytest.raises(JIRAError) as raised:
        _new(jira, assignee={"name": "alice"})
    assert raised.value.status_code == 400
    assert "accountId" in answer_of(raised.value).json()["errors"]["assignee"]
    issue = _new(jira, assignee={"accountId": alice.account_id})
    assert issue.fields.assignee.accountId == alice.account_id
    assert not hasattr(issue.fields.assignee, "name")
    with pytest.raises(JIRAError):
        issue.update(assignee="bob")  # the package sends {"name": "bob"}
    jira.assign_issue(issue.key, fake.users[2].account_id)
    assert fake.issue(issue.key)["fields"]["assignee"] == fake.users[2].account_id  # type: ignore[index]


def test_field_errors_come_in_jira_s_shape(fake: FakeJira) -> None:
    with jira_session(fake) as http:
        answer = http.post(
            rest_url(fake, "issue"),
            json={
                "fields": {
                    "project": {"key": "TIC"},
                    "issuetype": {"name": "Task"},
                    "priority": {"name": "Urgent"},
                    "status": {"name": "Done"},
                }
            },
        )
    assert answer.status_code == 400
    assert answer.json() == {
        "errorMessages": [],
        "errors": {
            "summary": "You must specify a summary of the issue.",
            "priority": "Priority name 'Urgent' is not valid",
            "status": "Field 'status' cannot be set. It is not on the appropriate screen, "
            "or unknown.",
        },
    }


def test_data_center_with_a_personal_access_token() -> None:
    with FakeJira(deployment="Server") as dc:
        for number in range(7):
            dc.create_issue("TIC", {"summary": f"Issue {number}"})
        jira = JIRA(server=dc.url, token_auth=dc.pat, max_retries=0)
        assert jira.deploymentType == "Server"
        keys, start = [], 0
        while True:
            page = jira.search_issues(
                "project = TIC ORDER BY key ASC", startAt=start, maxResults=3, json_result=True
            )
            assert page["total"] == 7 and page["startAt"] == start
            keys += [i["key"] for i in page["issues"]]
            start += len(page["issues"])
            if start >= page["total"]:
                break
        assert keys == [f"TIC-{n}" for n in range(1, 8)]
        issue = jira.create_issue(
            fields={
                "project": {"key": "TIC"},
                "issuetype": {"name": "Task"},
                "summary": "By name",
                "assignee": {"name": "alice"},
            }
        )
        assert issue.fields.assignee is not None and issue.fields.assignee.name == "alice"
        basic = JIRA(server=dc.url, basic_auth=(dc.username, dc.password), max_retries=0)
        assert basic.myself()["name"] == "admin"
        with jira_session(dc) as http:
            assert http.get(rest_url(dc, "serverInfo", 3)).status_code == 404  # no v3 on DC
        assert dc.internal_errors == []
