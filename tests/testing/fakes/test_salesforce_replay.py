"""Recorded Salesforce traffic replayed against the fake, comparing response shapes.

The recordings are heroku-applink-wiremock stubs and cumulusci VCR cassettes (see
../shared/peer-suites/README.md). Each test seeds the fake with data matching the recording, sends
the recorded request and compares status, keys, value types and the headers that matter. Where the
fake reproduces Salesforce's exact text (error bodies, Bulk error strings), the values are compared
too.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
import requests
import yaml

from conveyor.testing.fakes.salesforce import FakeSalesforce, custom_field
from tests.helpers import PEER
from tests.testing.fakes.conftest import data_url
from tests.testing.fakes.shapes import shape_differences

WIREMOCK = PEER / "heroku-applink-wiremock" / "mappings"
CASSETTES = PEER / "cumulusci-cassettes" / "cumulusci"
UPSERTS = CASSETTES / "tasks" / "bulkdata" / "tests" / "cassettes"


def stub(name: str) -> dict[str, Any]:
    mapping: dict[str, Any] = json.loads((WIREMOCK / name).read_text(encoding="utf-8"))
    return mapping


def recorded_body(mapping: dict[str, Any]) -> Any:
    response = mapping["response"]
    return response["jsonBody"] if "jsonBody" in response else json.loads(response["body"])


def replay(
    http: requests.Session, fake: FakeSalesforce, mapping: dict[str, Any], path: str | None = None
) -> requests.Response:
    """Send the stub's request (optionally to another path, e.g. with a seeded record id)."""
    request = mapping["request"]
    params: dict[str, str] = {
        k: v["equalTo"] for k, v in request.get("queryParameters", {}).items()
    }
    body = None
    for pattern in request.get("bodyPatterns", []):
        body = pattern["equalToJson"]
        body = json.loads(body) if isinstance(body, str) else body
    target = path or request.get("url") or request["urlPath"]
    return http.request(request["method"], fake.url + target, params=params or None, json=body)


def assert_same_shape(mapping: dict[str, Any], answer: requests.Response) -> None:
    assert answer.status_code == mapping["response"]["status"], answer.text
    problems = shape_differences(recorded_body(mapping), answer.json())
    assert problems == [], problems
    recorded_headers = mapping["response"].get("headers", {})
    if "Sforce-Limit-Info" in recorded_headers:
        assert re.fullmatch(r"api-usage=\d+/\d+", answer.headers["Sforce-Limit-Info"])
    if "json" in recorded_headers.get("Content-Type", "json"):
        assert answer.headers["Content-Type"].startswith("application/json")


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# -- REST query -----------------------------------------------------------------------------


def test_query(fake: FakeSalesforce, http: requests.Session) -> None:
    mapping = stub("query.json")
    names = [r["Name"] for r in recorded_body(mapping)["records"]]
    fake.seed("Account", [{"Name": n} for n in names])
    answer = replay(http, fake, mapping)
    assert_same_shape(mapping, answer)
    assert [r["Name"] for r in answer.json()["records"]] == names


def test_query_with_next_records_url(fake: FakeSalesforce, http: requests.Session) -> None:
    fields = [custom_field("RANDOM_1__c", length=10), custom_field("RANDOM_2__c", length=10)]
    fake.add_object("Random__c", fields)
    fake.seed("Random__c", [{"Name": str(i), "RANDOM_1__c": f"R{i}"} for i in range(4500)])
    first_page, second_page = (
        stub("query-with-next-records-url.json"),
        stub("query-with-next-records-url-2.json"),
    )
    first = replay(http, fake, first_page)
    assert_same_shape(first_page, first)
    next_url = first.json()["nextRecordsUrl"]
    assert re.fullmatch(r"/services/data/v51\.0/query/01g\w{15}-2000", next_url)
    second = replay(http, fake, second_page, path=next_url)
    assert_same_shape(second_page, second)
    assert second.json()["nextRecordsUrl"].endswith("-4000")
    assert len(second.json()["records"]) == 2000 and second.json()["totalSize"] == 4500


@pytest.mark.parametrize(
    "name",
    ["query-malformed-soql.json", "query-unknown-column.json", "create-unknown-object.json"],
)
def test_rest_errors_match_the_recording_exactly(
    fake: FakeSalesforce, http: requests.Session, name: str
) -> None:
    mapping = stub(name)
    answer = replay(http, fake, mapping)
    assert answer.status_code == mapping["response"]["status"]
    assert answer.json() == recorded_body(mapping)


