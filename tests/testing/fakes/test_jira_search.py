"""Issue search on the fake Jira: Cloud's ``search/jql`` with ``nextPageToken`` (through the
``jira`` package and raw), its limits and its lagging index; Data Center's ``search``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from jira import JIRA

from conveyor.testing.fakes.jira import FakeJira, ManualClock
from conveyor.testing.fakes.jira.client import jira_client, jira_session, rest_url

JQL = "project = TIC ORDER BY updated ASC, key ASC"
SEARCH_JQL = "GET /rest/api/{version}/search/jql"


@pytest.fixture
def fake() -> Iterator[FakeJira]:
    clock = ManualClock("2024-01-31T13:05:00Z", step=timedelta(seconds=1))
    with FakeJira(clock=clock) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeJira) -> Iterator[requests.Session]:
    with jira_session(fake) as session:
        yield session


def _issues(fake: FakeJira, count: int, project: str = "TIC") -> list[str]:
    return [fake.create_issue(project, {"summary": f"Issue {n}"}) for n in range(count)]


def _search(http: requests.Session, fake: FakeJira, **params: Any) -> requests.Response:
    return http.get(rest_url(fake, "search/jql"), params=params)


def test_enhanced_search_pages_to_the_end(fake: FakeJira) -> None:
    keys = _issues(fake, 7)
    fake.page_limit = 3  # pages may hold fewer issues than maxResults
    jira: JIRA = jira_client(fake)
    fake.reset_calls()
    token, seen, sizes = None, [], []
    while True:
        page: Any = jira.enhanced_search_issues(
            JQL, maxResults=5, nextPageToken=token, fields=["key", "updated"], json_result=True
        )
        sizes.append(len(page["issues"]))
        seen += [issue["key"] for issue in page["issues"]]
        token = page.get("nextPageToken")
        if token is None:
            assert page["isLast"] is True
            break
        assert page["isLast"] is False
    assert seen == keys and sizes == [3, 3, 1]
    assert fake.calls_by_route[SEARCH_JQL] == 3


def test_without_fields_only_ids_come_back(fake: FakeJira, http: requests.Session) -> None:
    _issues(fake, 2)
    answer = _search(http, fake, jql=JQL)
    assert answer.status_code == 200
    assert answer.json() == {"issues": [{"id": "10001"}, {"id": "10002"}], "isLast": True}


def test_ids_and_keys_page_up_to_5000_fields_up_to_100(
    fake: FakeJira, http: requests.Session
) -> None:
    _issues(fake, 120)
    keys_only = _search(http, fake, jql=JQL, fields="key", maxResults=5000).json()
    assert len(keys_only["issues"]) == 120 and "nextPageToken" not in keys_only
    assert set(keys_only["issues"][0]) == {"expand", "id", "self", "key"}
    with_fields = _search(http, fake, jql=JQL, fields="summary", maxResults=5000).json()
    assert len(with_fields["issues"]) == 100 and with_fields["nextPageToken"]
    token = with_fields["nextPageToken"]
    answer = _search(http, fake, jql=JQL, fields="summary", maxResults=5000, nextPageToken=token)
    assert len(answer.json()["issues"]) == 20 and answer.json()["isLast"] is True


def test_post_search_jql_takes_a_json_body(fake: FakeJira, http: requests.Session) -> None:
    _issues(fake, 3)
    body: dict[str, Any] = {"jql": JQL, "fields": ["summary"], "maxResults": 2}
    first = http.post(rest_url(fake, "search/jql", 3), json=body).json()
    second = http.post(
        rest_url(fake, "search/jql", 3), json={**body, "nextPageToken": first["nextPageToken"]}
    ).json()
    summaries = [i["fields"]["summary"] for i in first["issues"] + second["issues"]]
    assert summaries == ["Issue 0", "Issue 1", "Issue 2"]


@pytest.mark.parametrize("jql", ["", "ORDER BY key ASC", "order by updated DESC"])
def test_unbounded_queries_are_refused(fake: FakeJira, http: requests.Session, jql: str) -> None:
    answer = _search(http, fake, jql=jql)
    assert answer.status_code == 400
    assert answer.json()["errorMessages"] == [
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
    ]


def test_a_page_token_belongs_to_its_query(fake: FakeJira, http: requests.Session) -> None:
    _issues(fake, 3)
    token = _search(http, fake, jql=JQL, maxResults=1).json()["nextPageToken"]
    other = _search(http, fake, jql="project = OPS", maxResults=1, nextPageToken=token)
    assert other.status_code == 400
    assert _search(http, fake, jql=JQL, nextPageToken="garbage").status_code == 400


def test_the_old_search_is_gone_on_cloud(fake: FakeJira, http: requests.Session) -> None:
    for answer in (
        http.get(rest_url(fake, "search"), params={"jql": JQL}),
        http.post(rest_url(fake, "search", 3), json={"jql": JQL}),
    ):
        assert answer.status_code == 410
        assert answer.json()["errorMessages"][0].startswith(
            "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
        )


def test_search_lags_writes_until_reconciled(fake: FakeJira, http: requests.Session) -> None:
    [old] = _issues(fake, 1)
    fake.defer_indexing = True
    jira = jira_client(fake)
    new = jira.create_issue(
        fields={"project": {"key": "TIC"}, "issuetype": {"name": "Task"}, "summary": "Fresh"}
    )
    fake.update_issue(old, {"summary": "Renamed"})

    def summaries(**params: Any) -> dict[str, str]:
        page = _search(http, fake, jql=JQL, fields="summary", **params).json()
        return {i["key"]: i["fields"]["summary"] for i in page["issues"]}

    assert summaries() == {old: "Issue 0"}  # neither write is searchable yet
    ids = [new.id, fake.issue(old)["id"]]  # type: ignore[index]
    assert summaries(reconcileIssues=ids) == {old: "Renamed", new.key: "Fresh"}
    fake.delete_issue(old)
    assert summaries(reconcileIssues=ids) == {new.key: "Fresh"}
    assert summaries() == {old: "Issue 0"}
    fake.flush_index()
    assert summaries() == {new.key: "Fresh"}
    too_many = _search(http, fake, jql=JQL, reconcileIssues=",".join(["1"] * 51))
    assert too_many.status_code == 400


def test_data_center_pages_by_start_at() -> None:
    with FakeJira(deployment="Server") as dc, jira_session(dc) as http:
        _issues(dc, 5)
        dc.server_page_limit = 2
        page = http.get(rest_url(dc, "search"), params={"jql": JQL, "maxResults": "50"}).json()
        assert (page["startAt"], page["maxResults"], page["total"]) == (0, 2, 5)
        assert [i["key"] for i in page["issues"]] == ["TIC-1", "TIC-2"]
        assert "description" in page["issues"][0]["fields"]  # *navigable by default
        last = http.post(
            rest_url(dc, "search"), json={"jql": JQL, "startAt": 4, "fields": ["key"]}
        ).json()
        assert [i["key"] for i in last["issues"]] == ["TIC-5"] and last["total"] == 5
        assert http.get(rest_url(dc, "search"), params={"jql": ""}).json()["total"] == 5
        gone = http.get(rest_url(dc, "search/jql"), params={"jql": JQL})
        assert gone.status_code == 404
        assert gone.json()["message"].startswith("null for uri: ")
        assert dc.internal_errors == []
