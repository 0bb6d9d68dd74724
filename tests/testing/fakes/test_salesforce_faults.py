"""Failures the fake injects on demand: throttling, outages, expired sessions, refused records,
Bulk jobs that fail part way, slow answers and the daily API limit."""

from __future__ import annotations

import csv
import io
import time
from typing import Any, cast

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
)

from conveyor.testing.fakes.salesforce import FakeSalesforce, loopback_session
from tests.testing.fakes.conftest import KEY, WAIT, bulk2, data_url, sobject


@pytest.mark.parametrize("status", [429, 503])
def test_next_calls_answer_the_status_with_retry_after(
    fake: FakeSalesforce, http: requests.Session, status: int
) -> None:
    fake.faults.fail_next("GET */query", status=status, times=2, retry_after=3)
    url, params = data_url(fake, "query"), {"q": "SELECT Id FROM Account"}
    failures = [http.get(url, params=params) for _ in range(2)]
    assert [(f.status_code, f.headers["Retry-After"]) for f in failures] == [(status, "3")] * 2
    assert failures[0].json()[0]["errorCode"] in ("REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE")
    assert http.get(data_url(fake, "limits")).status_code == 200  # other routes unaffected
    assert http.get(url, params=params).status_code == 200


def test_simple_salesforce_sees_a_throttled_call(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.faults.throttle("*", retry_after=1)
    with pytest.raises(SalesforceGeneralError) as raised:
        sf.query("SELECT Id FROM Account")
    assert raised.value.status == 429
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0


def test_an_expired_session_needs_a_new_token(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.faults.expire_session()
    with pytest.raises(SalesforceExpiredSession) as raised:
        sf.query("SELECT Id FROM Account")
    assert cast(Any, raised.value.content) == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    with requests.post(
        f"{fake.url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": fake.credentials.client_id,
            "client_secret": fake.credentials.client_secret.get_secret_value(),
        },
    ) as answer:
        token = answer.json()["access_token"]
    sf.session_id = token
    sf.headers["Authorization"] = f"Bearer {token}"
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0


def test_simple_salesforce_signs_in_again_after_expiry(fake: FakeSalesforce) -> None:
    credentials = fake.credentials
    with loopback_session(fake.url) as session:
        sf = Salesforce(
            username=credentials.username,
            password=credentials.password.get_secret_value()
            + credentials.security_token.get_secret_value(),
            consumer_key=credentials.client_id,
            consumer_secret=credentials.client_secret.get_secret_value(),
            session=session,
        )
        fake.faults.expire_session()
        assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    assert [login.grant for login in fake.logins] == ["password", "password"]


def test_rejected_records_fail_in_every_api(fake: FakeSalesforce, http: requests.Session) -> None:
    fake.faults.reject_records(
        lambda record: record.get("Name") == "Bad",
        error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        message="Name may not be Bad",
        fields=["Name"],
        objects=["Account"],
    )
    rest = http.post(data_url(fake, "sobjects/Account"), json={"Name": "Bad"})
    assert rest.status_code == 400
    assert rest.json() == [
        {
            "message": "Name may not be Bad",
            "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "fields": ["Name"],
        }
    ]
    records = [{"attributes": {"type": "Account"}, "Name": n} for n in ("Good", "Bad")]
    items = http.post(data_url(fake, "composite/sobjects"), json={"records": records}).json()
    assert [i["success"] for i in items] == [True, False]
    assert items[1]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    contact = http.post(
        data_url(fake, "sobjects/Contact"), json={"LastName": "Bad", "FirstName": "x"}
    )
    assert contact.status_code == 201  # the rule names Account only


def test_a_transient_record_error_clears_after_its_count(
    fake: FakeSalesforce, sf: Salesforce
) -> None:
    fake.faults.reject_records(
        lambda record: True,
        error_code="UNABLE_TO_LOCK_ROW",
        message="unable to obtain exclusive access to this record",
        operations=["update"],
        times=1,
    )
    (record_id,) = fake.seed("Account", [{"Name": "Locked"}])
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sobject(sf, "Account").update(record_id, {"Name": "Retry"})
    assert raised.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"  # type: ignore[index]
    assert sobject(sf, "Account").update(record_id, {"Name": "Retry"}) == 204


def test_bulk_rows_matching_a_rule_land_in_failed_results(
    fake: FakeSalesforce, sf: Salesforce
) -> None:
    fake.faults.reject_records(
        lambda record: record.get(KEY) == "k1",
        error_code="REQUIRED_FIELD_MISSING",
        message="Required fields are missing: [Industry]",
        fields=["Industry"],
    )
    results = bulk2(sf, "Account").insert(
        records=[{"Name": f"A{i}", KEY: f"k{i}"} for i in range(3)], wait=WAIT
    )
    assert results[0]["numberRecordsFailed"] == 1
    failed = csv.DictReader(
        io.StringIO(bulk2(sf, "Account").get_failed_records(str(results[0]["job_id"])))
    )
    assert [(r[KEY], r["sf__Error"], r["sf__Id"]) for r in failed] == [
        ("k1", "REQUIRED_FIELD_MISSING:Required fields are missing: [Industry]:Industry --", "")
    ]


def test_a_bulk_job_fails_part_way(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.faults.fail_bulk_job(after_rows=3, failed_rows=2, job_message="InternalServerError : boom")
    with pytest.raises(SalesforceOperationError, match="boom"):
        bulk2(sf, "Account").insert(records=[{"Name": f"A{i}"} for i in range(10)], wait=WAIT)
    (info,) = fake.ingest_jobs()
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "Failed",
        5,
        2,
    )
    outcome = bulk2(sf, "Account").get_all_ingest_records(info["id"])
    assert len(outcome["successfulRecords"]) == 3
    assert {r["sf__Error"] for r in outcome["failedRecords"]} == {
        "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record: --"
    }
    assert [r["Name"] for r in outcome["unprocessedRecords"]] == [f"A{i}" for i in range(5, 10)]
    assert len(fake.records("Account")) == 3
    assert (
        bulk2(sf, "Account").insert(records=[{"Name": "Next"}], wait=WAIT)[0]["numberRecordsFailed"]
        == 0
    )


def test_slow_responses(fake: FakeSalesforce, http: requests.Session) -> None:
    fake.faults.delay("*/limits", seconds=0.3, times=1)
    started = time.monotonic()
    http.get(data_url(fake, "limits"))
    slow = time.monotonic() - started
    started = time.monotonic()
    http.get(data_url(fake, "limits"))
    assert slow >= 0.3 > time.monotonic() - started


def test_clear_removes_every_planned_fault(fake: FakeSalesforce, http: requests.Session) -> None:
    fake.faults.fail_next(status=503, times=5)
    fake.faults.reject_records(lambda record: True)
    fake.faults.clear()
    assert http.post(data_url(fake, "sobjects/Account"), json={"Name": "Fine"}).status_code == 201
