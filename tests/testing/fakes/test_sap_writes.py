"""Writing ``A_BusinessPartner`` with plain ``requests``: CSRF tokens (fetch, cookie binding,
expiry), creates (201, ``Location``, ETag), MERGE/PATCH/PUT with ``If-Match`` (412 stale, 428
when required), weak second-granular ETags, refused deletes and the error bodies of refused
values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.sap import (
    FakeSap,
    ManualClock,
    fetch_csrf,
    partner_url,
    sap_session,
)
from tests.testing.fakes.sap_wire import odata_error


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2024-03-01T08:00:00Z")


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSap]:
    with FakeSap(clock=clock) as running:
        running.insert({"BusinessPartnerCategory": "1", "FirstName": "Ada", "LastName": "Lovelace"})
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeSap) -> Iterator[requests.Session]:
    with sap_session(fake) as session:
        fetch_csrf(fake, session)
        yield session


def test_csrf_token_is_needed_and_bound_to_the_session_cookie(fake: FakeSap) -> None:
    body = {"BusinessPartnerCategory": "1", "LastName": "Hopper"}
    with sap_session(fake) as first, sap_session(fake) as second:
        refused = first.post(partner_url(fake), json=body)
        assert refused.status_code == 403
        assert refused.headers["x-csrf-token"] == "Required"
        assert refused.text == "CSRF token validation failed"

        token = fetch_csrf(fake, first)
        assert first.cookies.get("SAP_SESSIONID_S4H_100")
        assert fetch_csrf(fake, first) == token  # one token per session

        second.get(fake.service_url + "/")  # a session of its own, no token fetched
        stolen = second.post(partner_url(fake), json=body, headers={"X-CSRF-Token": token})
        assert stolen.status_code == 403  # the token belongs to the other session's cookie
        with sap_session(fake) as third:  # no cookie at all
            without_cookie = third.post(
                partner_url(fake), json=body, headers={"X-CSRF-Token": token}
            )
        assert without_cookie.status_code == 403

        created = first.post(partner_url(fake), json=body)
        assert created.status_code == 201, created.text


def test_expired_csrf_token_is_refused_until_fetched_again(
    fake: FakeSap, http: requests.Session
) -> None:
    fake.expire_csrf()
    answer = http.patch(partner_url(fake, "1000001"), json={"FirstName": "Augusta"})
    assert (answer.status_code, answer.headers["x-csrf-token"]) == (403, "Required")
    assert fake.partner("1000001")["FirstName"] == "Ada"  # type: ignore[index]
    head = http.head(fake.service_url + "/", headers={"X-CSRF-Token": "Fetch"})
    http.headers["X-CSRF-Token"] = head.headers["x-csrf-token"]  # fetched with HEAD this time
    assert (
        http.patch(partner_url(fake, "1000001"), json={"FirstName": "Augusta"}).status_code == 204
    )


def test_create_answers_201_with_location_and_etag(fake: FakeSap, http: requests.Session) -> None:
    answer = http.post(
        partner_url(fake),
        json={
            "BusinessPartnerCategory": "2",
            "OrganizationBPName1": "ACME",
            "YY1_ConveyorKey": "ext-9",
            "CreationDate": "/Date(0)/",  # read-only: ignored
            "__metadata": {"type": "API_BUSINESS_PARTNER.A_BusinessPartnerType"},
        },
    )
    assert answer.status_code == 201, answer.text
    entity = answer.json()["d"]
    assert answer.headers["Location"] == partner_url(fake, "1000002")
    assert answer.headers["ETag"] == entity["__metadata"]["etag"] == fake.etag("1000002")
    assert entity["CreationDate"] == "/Date(1709251200000)/"  # 1 March 2024, not 1970
    assert entity["CreationTime"] == "PT09H00M00S"  # 08:00Z is 09:00 in Berlin
    assert entity["LastChangeDate"] is None
    assert entity["CreatedByUser"] == "CONVEYOR_API"

    external = http.post(
        partner_url(fake),
        json={
            "BusinessPartner": "ACME-1",
            "BusinessPartnerCategory": "2",
            "OrganizationBPName1": "A",
        },
    )
    assert external.status_code == 201
    duplicate = http.post(
        partner_url(fake),
        json={
            "BusinessPartner": "ACME-1",
            "BusinessPartnerCategory": "2",
            "OrganizationBPName1": "B",
        },
    )
    assert duplicate.status_code == 400
    assert "already exists" in odata_error(duplicate)["message"]["value"]


def test_if_match_guards_updates(fake: FakeSap, clock: ManualClock, http: requests.Session) -> None:
    url = partner_url(fake, "1000001")
    read = http.get(url)
    etag = read.headers["ETag"]
    assert etag == read.json()["d"]["__metadata"]["etag"]
    assert etag.startswith('W/"')

    clock.advance(5)
    changed = http.request("MERGE", url, json={"FirstName": "Augusta"}, headers={"If-Match": etag})
    assert changed.status_code == 204
    new_etag = changed.headers["ETag"]
    assert new_etag != etag and new_etag == fake.etag("1000001")

    stale = http.patch(url, json={"FirstName": "Again"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert odata_error(stale)["code"]
    assert fake.partner("1000001")["FirstName"] == "Augusta"  # type: ignore[index]

    # second-granular: a write in the same second keeps the ETag, so the stale one passes
    same_second = http.patch(url, json={"FirstName": "Same"}, headers={"If-Match": new_etag})
    assert same_second.headers["ETag"] == new_etag
    assert (
        http.patch(url, json={"LastName": "L"}, headers={"If-Match": new_etag}).status_code == 204
    )

    assert http.patch(url, json={"FirstName": "Star"}, headers={"If-Match": "*"}).status_code == 204
    assert http.patch(url, json={"FirstName": "Bare"}).status_code == 204  # not required by default
    fake.faults.require_if_match = True
    required = http.patch(url, json={"FirstName": "Nope"})
    assert required.status_code == 428
    assert "If-Match" in odata_error(required)["message"]["value"]


def test_put_replaces_and_tunnelled_merge_changes(fake: FakeSap, http: requests.Session) -> None:
    url = partner_url(fake, "1000001")
    replaced = http.put(url, json={"LastName": "Byron", "SearchTerm1": "poet"})
    assert replaced.status_code == 204
    stored = fake.partner("1000001")
    assert stored is not None
    assert (stored["FirstName"], stored["LastName"], stored["SearchTerm1"]) == ("", "Byron", "POET")
    assert stored["BusinessPartnerCategory"] == "1"  # kept: the category never changes
    tunnelled = http.post(url, json={"FirstName": "Ada"}, headers={"X-HTTP-Method": "MERGE"})
    assert tunnelled.status_code == 204
    assert fake.partner("1000001")["BusinessPartnerFullName"] == "Ada Byron"  # type: ignore[index]


def test_unchanged_update_does_not_move_the_stamp(
    fake: FakeSap, clock: ManualClock, http: requests.Session
) -> None:
    clock.advance(60)
    http.patch(partner_url(fake, "1000001"), json={"FirstName": "Ada"})  # same value
    assert fake.partner("1000001")["LastChangeDate"] is None  # type: ignore[index]
    fake.update("1000001", {"FirstName": "Augusta"})
    stored = fake.partner("1000001")
    assert stored is not None
    assert (str(stored["LastChangeDate"]), str(stored["LastChangeTime"])) == (
        "2024-03-01",
        "09:01:00",
    )


@pytest.mark.parametrize(
    ("body", "status", "target", "words"),
    [
        ({"FirstName": "x" * 41}, 400, "FirstName", "longer than 40"),
        ({"BusinessPartnerIsBlocked": "yes"}, 400, "BusinessPartnerIsBlocked", "boolean"),
        ({"YY1_CreditLimit": "1.234"}, 400, "YY1_CreditLimit", "decimal places"),
        ({"Nickname": "Ada"}, 400, "Nickname", "is invalid"),
        ({"BusinessPartnerCategory": "2"}, 400, "BusinessPartnerCategory", "cannot be changed"),
        ({"LastName": ""}, 400, "LastName", "last name"),
    ],
)
def test_refused_values_name_the_property(
    fake: FakeSap,
    http: requests.Session,
    body: dict[str, Any],
    status: int,
    target: str,
    words: str,
) -> None:
    answer = http.patch(partner_url(fake, "1000001"), json=body)
    assert answer.status_code == status
    error = odata_error(answer)
    assert words in error["message"]["value"]
    assert error["innererror"]["errordetails"][0]["target"] == target


def test_delete_is_refused_and_xml_errors_without_json(
    fake: FakeSap, http: requests.Session
) -> None:
    answer = http.delete(partner_url(fake, "1000001"))
    assert answer.status_code == 405
    assert "Deleting operations are disabled" in odata_error(answer)["message"]["value"]
    assert fake.partner("1000001") is not None
    missing = http.get(partner_url(fake, "999"), headers={"Accept": "application/xml"})
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/xml")
    assert b'<message xml:lang="en">Resource not found' in missing.content


def test_fake_api_refuses_as_the_service_does(fake: FakeSap) -> None:
    with pytest.raises(ValueError, match="category"):
        fake.insert({"LastName": "No category"})
    with pytest.raises(KeyError):
        fake.update("404", {"FirstName": "x"})
    assert [p["BusinessPartner"] for p in fake.partners()] == ["1000001"]
