"""Comment entity properties on the fake Jira, as the connector's comment stream will use them:
our key rides in the ``conveyor`` property of each comment, so a retried create finds its
comment. Driven through the ``jira`` package where it has the call and through its session
(``jira._session``) where it does not; Cloud v2 and v3 (ADF bodies), Data Center v2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from typing import Any

import pytest
import requests
from jira import JIRA
from jira.exceptions import JIRAError

from conveyor.testing.fakes.jira import FakeJira, ManualClock
from conveyor.testing.fakes.jira.client import jira_client

SITES = [("Cloud", "2"), ("Cloud", "3"), ("Server", "2")]
OURS = {"key": "conveyor", "value": {"key": "ours-1"}}


def _adf(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"version": 1, "type": "doc", "content": [paragraph]}


@pytest.fixture(params=SITES, ids=["cloud-v2", "cloud-v3", "server-v2"])
def site(request: pytest.FixtureRequest) -> Iterator[tuple[FakeJira, JIRA]]:
    deployment, version = request.param
    clock = ManualClock("2024-01-31T13:05:00Z", step=timedelta(seconds=1))
    with FakeJira(deployment=deployment, clock=clock) as fake:
        jira = jira_client(fake, version)
        yield fake, jira
        jira._session.close()
    assert fake.internal_errors == [], fake.internal_errors


def _url(jira: JIRA, path: str) -> str:
    return jira._get_url(path)


def _body(jira: JIRA, text: str) -> Any:
    """A comment body as the client's REST version wants it (ADF on v3)."""
    return _adf(text) if jira._options["rest_api_version"] == "3" else text


def _post_comment(jira: JIRA, key: str, text: str, *properties: Any, **params: str) -> Any:
    payload = {"body": _body(jira, text), "properties": list(properties)}
    answer = jira._session.post(_url(jira, f"issue/{key}/comment"), json=payload, params=params)
    assert answer.status_code == 201
    return answer.json()


def _refused(call: Any) -> requests.Response:
    """The answer of a call the session raised on (the package raises on every 4xx/5xx)."""
    with pytest.raises(JIRAError) as raised:
        call()
    assert raised.value.response is not None
    return raised.value.response


def test_create_with_properties_and_read_them_back(site: tuple[FakeJira, JIRA]) -> None:
    fake, jira = site
    key = fake.create_issue("TIC", {"summary": "Printer jam"})
    created = _post_comment(jira, key, "Looking into it", OURS)
    assert "properties" not in created  # no expand, no properties
    plain = jira.comments(key)
    assert [c.id for c in plain] == [created["id"]] and "properties" not in plain[0].raw

    expanded = jira.comments(key, expand="properties")
    assert expanded[0].raw["properties"] == [OURS]
    assert expanded[0].raw["body"] == _body(jira, "Looking into it")
    single = jira.comment(key, created["id"], expand="properties")
    assert single.raw["properties"] == [OURS]
    assert "properties" not in jira.comment(key, created["id"]).raw

    stored = fake.comments(key)
    assert [(c["id"], c["properties"], c["body"]) for c in stored] == [
        (created["id"], {"conveyor": {"key": "ours-1"}}, _adf("Looking into it"))
    ]
    assert stored[0]["author"] == fake.users[0].account_id


def test_the_package_s_internal_flag_travels_as_a_property(site: tuple[FakeJira, JIRA]) -> None:
    fake, jira = site
    key = fake.create_issue("TIC", {"summary": "Printer jam"})
    comment = jira.add_comment(key, _body(jira, "Only for agents"), is_internal=True)
    internal = {"key": "sd.public.comment", "value": {"internal": True}}
    assert jira.comment(key, comment.id, expand="properties").raw["properties"] == [internal]
    bare = _post_comment(jira, key, "No properties")
    assert jira.comment(key, bare["id"], expand="properties").raw["properties"] == []


