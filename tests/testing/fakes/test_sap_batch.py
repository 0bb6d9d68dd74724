"""``$batch`` on the wire, with plain ``requests`` and Python's own MIME parser reading the
answers: reads and two changesets where the second fails and is rolled back as a whole, always
202, ``Content-ID`` references, requests in the wrong place, and the CSRF token ``$batch`` needs
too."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from conveyor.testing.fakes.sap import FakeSap, ManualClock, fetch_csrf, sap_session
from tests.testing.fakes.sap_wire import (
    answer_parts,
    changeset,
    http_answer,
    post_batch,
    request_part,
    subparts,
)

BATCH = "POST /sap/opu/odata/sap/API_BUSINESS_PARTNER/$batch"
ONE = "/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner({key})"


@pytest.fixture
def fake() -> Iterator[FakeSap]:
    with FakeSap(clock=ManualClock("2024-05-01T10:00:00Z")) as running:
        for name in ("Lovelace", "Hopper"):
            running.insert({"BusinessPartnerCategory": "1", "LastName": name})
        running.reset_calls()
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeSap) -> Iterator[requests.Session]:
    with sap_session(fake) as session:
        fetch_csrf(fake, session)
        fake.reset_calls()
        yield session


def test_two_changesets_one_rolled_back(fake: FakeSap, http: requests.Session) -> None:
    stale = fake.etag("1000002")
    fake.clock = ManualClock("2024-05-01T10:00:05Z")
    fake.update("1000002", {"FirstName": "Grace"})  # the etag above is stale now
    answer = post_batch(
        http,
        fake,
        request_part("GET A_BusinessPartner('1000001')?$select=LastName"),
        changeset(
            "changeset_a",
            request_part(
                "POST A_BusinessPartner", {"BusinessPartnerCategory": "1", "LastName": "New"}, "1"
            ),
            request_part("MERGE $1", {"FirstName": "Via reference"}, "2"),
        ),
        changeset(
            "changeset_b",
            request_part(
                "POST A_BusinessPartner", {"BusinessPartnerCategory": "1", "LastName": "Gone"}, "b1"
            ),
            request_part(
                "PATCH A_BusinessPartner('1000001')",
                {"FirstName": "Dropped"},
                "b2",
                headers={"If-Match": fake.etag("1000001")},
            ),
            request_part(
                "PATCH A_BusinessPartner('1000002')",
                {"FirstName": "Stale"},
                "b3",
                headers={"If-Match": stale},
            ),
        ),
    )
    read, committed, failed = answer_parts(answer)
    status, headers, body = http_answer(read)
    assert (status, json.loads(body)["d"]["LastName"]) == (200, "Lovelace")
    assert headers["Content-Type"].startswith("application/json")

    assert committed.get_content_type() == "multipart/mixed"
    created, merged = (http_answer(p) for p in subparts(committed))
    assert created[0] == 201 and json.loads(created[2])["d"]["BusinessPartner"] == "1000003"
    assert merged[0] == 204

    assert failed.get_content_type() == "application/http"  # one error part for the changeset
    assert failed["Content-ID"] == "b3"
    status, _, body = http_answer(failed)
    error = json.loads(body)["error"]
    assert status == 412
    assert error["innererror"]["errordetails"][0]["ContentID"] == "b3"

    names = {p["BusinessPartner"]: (p["FirstName"], p["LastName"]) for p in fake.partners()}
    assert names == {
        "1000001": ("", "Lovelace"),  # b2 rolled back with the changeset
        "1000002": ("Grace", "Hopper"),
        "1000003": ("Via reference", "New"),  # "Gone" rolled back
    }
    assert fake.calls == 1
    assert fake.calls_by_route[BATCH] == 1
    assert fake.calls_by_route[f"BATCH MERGE {ONE}"] == 1
    assert fake.calls_by_route[f"BATCH PATCH {ONE}"] == 2


def test_requests_in_the_wrong_place_are_refused_in_their_part(
    fake: FakeSap, http: requests.Session
) -> None:
    outside, read_in_changeset = answer_parts(
        post_batch(
            http,
            fake,
            request_part("PATCH A_BusinessPartner('1000001')", {"FirstName": "No"}),
            changeset("cs", request_part("GET A_BusinessPartner('1000001')", content_id="r")),
        )
    )
    assert http_answer(outside)[0] == 400
    assert http_answer(read_in_changeset)[0] == 400
    assert fake.partner("1000001")["FirstName"] == ""  # type: ignore[index]


def test_batch_needs_the_csrf_token_and_a_boundary(fake: FakeSap) -> None:
    with sap_session(fake) as http:
        refused = post_batch(http, fake, request_part("GET A_BusinessPartner"))
        assert (refused.status_code, refused.headers["x-csrf-token"]) == (403, "Required")
        fetch_csrf(fake, http)
        malformed = http.post(
            fake.service_url + "/$batch", data=b"x", headers={"Content-Type": "text/plain"}
        )
        assert malformed.status_code == 400
        unclosed = http.post(
            fake.service_url + "/$batch",
            data=b"--b\r\nContent-Type: application/http\r\n\r\nGET A_BusinessPartner HTTP/1.1\r\n",
            headers={"Content-Type": "multipart/mixed; boundary=b"},
        )
        assert unclosed.status_code == 400


def test_a_fault_inside_a_changeset_rolls_it_back(fake: FakeSap, http: requests.Session) -> None:
    fake.faults.fail_next(f"BATCH PATCH {ONE}", status=503)
    (failed,) = answer_parts(
        post_batch(
            http,
            fake,
            changeset(
                "cs",
                request_part(
                    "POST A_BusinessPartner", {"BusinessPartnerCategory": "1", "LastName": "X"}
                ),
                request_part("PATCH A_BusinessPartner('1000001')", {"FirstName": "Y"}),
            ),
        )
    )
    assert http_answer(failed)[0] == 503
    assert len(fake.partners()) == 2
