"""Each Salesforce point in ../shared/VENDOR-NOTES.md, held by the fake.

A connector author relies on the fake to fail where Salesforce would; these tests pin the traps.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceMoreThanOneRecord, SalesforceRefusedRequest

from conveyor.testing.fakes.salesforce import FakeSalesforce, custom_field
from tests.testing.fakes.conftest import KEY, data_url, sobject

INGEST = "jobs/ingest"


def _job(http: requests.Session, fake: FakeSalesforce, body: dict[str, str]) -> str:
    answer = http.post(data_url(fake, INGEST), json={"object": "Account", **body})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def _run_job(http: requests.Session, fake: FakeSalesforce, job: str, data: bytes) -> dict[str, str]:
    upload = http.put(
        data_url(fake, f"{INGEST}/{job}/batches"), data=data, headers={"Content-Type": "text/csv"}
    )
    assert upload.status_code == 201, upload.text
    http.patch(data_url(fake, f"{INGEST}/{job}"), json={"state": "UploadComplete"})
    info: dict[str, str] = http.get(data_url(fake, f"{INGEST}/{job}")).json()
    return info


def _results(
    http: requests.Session, fake: FakeSalesforce, job: str, kind: str
) -> list[dict[str, str]]:
    text = http.get(data_url(fake, f"{INGEST}/{job}/{kind}")).text
    return list(csv.DictReader(io.StringIO(text)))


# -- upsert by external id ------------------------------------------------------------------


def test_upsert_answers_201_created_then_200_not_created(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    url = data_url(fake, f"sobjects/Account/{KEY}/ext-1")
    first = http.patch(url, json={"Name": "Acme"})
    second = http.patch(url, json={"Name": "Acme 2"})
    assert first.status_code == 201 and first.json()["created"] is True
    assert second.status_code == 200
    assert second.json() == {
        "id": first.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }


def test_upsert_update_answers_204_on_api_45_and_older(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    url = data_url(fake, f"sobjects/Account/{KEY}/ext-1", version="45.0")
    created = http.patch(url, json={"Name": "Acme"})
    updated = http.patch(url, json={"Name": "Acme 2"})
    assert created.status_code == 201 and "created" not in created.json()
    assert updated.status_code == 204 and updated.content == b""


def test_upsert_with_several_matches_answers_300(
    fake: FakeSalesforce, http: requests.Session, sf: Salesforce
) -> None:
    ids = fake.seed(
        "Contact",
        [
            {"LastName": "A", "Email": "twin@example.com"},
            {"LastName": "B", "Email": "TWIN@example.com"},
        ],
    )
    answer = http.patch(data_url(fake, "sobjects/Contact/Email/twin@example.com"), json={})
    assert answer.status_code == 300
    assert answer.json() == [f"/services/data/v59.0/sobjects/Contact/{i}" for i in ids]
    with pytest.raises(SalesforceMoreThanOneRecord):
        sobject(sf, "Contact").upsert("Email/twin@example.com", {"LastName": "C"})


# -- queryAll paging ------------------------------------------------------------------------


def test_query_all_next_records_url_points_at_query_and_keeps_deleted_rows(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    fake.query_page_size = 2
    ids = fake.seed("Account", [{"Name": f"A{i}"} for i in range(5)])
    fake.delete("Account", ids[3:])
    first = http.get(data_url(fake, "queryAll"), params={"q": "SELECT Id, IsDeleted FROM Account"})
    body = first.json()
    assert body["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    rows = list(body["records"])
    while not body["done"]:
        body = http.get(fake.url + body["nextRecordsUrl"]).json()
        rows += body["records"]
    assert [r["IsDeleted"] for r in rows] == [False, False, False, True, True]


# -- SOQL datetime literals -----------------------------------------------------------------


def test_datetime_literals_are_unquoted(fake: FakeSalesforce, http: requests.Session) -> None:
    fake.seed("Account", [{"Name": f"A{i}"} for i in range(4)])  # stamped 00:00:00 .. 00:00:03
    query = "SELECT Name FROM Account WHERE SystemModstamp > {}"
    found = http.get(data_url(fake, "query"), params={"q": query.format("2025-01-01T00:00:01Z")})
    assert [r["Name"] for r in found.json()["records"]] == ["A2", "A3"]
    quoted = http.get(data_url(fake, "query"), params={"q": query.format("'2025-01-01T00:00:01Z'")})
    assert quoted.status_code == 400
    assert quoted.json()[0]["errorCode"] == "INVALID_FIELD"
    assert "should not be enclosed in quotes" in quoted.json()[0]["message"]


def test_a_plus_offset_must_be_url_encoded(fake: FakeSalesforce, http: requests.Session) -> None:
    fake.seed("Account", [{"Name": "A"}])
    soql = "SELECT Name FROM Account WHERE SystemModstamp >= 2025-01-01T00:00:00+00:00"
    encoded = http.get(data_url(fake, "query"), params={"q": soql})
    raw = http.get(data_url(fake, "query") + "?q=" + soql.replace(" ", "+"))
    assert encoded.status_code == 200 and encoded.json()["totalSize"] == 1
    assert raw.status_code == 400 and raw.json()[0]["errorCode"] == "MALFORMED_QUERY"


# -- case-insensitive text ------------------------------------------------------------------


def test_string_comparison_ignores_case(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.seed("Account", [{"Name": "ACME Corp"}, {"Name": "Other"}])
    found = sf.query("SELECT Name FROM Account WHERE Name = 'acme corp'")
    assert [r["Name"] for r in found["records"]] == ["ACME Corp"]


def test_external_ids_abc_and_ABC_land_on_one_record(fake: FakeSalesforce, sf: Salesforce) -> None:
    assert sobject(sf, "Account").upsert(f"{KEY}/abc", {"Name": "lower"}) == 201
    assert sobject(sf, "Account").upsert(f"{KEY}/ABC", {"Name": "upper"}) == 200
    assert [(r[KEY], r["Name"]) for r in fake.records("Account")] == [("abc", "upper")]


# -- sObject Collections --------------------------------------------------------------------


def _collection(records: list[dict[str, Any]], all_or_none: bool = False) -> dict[str, Any]:
    return {"allOrNone": all_or_none, "records": records}


def test_collections_answer_200_when_every_record_failed(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    records: list[dict[str, Any]] = [{"attributes": {"type": "Account"}} for _ in range(3)]
    answer = http.post(data_url(fake, "composite/sobjects"), json=_collection(records))
    assert answer.status_code == 200
    for item in answer.json():
        assert "id" not in item and item["success"] is False
        assert item["errors"] == [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ]


def test_collections_refuse_more_than_200_records(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    records = [{"attributes": {"type": "Account"}, "Name": f"A{i}"} for i in range(201)]
    answer = http.post(data_url(fake, "composite/sobjects"), json=_collection(records))
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert fake.records("Account") == []
    ok = http.post(data_url(fake, "composite/sobjects"), json=_collection(records[:200]))
    assert ok.status_code == 200 and len(fake.records("Account")) == 200


def test_collections_all_or_none_rolls_everything_back(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    records: list[dict[str, Any]] = [
        {"attributes": {"type": "Account"}, "Name": "Good", KEY: "g"},
        {"attributes": {"type": "Account"}, KEY: "bad"},
        {"attributes": {"type": "Account"}, "Name": "Also good"},
    ]
    answer = http.post(data_url(fake, "composite/sobjects"), json=_collection(records, True))
    codes = [item["errors"][0]["statusCode"] for item in answer.json()]
    assert codes == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "REQUIRED_FIELD_MISSING",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    ]
    assert fake.records("Account") == []
    answer = http.post(data_url(fake, "composite/sobjects"), json=_collection(records[:1], True))
    assert answer.json()[0]["success"] is True


# -- Bulk API 2.0 ingest --------------------------------------------------------------------


def test_bulk_empty_leaves_unchanged_na_sets_null_and_nothing_is_trimmed(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    fake.seed("Account", [{"Name": "Acme", KEY: "a", "Phone": "555", "Site": "HQ"}])
    job = _job(http, fake, {"operation": "upsert", "externalIdFieldName": KEY})
    info = _run_job(http, fake, job, f"{KEY},Name,Phone,Site\na, Acme Ltd ,,#N/A\n".encode())
    assert info["state"] == "JobComplete"
    record = fake.records("Account")[0]
    assert (record["Name"], record["Phone"], record["Site"]) == (" Acme Ltd ", "555", None)


def test_bulk_line_ending_must_match_the_data(fake: FakeSalesforce, http: requests.Session) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["Name"], ["Written by Python's csv module"]])
    assert buffer.getvalue().endswith("\r\n")  # the trap: csv.writer defaults to CRLF
    lf_job = _job(http, fake, {"operation": "insert", "lineEnding": "LF"})
    info = _run_job(http, fake, lf_job, buffer.getvalue().encode())
    assert info["state"] == "Failed"
    assert info["errorMessage"] == (
        "InvalidBatch : LineEnding is invalid on user data. Current LineEnding setting is LF"
    )
    crlf_job = _job(http, fake, {"operation": "insert", "lineEnding": "CRLF"})
    assert _run_job(http, fake, crlf_job, buffer.getvalue().encode())["state"] == "JobComplete"
    assert [r["Name"] for r in fake.records("Account")] == ["Written by Python's csv module"]


def test_bulk_allows_one_data_upload_per_job(fake: FakeSalesforce, http: requests.Session) -> None:
    job = _job(http, fake, {"operation": "insert"})
    url = data_url(fake, f"{INGEST}/{job}/batches")
    assert http.put(url, data=b"Name\nFirst\n").status_code == 201
    second = http.put(url, data=b"Name\nSecond\n")
    assert second.status_code == 409 and second.json()[0]["errorCode"] == "INVALIDJOBSTATE"


def test_bulk_results_keep_no_order_and_normalise_values(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    job = _job(http, fake, {"operation": "insert"})
    lines = [f"Name,{KEY},AnnualRevenue,NumberOfEmployees"]
    lines += [f"Account {i},k{i},15000000,{i}" for i in range(20)]
    assert _run_job(http, fake, job, ("\n".join(lines) + "\n").encode())["state"] == "JobComplete"
    rows = _results(http, fake, job, "successfulResults")
    assert [r[KEY] for r in rows] != [f"k{i}" for i in range(20)]
    assert sorted(r[KEY] for r in rows) == sorted(f"k{i}" for i in range(20))
    assert {r["AnnualRevenue"] for r in rows} == {"1.5E7"}
    assert rows[0]["NumberOfEmployees"] == rows[0][KEY][1:]
    by_id = {str(r["Id"]): r[KEY] for r in fake.records("Account")}
    assert all(by_id[r["sf__Id"]] == r[KEY] for r in rows)


# -- Bulk API 2.0 query ---------------------------------------------------------------------


def test_bulk_query_paging_ends_with_the_literal_null_locator(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    fake.seed("Account", [{"Name": f"A{i}"} for i in range(3)])
    job = http.post(
        data_url(fake, "jobs/query"),
        json={"operation": "query", "query": "SELECT Name FROM Account"},
    )
    job_id = job.json()["id"]
    assert http.get(data_url(fake, f"jobs/query/{job_id}")).json()["state"] == "JobComplete"
    results_url = data_url(fake, f"jobs/query/{job_id}/results")
    first = http.get(results_url, params={"maxRecords": 2})
    assert (
        first.headers["Sforce-NumberOfRecords"] == "2" and first.headers["Sforce-Locator"] != "null"
    )
    last = http.get(
        results_url, params={"maxRecords": "2", "locator": first.headers["Sforce-Locator"]}
    )
    assert (
        last.headers["Sforce-Locator"] == "null" and last.headers["Sforce-NumberOfRecords"] == "1"
    )
    assert last.text == '"Name"\n"A2"\n'


def test_bulk_query_results_need_the_version_that_created_the_job(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    job = http.post(data_url(fake, "jobs/query"), json={"query": "SELECT Id FROM Account"}).json()
    http.get(data_url(fake, f"jobs/query/{job['id']}"))
    other = http.get(data_url(fake, f"jobs/query/{job['id']}/results", version="58.0"))
    assert other.status_code == 409
    same = http.get(data_url(fake, f"jobs/query/{job['id']}/results"))
    assert same.status_code == 200


# -- limits ---------------------------------------------------------------------------------


def test_every_response_carries_sforce_limit_info(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    answers = [
        http.get(data_url(fake, "limits")),
        http.get(data_url(fake, "query"), params={"q": "SELEKT"}),
        http.get(data_url(fake, "sobjects/Nope/describe")),
        http.get(data_url(fake, "jobs/ingest")),
        http.get(fake.url + "/services/data/"),
    ]
    assert [a.headers["Sforce-Limit-Info"] for a in answers] == [
        f"api-usage={n}/100000" for n in (1, 2, 3, 4, 4)
    ]


def test_past_the_daily_limit_calls_get_403_request_limit_exceeded(
    fake: FakeSalesforce, http: requests.Session, sf: Salesforce
) -> None:
    fake.api_limit = 2
    assert http.get(data_url(fake, "limits")).json()["DailyApiRequests"] == {
        "Max": 2,
        "Remaining": 1,
    }
    assert http.get(data_url(fake, "limits")).status_code == 200
    refused = http.get(data_url(fake, "limits"))
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=2/2"
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM Account")


# -- booleans -------------------------------------------------------------------------------


def test_boolean_equals_null_means_false(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.add_field("Account", custom_field("Active__c", "boolean"))
    fake.seed("Account", [{"Name": "On", "Active__c": True}, {"Name": "Off"}])
    found = sf.query("SELECT Name, Active__c FROM Account WHERE Active__c = null")
    assert [(r["Name"], r["Active__c"]) for r in found["records"]] == [("Off", False)]
