"""The SOQL subset: what the fake understands, and the errors it gives for what it does not."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from conveyor.testing.fakes.salesforce import ApiError, FakeSalesforce
from conveyor.testing.fakes.salesforce.soql import And, Comparison, Not, Or, parse
from tests.testing.fakes.conftest import KEY, data_url


@pytest.fixture
def org(fake: FakeSalesforce) -> FakeSalesforce:
    account_ids = fake.seed(
        "Account",
        [
            {"Name": "Acme", KEY: "a", "NumberOfEmployees": 50, "Industry": "Energy"},
            {"Name": "beta", KEY: "b", "NumberOfEmployees": 5},
            {"Name": "Gamma", KEY: "c", "NumberOfEmployees": 500, "Industry": "Banking"},
        ],
    )
    fake.seed(
        "Contact",
        [
            {"LastName": "Ng", "FirstName": "Ann", "AccountId": account_ids[0]},
            {"LastName": "Oh", "Account": {KEY: "C"}},
            {"LastName": "Orphan"},
        ],
    )
    return fake


def soql(fake: FakeSalesforce, http: requests.Session, query: str) -> Any:
    answer = http.get(data_url(fake, "query"), params={"q": query})
    return answer.json() if answer.status_code == 200 else (answer.status_code, answer.json())


def names(body: Any) -> list[str]:
    return [r["Name"] for r in body["records"]]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'ACME'", ["Acme"]),
        ("Name != 'acme'", ["beta", "Gamma"]),
        ("Industry != 'Energy'", ["beta", "Gamma"]),  # != keeps nulls
        ("Industry = null", ["beta"]),
        ("Industry != null", ["Acme", "Gamma"]),
        ("NumberOfEmployees >= 50", ["Acme", "Gamma"]),
        ("NumberOfEmployees < 50", ["beta"]),
        ("Name LIKE 'g%'", ["Gamma"]),
        ("Name LIKE '_eta'", ["beta"]),
        (f"{KEY} IN ('A', 'c')", ["Acme", "Gamma"]),
        (f"{KEY} NOT IN ('a')", ["beta", "Gamma"]),
        ("NumberOfEmployees > 10 AND Name != 'Gamma'", ["Acme"]),
        ("Name = 'beta' OR NumberOfEmployees = 500", ["beta", "Gamma"]),
        ("(Name = 'beta' OR Name = 'Acme') AND NumberOfEmployees > 10", ["Acme"]),
        ("NOT Name = 'beta'", ["Acme", "Gamma"]),
    ],
)
def test_where(
    org: FakeSalesforce, http: requests.Session, where: str, expected: list[str]
) -> None:
    query = " ".join(("SELECT Name FROM Account WHERE", where))
    assert names(soql(org, http, query)) == expected


def test_order_by_limit_and_offset(org: FakeSalesforce, http: requests.Session) -> None:
    ordered = soql(org, http, "SELECT Name FROM Account ORDER BY Name")
    assert names(ordered) == ["Acme", "beta", "Gamma"]  # text sorts ignoring case
    nulls = soql(org, http, "SELECT Name FROM Account ORDER BY Industry DESC NULLS FIRST, Name")
    assert names(nulls) == ["beta", "Acme", "Gamma"]
    paged = soql(
        org, http, "SELECT Name FROM Account ORDER BY NumberOfEmployees DESC LIMIT 2 OFFSET 1"
    )
    assert names(paged) == ["Acme", "beta"]


def test_parent_fields_render_nested(org: FakeSalesforce, http: requests.Session) -> None:
    body = soql(org, http, "SELECT LastName, Account.Name, Account.Conveyor_Key__c FROM Contact")
    accounts = [r["Account"] for r in body["records"]]
    assert [a and (a["Name"], a[KEY]) for a in accounts] == [("Acme", "a"), ("Gamma", "c"), None]
    assert accounts[0]["attributes"]["type"] == "Account"
    filtered = soql(org, http, "SELECT LastName FROM Contact WHERE Account.Conveyor_Key__c = 'c'")
    assert [r["LastName"] for r in filtered["records"]] == ["Oh"]


def test_contact_name_is_computed(org: FakeSalesforce, http: requests.Session) -> None:
    body = soql(org, http, "SELECT Name FROM Contact WHERE FirstName = 'ann'")
    assert names(body) == ["Ann Ng"]


def test_count(org: FakeSalesforce, http: requests.Session) -> None:
    body = soql(org, http, "SELECT COUNT() FROM Account WHERE NumberOfEmployees > 10")
    assert body == {"totalSize": 2, "done": True, "records": []}


def test_ids_compare_in_15_and_18_characters(org: FakeSalesforce, http: requests.Session) -> None:
    record_id = str(org.records("Account")[1]["Id"])
    for literal in (record_id, record_id[:15]):
        assert names(
            soql(org, http, " ".join(("SELECT Name FROM Account WHERE Id =", repr(literal))))
        ) == ["beta"]


def test_datetime_and_date_literals(org: FakeSalesforce, http: requests.Session) -> None:
    stamps = [r["SystemModstamp"] for r in org.records("Account")]
    assert stamps[0] == "2025-01-01T00:00:00.000+0000"
    after = soql(
        org, http, "SELECT Name FROM Account WHERE CreatedDate >= 2025-01-01T00:00:01.000+0000"
    )
    assert names(after) == ["beta", "Gamma"]
    assert soql(org, http, "SELECT Name FROM Account WHERE CreatedDate > 2025-01-01")[0] == 400


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("SELEKT Name FROM Account", "MALFORMED_QUERY", "unexpected token: SELEKT"),
        ("SELECT Name FROM Account WHERE", "MALFORMED_QUERY", "unexpected end of query"),
        (
            "SELECT Name FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
            "MALFORMED_QUERY",
            "unexpected token: OR",
        ),
        (
            "SELECT Name FROM Account WHERE SystemModstamp > 2025-01-01T00:00:00",
            "MALFORMED_QUERY",
            "unexpected token",
        ),
        (
            "SELECT Nope__c FROM Account",
            "INVALID_FIELD",
            "No such column 'Nope__c' on entity 'Account'",
        ),
        ("SELECT Name FROM Nope", "INVALID_TYPE", "sObject type 'Nope' is not supported"),
        (
            "SELECT Name FROM Account WHERE NumberOfEmployees = '5'",
            "INVALID_FIELD",
            "must be of type integer",
        ),
        (
            "SELECT Name FROM Account WHERE Name = 5",
            "INVALID_FIELD",
            "should be enclosed in quotes",
        ),
        (
            "SELECT Name FROM Account WHERE Id = 'xyz'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: xyz",
        ),
        (
            "SELECT Bogus.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Bogus'",
        ),
        (
            "SELECT Name, (SELECT LastName FROM Contacts) FROM Account",
            "MALFORMED_QUERY",
            "subqueries",
        ),
    ],
)
def test_errors(
    org: FakeSalesforce, http: requests.Session, query: str, code: str, message: str
) -> None:
    status, body = soql(org, http, query)
    assert status == 400
    assert body[0]["errorCode"] == code and message in body[0]["message"]


def test_located_messages_point_at_the_culprit() -> None:
    with pytest.raises(ApiError) as raised:
        from conveyor.testing.fakes.salesforce.soql import _Parser

        _Parser("SELECT Name FROM Account LIMIT x").query()
    assert raised.value.message == (
        "\nSELECT Name FROM Account LIMIT x\n"
        "                               ^\n"
        "ERROR at Row:1:Column:32\nunexpected token: x"
    )


def test_parse_tree() -> None:
    query = parse(
        "select Id, Account.Name from Contact where not (a = 1 or b in ('x')) and c like 'd%'"
    )
    assert [f.path for f in query.fields] == [("Id",), ("Account", "Name")]
    assert isinstance(query.where, And)
    negated, like = query.where.items
    assert isinstance(negated, Not) and isinstance(negated.item, Or)
    assert isinstance(like, Comparison) and like.op == "LIKE"
