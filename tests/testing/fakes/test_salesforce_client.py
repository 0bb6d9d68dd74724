"""simple-salesforce, unmodified, against the fake: the calls the connector will make."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from simple_salesforce.api import Salesforce

from conveyor.testing.fakes.salesforce import FakeSalesforce
from tests.testing.fakes.conftest import KEY, WAIT, bulk2, sobject

QUERY = "GET /services/data/{version}/query"
QUERY_MORE = "GET /services/data/{version}/query/{locator}"
POLL = "GET /services/data/{version}/jobs/ingest/{job}"


def _accounts(fake: FakeSalesforce, count: int) -> list[str]:
    return fake.seed("Account", [{"Name": f"Account {i}", KEY: f"K-{i}"} for i in range(count)])


def test_query_returns_records_with_attributes(fake: FakeSalesforce, sf: Salesforce) -> None:
    ids = _accounts(fake, 3)
    result = sf.query("SELECT Id, Name FROM Account ORDER BY Name DESC")
    assert result["totalSize"] == 3 and result["done"] is True
    assert [r["Name"] for r in result["records"]] == ["Account 2", "Account 1", "Account 0"]
    first = result["records"][0]
    assert first["Id"] == ids[2]
    assert first["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{ids[2]}",
    }


def test_query_all_follows_next_records_url(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.query_page_size = 2
    _accounts(fake, 5)
    fake.reset_calls()
    result = sf.query_all("SELECT Name, Conveyor_Key__c FROM Account")
    assert [r[KEY] for r in result["records"]] == [f"K-{i}" for i in range(5)]
    assert fake.calls_by_route == {QUERY: 1, QUERY_MORE: 2}


def test_query_all_with_include_deleted_returns_deleted_rows(
    fake: FakeSalesforce, sf: Salesforce
) -> None:
    ids = _accounts(fake, 3)
    fake.delete("Account", ids[1])
    live = sf.query_all("SELECT Id FROM Account")
    everything = sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert [r["Id"] for r in live["records"]] == [ids[0], ids[2]]
    assert {r["Id"]: r["IsDeleted"] for r in everything["records"]} == {
        ids[0]: False,
        ids[1]: True,
        ids[2]: False,
    }


def test_describe_serves_the_recorded_payload_with_custom_fields(sf: Salesforce) -> None:
    describe = sobject(sf, "Account").describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert describe["name"] == "Account" and describe["keyPrefix"] == "001"
    assert {"Name", "AnnualRevenue", "SystemModstamp", "IsDeleted"} <= fields.keys()
    assert fields["Name"]["createable"] is True and fields["Name"]["nillable"] is False
    assert fields[KEY]["externalId"] is True and fields[KEY]["custom"] is True
    assert fields[KEY].keys() == fields["Name"].keys()
    assert describe["urls"]["describe"] == "/services/data/v59.0/sobjects/Account/describe"
    everything = sf.describe()
    assert everything is not None
    names = {o["name"] for o in everything["sobjects"]}
    assert {"Account", "Contact"} <= names


def test_create_update_and_upsert_answer_like_salesforce(
    fake: FakeSalesforce, sf: Salesforce
) -> None:
    created = sobject(sf, "Account").create({"Name": "Acme", KEY: "abc"})
    assert created["success"] is True and created["errors"] == [] and len(created["id"]) == 18
    assert sobject(sf, "Account").update(created["id"], {"Phone": "555"}) == 204
    assert sobject(sf, "Account").upsert(f"{KEY}/abc", {"Name": "Acme Corp"}) == 200
    assert sobject(sf, "Account").upsert(f"{KEY}/new-1", {"Name": "Newco"}) == 201
    record = sobject(sf, "Account").get(created["id"])
    assert (record["Name"], record["Phone"]) == ("Acme Corp", "555")
    assert sobject(sf, "Account").get_by_custom_id(KEY, "new-1")["Name"] == "Newco"
    assert len(fake.records("Account")) == 2


def test_sobject_collections_through_restful(fake: FakeSalesforce, sf: Salesforce) -> None:
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "One", KEY: "one"},
                {"attributes": {"type": "Contact"}, "LastName": "Two", KEY: "two"},
            ],
        },
    )
    assert created is not None
    assert [item["success"] for item in created] == [True, True]
    upserted = sf.restful(
        f"composite/sobjects/Account/{KEY}",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, KEY: "ONE", "Name": "One again"},
                {"attributes": {"type": "Account"}, KEY: "three", "Name": "Three"},
            ],
        },
    )
    assert upserted is not None
    assert [(i["success"], i["created"]) for i in upserted] == [(True, False), (True, True)]
    assert upserted[0]["id"] == created[0]["id"]
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": created[1]["id"]})
    assert deleted == [{"id": created[1]["id"], "success": True, "errors": []}]
    assert fake.records("Contact") == []


def test_bulk2_upsert_creates_and_updates(fake: FakeSalesforce, sf: Salesforce) -> None:
    _accounts(fake, 2)
    results = bulk2(sf, "Account").upsert(
        records=[
            {KEY: "K-0", "Name": "Bulk updated"},
            {KEY: "K-9", "Name": "Bulk created"},
        ],
        external_id_field=KEY,
        wait=WAIT,
    )
    assert results[0]["numberRecordsProcessed"] == 2 and results[0]["numberRecordsFailed"] == 0
    outcome = bulk2(sf, "Account").get_all_ingest_records(str(results[0]["job_id"]))
    created = {r[KEY]: r["sf__Created"] for r in outcome["successfulRecords"]}
    assert created == {"K-0": "false", "K-9": "true"}
    names = {r[KEY]: r["Name"] for r in fake.records("Account")}
    assert names == {"K-0": "Bulk updated", "K-1": "Account 1", "K-9": "Bulk created"}


def test_bulk2_ingest_polls_until_the_job_completes(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.polls_to_complete = 3
    fake.reset_calls()
    bulk2(sf, "Account").insert(records=[{"Name": "Polled"}], wait=WAIT)
    assert fake.calls_by_route[POLL] == 4  # three polls to finish, one more for the counts
    assert [r["Name"] for r in fake.records("Account")] == ["Polled"]


def test_bulk2_query_pages_by_locator(fake: FakeSalesforce, sf: Salesforce) -> None:
    _accounts(fake, 5)
    pages = list(
        bulk2(sf, "Account").query("SELECT Id, Name FROM Account", max_records=2, wait=WAIT)
    )
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(str(page)))]
    assert len(pages) == 3
    assert [r["Name"] for r in rows] == [f"Account {i}" for i in range(5)]


def test_bulk2_download_writes_one_file_per_page(
    fake: FakeSalesforce, sf: Salesforce, tmp_path: Path
) -> None:
    _accounts(fake, 3)
    pages = bulk2(sf, "Account").download(
        "SELECT Conveyor_Key__c FROM Account", path=str(tmp_path), max_records=2, wait=WAIT
    )
    assert [p["number_of_records"] for p in pages] == [2, 1]
    keys = []
    for page in pages:
        with open(page["file"], encoding="utf-8") as handle:
            keys += [r[KEY] for r in csv.DictReader(handle)]
    assert keys == ["K-0", "K-1", "K-2"]


def test_bulk2_delete_moves_records_to_the_recycle_bin(
    fake: FakeSalesforce, sf: Salesforce
) -> None:
    ids = _accounts(fake, 2)
    bulk2(sf, "Account").delete(records=[{"Id": ids[0]}], wait=WAIT)
    assert [r["Id"] for r in fake.records("Account")] == [ids[1]]
    deleted = [r for r in fake.records("Account", include_deleted=True) if r["IsDeleted"]]
    assert [r["Id"] for r in deleted] == [ids[0]]