def test_invalid_token_and_api_version(fake: FakeSalesforce, http: requests.Session) -> None:
    for name, token in (
        ("create-invalid-token.json", "badToken"),
        ("create-invalid-api-version.json", None),
    ):
        mapping = stub(name)
        if token:
            http.headers["Authorization"] = f"Bearer {token}"
        answer = replay(http, fake, mapping)
        assert answer.status_code == mapping["response"]["status"]
        assert answer.json() == recorded_body(mapping)


def test_create_with_an_unknown_field(fake: FakeSalesforce, http: requests.Session) -> None:
    mapping = stub("create-invalid-field.json")  # recorded against "Akcount", answered for Account
    answer = replay(http, fake, mapping, path="/services/data/v51.0/sobjects/Account")
    assert answer.status_code == 400
    assert answer.json() == [
        {**recorded_body(mapping)[0], "fields": []}
    ]  # the fake always lists fields, as most REST record errors do


# -- sObject rows ---------------------------------------------------------------------------


@pytest.fixture
def movies(fake: FakeSalesforce) -> FakeSalesforce:
    fake.add_object(
        "Movie__c",
        [
            custom_field("Rating__c", "picklist", picklist=["Excellent", "Good"], restricted=True),
            custom_field("ReleaseDate__c", "date"),
        ],
        key_prefix="a00",
    )
    return fake


def test_create_update_and_malformed_id(movies: FakeSalesforce, http: requests.Session) -> None:
    created_stub = stub("create.json")
    created = replay(http, movies, created_stub)
    assert_same_shape(created_stub, created)
    record_id = created.json()["id"]
    assert created.headers["Location"] == f"/services/data/v51.0/sobjects/Movie__c/{record_id}"
    updated = replay(
        http,
        movies,
        stub("update.json"),
        path=f"/services/data/v51.0/sobjects/Movie__c/{record_id}",
    )
    assert updated.status_code == 204 and updated.content == b""
    assert movies.get("Movie__c", record_id)["ReleaseDate__c"] == "1980-05-21"  # type: ignore[index]
    malformed = stub("update-malformed-id.json")
    answer = replay(http, movies, malformed)
    assert answer.status_code == 400 and answer.json() == recorded_body(malformed)


def test_required_field_missing(fake: FakeSalesforce, http: requests.Session) -> None:
    fake.add_object("Spaceship__c", [custom_field("Website__c", "url", required=True)])
    mapping = stub("create-required-field-missing.json")
    answer = replay(http, fake, mapping)
    assert answer.status_code == 400 and answer.json() == recorded_body(mapping)


def test_delete_and_delete_again(fake: FakeSalesforce, http: requests.Session) -> None:
    (record_id,) = fake.seed("Account", [{"Name": "Doomed"}])
    path = f"/services/data/v51.0/sobjects/Account/{record_id}"
    first = replay(http, fake, stub("delete.json"), path=path)
    assert first.status_code == 204
    again = stub("delete-already-deleted.json")
    answer = replay(http, fake, again, path=path)
    assert answer.status_code == 404 and answer.json() == recorded_body(again)


# -- Bulk API 2.0 ingest --------------------------------------------------------------------

RECORDED_ROWS = (
    "Name,Description,NumberOfEmployees\n"
    "TestAccount1,Description of TestAccount1,30\n"
    "TestAccount2,Another description,40\n"
    "TestAccount3,Yet another description,50\n"
)


def _ingest(http: requests.Session, fake: FakeSalesforce, data: str) -> str:
    job = http.post(
        data_url(fake, "jobs/ingest", "56.0"), json={"object": "Account", "operation": "insert"}
    ).json()["id"]
    http.put(data_url(fake, f"jobs/ingest/{job}/batches", "56.0"), data=data.encode())
    http.patch(data_url(fake, f"jobs/ingest/{job}", "56.0"), json={"state": "UploadComplete"})
    return str(job)


def _get(http: requests.Session, fake: FakeSalesforce, path: str) -> requests.Response:
    return http.get(data_url(fake, path, "56.0"))