def test_property_resource_round_trip(site: tuple[FakeJira, JIRA]) -> None:
    fake, jira = site
    key = fake.create_issue("TIC", {"summary": "Printer jam"})
    comment_id = _post_comment(jira, key, "First", OURS)["id"]
    http = jira._session
    base = _url(jira, f"comment/{comment_id}/properties")

    assert http.get(base).json() == {"keys": [{"self": f"{base}/conveyor", "key": "conveyor"}]}
    assert http.get(f"{base}/conveyor").json() == OURS

    created = http.put(f"{base}/extra", json={"n": 1})
    assert created.status_code == 201 and created.content == b""
    updated = http.put(f"{base}/extra", json={"n": 2})
    assert updated.status_code == 200
    assert http.get(f"{base}/extra").json() == {"key": "extra", "value": {"n": 2}}
    assert [k["key"] for k in http.get(base).json()["keys"]] == ["conveyor", "extra"]

    assert http.delete(f"{base}/extra").status_code == 204
    missing = _refused(lambda: http.get(f"{base}/extra"))
    assert missing.status_code == 404
    assert missing.json() == {
        "errorMessages": ["The property with key 'extra' does not exist."],
        "errors": {},
    }
    assert _refused(lambda: http.delete(f"{base}/extra")).status_code == 404
    unknown = _refused(lambda: http.get(_url(jira, "comment/99999/properties")))
    assert unknown.status_code == 404 and unknown.json()["errorMessages"] == [
        "Can not find a comment for the id: 99999."
    ]
    assert fake.comments(key)[0]["properties"] == {"conveyor": {"key": "ours-1"}}


def test_a_retried_create_finds_its_comment(site: tuple[FakeJira, JIRA]) -> None:
    """The connector's recovery: list with ``expand=properties``, match our key."""
    fake, jira = site
    key = fake.create_issue("TIC", {"summary": "Printer jam"})
    fake.add_comment(key, "Someone else's")
    mine = fake.add_comment(key, "Ours", properties={"conveyor": {"key": "ours-7"}})
    found = [
        c.id
        for c in jira.comments(key, expand="properties")
        if {"key": "conveyor", "value": {"key": "ours-7"}} in c.raw.get("properties", [])
    ]
    assert found == [mine]


def test_comment_pages_are_ordered_by_created(site: tuple[FakeJira, JIRA]) -> None:
    fake, jira = site
    key = fake.create_issue("TIC", {"summary": "Printer jam"})
    ids = [fake.add_comment(key, f"Comment {n}") for n in range(5)]
    url = _url(jira, f"issue/{key}/comment")
    http = jira._session

    whole = http.get(url).json()
    assert set(whole) == {"comments", "maxResults", "total", "startAt"}
    assert whole["maxResults"] == (5000 if fake.deployment == "Cloud" else 1024 * 1024)
    assert [c["id"] for c in whole["comments"]] == ids and whole["total"] == 5

    page = http.get(url, params={"startAt": 1, "maxResults": 2}).json()
    assert [c["id"] for c in page["comments"]] == ids[1:3]
    assert (page["startAt"], page["maxResults"], page["total"]) == (1, 2, 5)
    assert [c.id for c in jira.comments(key, order_by="-created", max_results=2)] == [
        ids[4],
        ids[3],
    ]
    assert [c.id for c in jira.comments(key, order_by="+created", start_at=3)] == ids[3:]
    refused = _refused(lambda: http.get(url, params={"orderBy": "updated"}))
    assert refused.status_code == 400 and refused.json()["errorMessages"]


