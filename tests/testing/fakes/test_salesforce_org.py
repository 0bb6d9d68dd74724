"""The fake org itself: ids, stamps, the recycle bin, write rules and the in-process API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.salesforce import FakeSalesforce, ManualClock, custom_field
from conveyor.testing.fakes.salesforce.csvio import CsvFormatError, parse
from conveyor.testing.fakes.salesforce.ids import IdFactory, case_safe_suffix, normalize_id
from conveyor.testing.fakes.salesforce.values import java_double
from tests.testing.fakes.conftest import KEY, data_url


def test_ids_have_salesforce_case_safe_suffixes() -> None:
    # real ids from the recordings
    for real in ("0018Z00002rGc7YQAS", "001B000001LntWlIAJ", "0035500001H9kZuAAJ"):
        assert case_safe_suffix(real[:15]) == real[15:]
        assert normalize_id(real[:15]) == real == normalize_id(real)
    assert normalize_id("a00B000000FSjVUIB1") is None  # suffix does not match
    assert normalize_id("not-an-id") is None
    made = IdFactory().new("001")
    assert made.startswith("001") and normalize_id(made) == made


def test_java_doubles() -> None:
    assert [java_double(v) for v in (30.0, 1500000.0, 15000000.0, 0.5, 1e-4, -2.5e10)] == [
        "30.0",
        "1500000.0",
        "1.5E7",
        "0.5",
        "1.0E-4",
        "-2.5E10",
    ]


def test_writes_stamp_from_the_clock(fake: FakeSalesforce) -> None:
    clock = ManualClock("2025-03-01T10:00:00.750Z")
    fake.clock = clock
    (record_id,) = fake.seed("Account", [{"Name": "Stamped"}])
    clock.advance(90)
    fake.update("Account", record_id, {})
    clock.advance(30)
    fake.delete("Account", record_id)
    record = fake.get("Account", record_id)
    assert record is not None
    assert record["CreatedDate"] == "2025-03-01T10:00:00.000+0000"  # whole seconds
    assert record["LastModifiedDate"] == "2025-03-01T10:02:00.000+0000"
    assert record["SystemModstamp"] == "2025-03-01T10:02:00.000+0000"
    assert record["IsDeleted"] is True


def test_naive_clocks_are_refused(fake: FakeSalesforce) -> None:
    fake.clock = lambda: datetime(2025, 1, 1)
    with pytest.raises(ValueError, match="naive"):
        fake.seed("Account", [{"Name": "x"}])
    fake.clock = lambda: datetime(2025, 1, 1, tzinfo=UTC)
    assert fake.seed("Account", [{"Name": "x"}])


def test_recycle_bin(fake: FakeSalesforce, http: requests.Session) -> None:
    ids = fake.seed("Account", [{"Name": "A"}, {"Name": "B"}])
    fake.delete("Account", ids)
    gone = http.get(data_url(fake, f"sobjects/Account/{ids[0]}"))
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    fake.undelete("Account", ids[0])
    assert [r["Id"] for r in fake.records("Account")] == [ids[0]]
    fake.empty_recycle_bin()
    assert [r["Id"] for r in fake.records("Account", include_deleted=True)] == [ids[0]]


def test_seeding_is_all_or_none(fake: FakeSalesforce) -> None:
    with pytest.raises(ValueError, match="record 1: REQUIRED_FIELD_MISSING"):
        fake.seed("Account", [{"Name": "fine"}, {"Phone": "no name"}])
    assert fake.records("Account") == []


@pytest.mark.parametrize(
    ("payload", "code", "fields"),
    [
        ({"Name": "x", "Nope__c": 1}, "INVALID_FIELD", []),
        (
            {"Name": "x", "CreatedDate": "2025-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
        (
            {"Name": "x", "NumberOfEmployees": "many"},
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            ["NumberOfEmployees"],
        ),
        ({"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
        (
            {"Name": "x", "CleanStatus": "Shiny"},
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["CleanStatus"],
        ),
        ({"Name": "x", "ParentId": "garbage"}, "MALFORMED_ID", ["ParentId"]),
        ({"Name": "x", "ParentId": "001000000000000AAA"}, "INVALID_CROSS_REFERENCE_KEY", []),
        ({"Name": "x", "Id": "001000000000000AAA"}, "INVALID_FIELD_FOR_INSERT_UPDATE", []),
        ({"Name": "x", "Parent": {KEY: "missing"}}, "INVALID_FIELD", []),
    ],
)
def test_write_rules(
    fake: FakeSalesforce,
    http: requests.Session,
    payload: dict[str, Any],
    code: str,
    fields: list[str],
) -> None:
    answer = http.post(data_url(fake, "sobjects/Account"), json=payload)
    assert answer.status_code == 400
    (error,) = answer.json()
    assert (error["errorCode"], error["fields"]) == (code, fields)


def test_unique_external_ids(fake: FakeSalesforce, http: requests.Session) -> None:
    (first,) = fake.seed("Account", [{"Name": "One", KEY: "dup"}])
    answer = http.post(data_url(fake, "sobjects/Account"), json={"Name": "Two", KEY: "DUP"})
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "DUPLICATE_VALUE"
    assert first in answer.json()[0]["message"]


def test_parents_by_external_id_in_json_and_csv(
    fake: FakeSalesforce, http: requests.Session
) -> None:
    (account,) = fake.seed("Account", [{"Name": "Parent", KEY: "p-1"}])
    fake.seed(
        "Contact",
        [{"LastName": "Json", "Account": {"attributes": {"type": "Account"}, KEY: "P-1"}}],
    )
    job = http.post(
        data_url(fake, "jobs/ingest"),
        json={"object": "Contact", "operation": "upsert", "externalIdFieldName": KEY},
    ).json()["id"]
    http.put(
        data_url(fake, f"jobs/ingest/{job}/batches"),
        data=f"{KEY},LastName,Account.{KEY}\nc-1,Csv,p-1\n",
    )
    http.patch(data_url(fake, f"jobs/ingest/{job}"), json={"state": "UploadComplete"})
    assert http.get(data_url(fake, f"jobs/ingest/{job}")).json()["numberRecordsFailed"] == 0
    assert [(c["LastName"], c["AccountId"]) for c in fake.records("Contact")] == [
        ("Json", account),
        ("Csv", account),
    ]


def test_custom_objects_and_fields(fake: FakeSalesforce, http: requests.Session) -> None:
    fake.add_object(
        "Invoice__c",
        [
            custom_field("Amount__c", "currency"),
            custom_field("Account__c", "reference", reference_to="Account"),
        ],
    )
    (account,) = fake.seed("Account", [{"Name": "Buyer"}])
    fake.seed("Invoice__c", [{"Name": "INV-1", "Amount__c": 12.5, "Account__c": account}])
    body = http.get(
        data_url(fake, "query"),
        params={"q": "SELECT Name, Amount__c, Account__r.Name FROM Invoice__c"},
    ).json()
    (record,) = body["records"]
    assert (record["Name"], record["Amount__c"], record["Account__r"]["Name"]) == (
        "INV-1",
        12.5,
        "Buyer",
    )
    describe = http.get(data_url(fake, "sobjects/Invoice__c/describe")).json()
    assert describe["custom"] is True and {"Id", "Name", "SystemModstamp", "Amount__c"} <= {
        f["name"] for f in describe["fields"]
    }
    with pytest.raises(ValueError, match="end in __c"):
        fake.add_object("Invoice")


def test_csv_parsing_follows_the_declared_line_ending() -> None:
    text = 'A,B\n"x\r\ny",2\n'
    assert parse(text, ",", "LF") == [["A", "B"], ["x\r\ny", "2"]]
    assert parse("A|B\r\n1|2\r\n", "|", "CRLF") == [["A", "B"], ["1", "2"]]
    with pytest.raises(CsvFormatError, match="setting is CRLF"):
        parse("A\n1\n", ",", "CRLF")


def test_calls_are_counted_per_route(fake: FakeSalesforce, http: requests.Session) -> None:
    http.get(data_url(fake, "limits"))
    http.get(data_url(fake, "query"), params={"q": "SELECT Id FROM Account"})
    http.get(data_url(fake, "nowhere/at/all"))
    assert fake.calls == 3
    assert fake.calls_by_route == {
        "GET /services/data/{version}/limits": 1,
        "GET /services/data/{version}/query": 1,
        "GET (no route)": 1,
    }
    fake.reset_calls()
    assert fake.calls == 0 and fake.api_usage == 2