def test_bulk_ingest_job_info_and_results(fake: FakeSalesforce, http: requests.Session) -> None:
    job = _ingest(http, fake, RECORDED_ROWS)
    info_stub = stub("get-info-7508z00000lSXvxQAG.json")
    info = _get(http, fake, f"jobs/ingest/{job}")
    assert_same_shape(info_stub, info)
    assert info.json()["state"] == "JobComplete" and info.json()["numberRecordsProcessed"] == 3
    success_stub = stub("bulk-api-ingest-7508Z00000lSXvxQAG.json")
    recorded = csv_rows(success_stub["response"]["body"])
    answer = csv_rows(_get(http, fake, f"jobs/ingest/{job}/successfulResults").text)
    assert answer[0] == recorded[0]
    assert sorted(r[1:] for r in answer[1:]) == sorted(r[1:] for r in recorded[1:])
    for kind, name in (
        ("failedResults", "bulk-api-ingest-empty-failed.json"),
        ("unprocessedrecords", "bulk-api-ingest-empty-unprocessed-records.json"),
    ):
        assert _get(http, fake, f"jobs/ingest/{job}/{kind}").text == stub(name)["response"]["body"]


def test_bulk_ingest_failed_results(fake: FakeSalesforce, http: requests.Session) -> None:
    mapping = stub("bulk-api-injest-fail-7508Z00000lSXvxQAG.json")
    job = _ingest(
        http,
        fake,
        "Name,Description,NumberOfEmployees\n"
        ",Description of TestAccount1,30\n"
        ",Another description,40\n",
    )
    assert _get(http, fake, f"jobs/ingest/{job}").json()["numberRecordsFailed"] == 2
    answer = csv_rows(_get(http, fake, f"jobs/ingest/{job}/failedResults").text)
    recorded = csv_rows(mapping["response"]["body"])
    assert answer[0] == recorded[0] and sorted(answer[1:]) == sorted(recorded[1:])


# -- Bulk API 2.0 query ---------------------------------------------------------------------


def test_bulk_query_job_info_and_result_pages(fake: FakeSalesforce, http: requests.Session) -> None:
    fake.seed("Account", [{"Name": f"A{i}"} for i in range(3)])
    created = http.post(
        data_url(fake, "jobs/query", "56.0"),
        json={"operation": "query", "query": "SELECT Id FROM Account"},
    )
    assert created.status_code == stub("query-create-job.json")["response"]["status"]
    job = created.json()["id"]
    assert job.startswith("750")
    info_stub = stub("get-info-7508z00000lTqQCQA0.json")
    assert_same_shape(info_stub, _get(http, fake, f"jobs/query/{job}"))
    page = _get(http, fake, f"jobs/query/{job}/results")
    result_stub = stub("bulk-api-query-get-7508Z00000lTqQCQA0-result.json")
    assert (
        page.headers["Sforce-NumberOfRecords"]
        == result_stub["response"]["headers"]["Sforce-NumberOfRecords"]
    )
    rows, recorded = csv_rows(page.text), csv_rows(result_stub["response"]["body"])
    assert rows[0] == recorded[0] and len(rows) == len(recorded)
    assert all(len(r[0]) == len(recorded[1][0]) for r in rows[1:])
    more_stub = stub("bulk-api-query-get-more-results.json")
    first = http.get(data_url(fake, f"jobs/query/{job}/results", "56.0"), params={"maxRecords": 1})
    more = http.get(
        data_url(fake, f"jobs/query/{job}/results", "56.0"),
        params={"locator": first.headers["Sforce-Locator"], "maxRecords": "2"},
    )
    assert (
        more.headers["Sforce-NumberOfRecords"]
        == more_stub["response"]["headers"]["Sforce-NumberOfRecords"]
    )


def test_bulk_query_with_no_results(fake: FakeSalesforce, http: requests.Session) -> None:
    mapping = stub("bulk-api-query-get-results-empty.json")
    job = http.post(
        data_url(fake, "jobs/query", "56.0"), json={"query": "SELECT Id FROM Account"}
    ).json()["id"]
    _get(http, fake, f"jobs/query/{job}")
    answer = _get(http, fake, f"jobs/query/{job}/results")
    assert answer.headers["Sforce-NumberOfRecords"] == "0"
    assert csv_rows(answer.text) == csv_rows(mapping["response"]["body"])


# -- cumulusci cassettes: describe and sObject Collections ----------------------------------