def test_updated_moves_with_the_body_only(site: tuple[FakeJira, JIRA]) -> None:
    fake, jira = site
    key = fake.create_issue("TIC", {"summary": "Printer jam"})
    before = fake.issue(key)["fields"]["updated"]  # type: ignore[index]
    comment_id = _post_comment(jira, key, "First", OURS)["id"]
    added = fake.comments(key)[0]
    issue_after_add = fake.issue(key)["fields"]["updated"]  # type: ignore[index]
    assert issue_after_add == added["created"] > before

    url = _url(jira, f"issue/{key}/comment/{comment_id}")
    other = {"key": "other", "value": [1, 2]}
    same = {"body": _body(jira, "First"), "properties": [other]}
    answer = jira._session.put(url, json=same, params={"expand": "properties"})
    assert answer.status_code == 200 and answer.json()["properties"] == [OURS, other]
    jira._session.put(_url(jira, f"comment/{comment_id}/properties/third"), json=True)
    unchanged = fake.comments(key)[0]
    assert unchanged["updated"] == added["updated"]
    assert fake.issue(key)["fields"]["updated"] == issue_after_add  # type: ignore[index]
    assert set(unchanged["properties"]) == {"conveyor", "other", "third"}

    comment = jira.comment(key, comment_id)
    comment.update(body=_body(jira, "Second"))
    edited = fake.comments(key)[0]
    assert edited["updated"] > added["updated"] and edited["created"] == added["created"]
    assert fake.issue(key)["fields"]["updated"] == edited["updated"]  # type: ignore[index]
    assert edited["properties"]["conveyor"] == {"key": "ours-1"}  # an edit keeps properties


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"key": "conveyor"}, "'properties' must be a list"),
        ([{"key": "conveyor", "value": None}], "valid, non-empty JSON"),
        ([{"key": "k" * 256, "value": 1}], "longer than 255 characters"),
        ([{"key": "", "value": 1}], "non-empty string"),
    ],
)
def test_bad_properties_are_refused(properties: Any, message: str) -> None:
    with FakeJira() as fake:
        key = fake.create_issue("TIC", {"summary": "Printer jam"})
        with closing(jira_client(fake)) as jira:
            url = _url(jira, f"issue/{key}/comment")
            payload = {"body": "Hello", "properties": properties}
            refused = _refused(lambda: jira._session.post(url, json=payload))
            assert refused.status_code == 400
            assert message in refused.json()["errorMessages"][0]
            too_big = {"blob": "x" * 32768}
            prop_url = _url(jira, f"comment/{fake.add_comment(key, 'Hi')}/properties/big")
            assert _refused(lambda: jira._session.put(prop_url, json=too_big)).status_code == 400
        assert [c["body"] for c in fake.comments(key)] == [_adf("Hi")]  # nothing half-made
        with pytest.raises(ValueError, match="255 characters"):
            fake.add_comment(key, "Hello", properties={"k" * 256: 1})


def test_new_routes_are_counted_and_take_faults() -> None:
    with FakeJira() as fake:
        key = fake.create_issue("TIC", {"summary": "Printer jam"})
        comment_id = fake.add_comment(key, "Hi", properties={"conveyor": {"key": "a"}})
        with closing(jira_client(fake)) as jira:
            url = _url(jira, f"comment/{comment_id}/properties/conveyor")
            fake.faults.fail_next("PUT */comment/*/properties/*", status=503)
            assert _refused(lambda: jira._session.put(url, json={"key": "b"})).status_code == 503
            assert jira._session.put(url, json={"key": "b"}).status_code == 200
            jira._session.get(url)
            jira.comments(key, expand="properties")
        routes = fake.calls_by_route
        assert routes["PUT /rest/api/{version}/comment/{commentId}/properties/{propertyKey}"] == 2
        assert routes["GET /rest/api/{version}/comment/{commentId}/properties/{propertyKey}"] == 1
        assert routes["GET /rest/api/{version}/issue/{issueIdOrKey}/comment"] == 1
        assert fake.comments(key)[0]["properties"] == {"conveyor": {"key": "b"}}
        assert fake.internal_errors == []


def test_data_center_has_no_v3_comment_properties() -> None:
    with FakeJira(deployment="Server") as dc:
        key = dc.create_issue("TIC", {"summary": "Printer jam"})
        comment_id = dc.add_comment(key, "Hi", properties={"conveyor": {"key": "a"}})
        with closing(jira_client(dc)) as jira:
            v2 = _url(jira, f"comment/{comment_id}/properties")
            assert jira._session.get(v2).json()["keys"][0]["key"] == "conveyor"
            v3 = v2.replace("/rest/api/2/", "/rest/api/3/")
            assert _refused(lambda: jira._session.get(v3)).status_code == 404
