"""JQL on the fake Jira: dates in the user's zone at minute precision, the all-or-nothing
``key in``, word search on text fields, the clauses connectors use, ORDER BY, and Jira's
400s for everything else.

What Jira does with dates, and so the fake: a literal such as ``"2024-01-31 14:05"`` names the
first second of that minute in the user's profile time zone, and issues are compared at whole
seconds (Jira indexes date-times with second resolution, ``LuceneUtils.dateToString``). An issue
updated at 14:05:30 therefore matches ``>= "… 14:05"`` and also ``> "… 14:05"``; only an issue
stamped within 14:05:00 itself fails ``>``. A cursor must use ``>=`` on its minute and drop
what it has already seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.jira import CONVEYOR_KEY, FakeJira, ManualClock
from conveyor.testing.fakes.jira.client import jira_client, jira_session, rest_url

DATE_FORMATS = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', "
    "'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2024-01-31T13:05:30Z")  # 14:05:30 in Berlin


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeJira]:
    with FakeJira(clock=clock) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeJira) -> Iterator[requests.Session]:
    with jira_session(fake) as session:
        yield session


def _answer(http: requests.Session, fake: FakeJira, jql: str) -> requests.Response:
    return http.get(rest_url(fake, "search/jql"), params={"jql": jql, "fields": "key"})


def keys(http: requests.Session, fake: FakeJira, jql: str) -> list[str]:
    answer = _answer(http, fake, jql)
    assert answer.status_code == 200, answer.text
    return [issue["key"] for issue in answer.json()["issues"]]


def refusal(http: requests.Session, fake: FakeJira, jql: str) -> list[str]:
    answer = _answer(http, fake, jql)
    assert answer.status_code == 400, answer.text
    messages: list[str] = answer.json()["errorMessages"]
    return messages


# -- dates ---------------------------------------------------------------------------------------


def test_dates_are_read_in_the_user_s_zone_at_minute_precision(
    fake: FakeJira, http: requests.Session
) -> None:
    key = fake.create_issue("TIC", {"summary": "Updated at 14:05:30 Berlin"})
    assert keys(http, fake, 'updated >= "2024-01-31 14:05"') == [key]  # read as UTC: 15:05
    assert keys(http, fake, 'updated > "2024-01-31 14:05"') == [key]  # 14:05:30 > 14:05:00
    assert keys(http, fake, 'updated <= "2024-01-31 14:05"') == []
    assert keys(http, fake, 'updated < "2024-01-31 14:05"') == []  # read as UTC: matches
    assert keys(http, fake, 'updated < "2024-01-31 14:06"') == [key]
    assert keys(http, fake, 'updated >= "2024/01/31 14:06"') == []
    assert keys(http, fake, 'created >= "2024-01-31" AND created < "2024-02-01"') == [key]
    stamp = fake.issue(key)["fields"]["updated"]  # type: ignore[index]
    assert stamp.isoformat() == "2024-01-31T13:05:30+00:00"
    answer = http.get(rest_url(fake, f"issue/{key}"), params={"fields": "updated"}).json()
    assert answer["fields"]["updated"] == "2024-01-31T14:05:30.000+0100"


def test_an_issue_within_the_literal_s_second_fails_greater_than(
    fake: FakeJira, http: requests.Session, clock: ManualClock
) -> None:
    clock.set("2024-01-31T13:05:00.700Z")
    key = fake.create_issue("TIC", {"summary": "Updated at 14:05:00.700"})
    assert keys(http, fake, 'updated = "2024-01-31 14:05"') == [key]
    assert keys(http, fake, 'updated >= "2024-01-31 14:05"') == [key]
    assert keys(http, fake, 'updated > "2024-01-31 14:05"') == []


def test_another_zone_reads_and_writes_its_own_offset(clock: ManualClock) -> None:
    with FakeJira(time_zone="America/New_York", clock=clock) as ny, jira_session(ny) as http:
        key = ny.create_issue("TIC", {"summary": "08:05:30 in New York"})
        assert keys(http, ny, 'updated >= "2024-01-31 08:05"') == [key]
        assert keys(http, ny, 'updated >= "2024-01-31 14:05"') == []
        issue = jira_client(ny).issue(key)
        assert issue.fields.updated == "2024-01-31T08:05:30.000-0500"
        assert jira_client(ny).myself()["timeZone"] == "America/New_York"


@pytest.mark.parametrize(
    "literal", ["2024-01-31 14:05:30", "2024-01-31T14:05", "2024-01-31T14:05:00Z", "yesterday"]
)
def test_seconds_and_iso_forms_are_refused(
    fake: FakeJira, http: requests.Session, literal: str
) -> None:
    assert refusal(http, fake, f'project = TIC AND updated >= "{literal}"') == [
        f"Date value '{literal}' for field 'updated' is invalid. {DATE_FORMATS}"
    ]


def test_relative_periods_count_back_from_now(
    fake: FakeJira, http: requests.Session, clock: ManualClock
) -> None:
    old = fake.create_issue("TIC", {"summary": "Old"})
    clock.advance(3 * 86400)
    new = fake.create_issue("TIC", {"summary": "New"})
    assert keys(http, fake, "updated >= -1d") == [new]
    assert keys(http, fake, "updated < -2d") == [old]


# -- keys ----------------------------------------------------------------------------------------


def test_one_missing_key_fails_the_whole_query(fake: FakeJira, http: requests.Session) -> None:
    first, second = (fake.create_issue("TIC", {"summary": s}) for s in ("One", "Two"))
    assert keys(http, fake, f"key in ({first}, {second}) ORDER BY key ASC") == [first, second]
    assert refusal(http, fake, f"key in ({first}, TIC-99, OPS-7)") == [
        "An issue with key 'TIC-99' does not exist for field 'key'.",
        "An issue with key 'OPS-7' does not exist for field 'key'.",
    ]
    fake.delete_issue(second)
    assert refusal(http, fake, f"issuekey = {second}") == [
        f"An issue with key '{second}' does not exist for field 'key'."
    ]


# -- text fields ---------------------------------------------------------------------------------


def test_text_fields_are_word_searched_with_false_positives(
    fake: FakeJira, http: requests.Session
) -> None:
    made = {
        value: fake.create_issue("TIC", {"summary": value, CONVEYOR_KEY: value})
        for value in ("EXT-1", "EXT-NEW-1", "1 ext", "EXT-10", "ext1")
    }
    wanted = [made["EXT-1"], made["EXT-NEW-1"], made["1 ext"]]
    by_name = keys(http, fake, '"Conveyor Key" ~ "EXT-1" ORDER BY key ASC')
    assert by_name == wanted  # a word search: "EXT-NEW-1" holds the words "ext" and "1"
    assert keys(http, fake, 'cf[10050] ~ "EXT\\\\-1" ORDER BY key ASC') == wanted  # escaped
    prefixed = keys(http, fake, 'summary ~ "ext*" AND summary !~ "1" ORDER BY key')
    assert prefixed == [made["EXT-10"], made["ext1"]]
    assert keys(http, fake, 'summary ~ "\\"ext new\\""') == [made["EXT-NEW-1"]]  # a phrase
    assert refusal(http, fake, 'cf[10050] = "EXT-1"') == [
        "The operator '=' is not supported by the 'cf[10050]' field."
    ]
    assert refusal(http, fake, 'summary = "EXT-1"') == [
        "The operator '=' is not supported by the 'summary' field."
    ]
    assert refusal(http, fake, 'summary ~ "EXT\\-1"')[0].startswith(
        "Error in the JQL Query: '\\-' is an illegal JQL escape sequence."
    )


def test_text_search_reaches_descriptions_and_comments(
    fake: FakeJira, http: requests.Session
) -> None:
    described = fake.create_issue("TIC", {"summary": "A", "description": "Toner is low"})
    commented = fake.create_issue("TIC", {"summary": "B"})
    fake.add_comment(commented, "the toner again")
    assert keys(http, fake, 'description ~ "toner"') == [described]
    assert keys(http, fake, 'comment ~ "toner"') == [commented]
    assert keys(http, fake, 'text ~ "toner" ORDER BY key ASC') == [described, commented]


# -- the clauses connectors use ------------------------------------------------------------------


def _seed(fake: FakeJira) -> dict[str, str]:
    specs: dict[str, dict[str, Any]] = {
        "a": {"labels": ["red", "big"], "priority": {"name": "High"}},
        "b": {"labels": ["blue"], "customfield_10051": {"value": "Hardware"}},
        "c": {"priority": {"name": "Lowest"}},
    }
    made = {name: fake.create_issue("TIC", {"summary": name, **f}) for name, f in specs.items()}
    made["ops"] = fake.create_issue("OPS", {"summary": "ops", "labels": ["red"]})
    fake.set_status(made["b"], "In Progress")
    return made


def test_equality_lists_and_boolean_logic(fake: FakeJira, http: requests.Session) -> None:
    m = _seed(fake)
    asc = " ORDER BY key ASC"
    assert keys(http, fake, "labels = red" + asc) == [m["ops"], m["a"]]
    assert keys(http, fake, "project = TIC AND labels in (red, blue)" + asc) == [m["a"], m["b"]]
    assert keys(http, fake, 'status = "In Progress"') == [m["b"]]
    assert keys(http, fake, "project in (TIC, Operations) AND labels is EMPTY") == [m["c"]]
    assert keys(http, fake, "labels != red" + asc) == [m["b"]]  # != never matches empty
    assert keys(http, fake, "project = TIC AND NOT labels = red" + asc) == [m["b"], m["c"]]
    jql = "(labels = blue OR priority = Lowest) AND project = TIC" + asc
    assert keys(http, fake, jql) == [m["b"], m["c"]]
    assert keys(http, fake, "Category = Hardware") == [m["b"]]
    me = fake.users[0].account_id
    assert len(keys(http, fake, f"reporter = {me} AND assignee is EMPTY")) == 4
    assert keys(http, fake, "project = TIC AND issuetype = Bug") == []


def test_order_by_with_ties_broken_by_the_next_key(
    fake: FakeJira, http: requests.Session, clock: ManualClock
) -> None:
    first = fake.create_issue("TIC", {"summary": "first"})
    second = fake.create_issue("TIC", {"summary": "second"})  # the same second
    clock.advance(60)
    fake.update_issue(first, {"summary": "first, edited"})
    jql = "project = TIC ORDER BY updated ASC, key ASC"
    assert keys(http, fake, jql) == [second, first]
    assert keys(http, fake, "project = TIC ORDER BY updated DESC, key DESC") == [first, second]
    assert keys(http, fake, "project = TIC ORDER BY key DESC") == [second, first]
    assert keys(http, fake, "project = TIC ORDER BY created ASC, key DESC") == [second, first]
    assert keys(http, fake, "project = TIC ORDER BY issuekey ASC") == [first, second]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("colour = red", "Field 'colour' does not exist or you do not have permission to view it."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ('status = "Blocked"', "The value 'Blocked' does not exist for the field 'status'."),
        ("Category = Furniture", "The option 'Furniture' for field 'Category' does not exist."),
        ("labels > red", "The operator '>' is not supported by the 'labels' field."),
        ("key = banana", "The issue key 'banana' for field 'key' is invalid."),
        ("project = TIC ORDER BY comment", "Field 'comment' does not support sorting."),
        (
            "project TIC",
            "Error in the JQL Query: Expecting operator but got 'TIC'. The valid operators are "
            "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. "
            "(line 1, character 9)",
        ),
        (
            "project = TIC labels = red",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'labels'. "
            "(line 1, character 15)",
        ),
        (
            'summary ~ "open',
            "Error in the JQL Query: The quoted string 'open' has not been completed. "
            "(line 1, character 11)",
        ),
    ],
)
def test_jira_s_errors_for_everything_else(
    fake: FakeJira, http: requests.Session, jql: str, message: str
) -> None:
    assert refusal(http, fake, jql) == [message]