def cassette(path: str) -> list[dict[str, Any]]:
    """The cassette's own interactions (shared describe includes are left out)."""
    data = yaml.load((CASSETTES / path).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    interactions = data.get("interactions", [data])
    return [i for i in interactions if "request" in i]


def send(
    http: requests.Session,
    fake: FakeSalesforce,
    interaction: dict[str, Any],
    ids: dict[str, str] | None = None,
) -> requests.Response:
    """Send a cassette request, with ids the recording's org made replaced by the fake's."""
    request = interaction["request"]
    url = request["uri"].replace("https://orgname.my.salesforce.com", fake.url)
    url = re.sub(r"/services/data/v(xx|\d+)\.0/", "/services/data/v59.0/", url)
    body = request.get("body") or ""
    for recorded_id, fake_id in (ids or {}).items():
        url, body = url.replace(recorded_id, fake_id), body.replace(recorded_id, fake_id)
    return http.request(request["method"], url, json=json.loads(body) if body else None)


def remember_ids(recorded: Any, answer: Any, ids: dict[str, str]) -> None:
    """Pair the ids the recording's org returned with the ones the fake returned."""
    if isinstance(recorded, list) and isinstance(answer, list):
        for old, new in zip(recorded, answer, strict=True):
            if isinstance(old, dict) and old.get("id") and isinstance(new, dict):
                ids[old["id"]] = new["id"]


def recorded_json(interaction: dict[str, Any]) -> Any:
    return json.loads(interaction["response"]["body"]["string"])


@pytest.mark.parametrize("name", ["Account", "Contact", "Global"])
def test_describe(fake: FakeSalesforce, http: requests.Session, name: str) -> None:
    (interaction,) = cassette(f"tests/shared_cassettes/GET_sobjects_{name}_describe.yaml")
    answer = send(http, fake, interaction)
    assert answer.status_code == interaction["response"]["status"]["code"]
    recorded = recorded_json(interaction)
    assert shape_differences(recorded, answer.json()) == []
    if name != "Global":
        recorded_names = [f["name"] for f in recorded["fields"]]
        assert [f["name"] for f in answer.json()["fields"]][: len(recorded_names)] == recorded_names


def test_composite_upserts_by_email(fake: FakeSalesforce, http: requests.Session) -> None:
    """CumulusCI's REST upsert: creates, then updates matching emails whatever their case."""
    interactions = cassette(
        "tasks/bulkdata/tests/cassettes/TestUpsert.test_simple_upsert__rest.yaml"
    )
    ids: dict[str, str] = {}
    for interaction in interactions:
        answer = send(http, fake, interaction, ids)
        if "%28select" in interaction["request"]["uri"]:
            # child-relationship subqueries are refused, never misread
            assert answer.json()[0]["errorCode"] == "MALFORMED_QUERY"
            continue
        assert answer.status_code == interaction["response"]["status"]["code"], answer.text
        recorded = recorded_json(interaction)
        assert shape_differences(recorded, answer.json()) == []
        remember_ids(recorded, answer.json(), ids)
        if "composite/sobjects" in interaction["request"]["uri"]:
            assert [i.get("created") for i in answer.json()] == [i.get("created") for i in recorded]
        elif "query" in interaction["request"]["uri"]:
            assert answer.json()["totalSize"] == recorded["totalSize"]
    assert len(fake.records("Contact")) == 17 and len(fake.records("Opportunity")) == 2


def test_upsert_on_id_and_duplicate_values(fake: FakeSalesforce, http: requests.Session) -> None:
    """The duplicate-error cassette: the org ends with two Accounts sharing AccountNumber 420,
    which CumulusCI then refuses as an upsert key; the fake must serve that state."""
    interactions = cassette(
        "tasks/bulkdata/tests/cassettes/"
        "TestUpsert.test_upsert_complex_external_id_field_rest__duplicate_error.yaml"
    )
    ids: dict[str, str] = {}
    for interaction in interactions:
        answer = send(http, fake, interaction, ids)
        assert answer.status_code == interaction["response"]["status"]["code"]
        recorded = recorded_json(interaction)
        assert shape_differences(recorded, answer.json()) == []
        remember_ids(recorded, answer.json(), ids)
    final = send(http, fake, interactions[-1]).json()
    assert [r["AccountNumber"] for r in final["records"]] == ["420", "420"]
