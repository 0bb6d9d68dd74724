"""``$batch`` on the wire, with plain ``requests`` and Python's own MIME parser reading the
answers: reads and two changesets where the second fails and is rolled back as a whole, always
202, ``Content-ID`` references, requests in the wrong place, and the CSRF token ``$batch`` needs
too."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.sap import FakeSap, ManualClock, fetch_csrf, sap_session

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


def _request(
    line: str,
    body: dict[str, Any] | None = None,
    content_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    part = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        part.append(f"Content-ID: {content_id}")
    part += ["", f"{line} HTTP/1.1", "Accept: application/json"]
    part += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        part.append("Content-Type: application/json")
    part += ["", json.dumps(body) if body is not None else ""]
    return "\r\n".join(part)


def _changeset(boundary: str, *requests_: str) -> str:
    inner = "".join(f"--{boundary}\r\n{r}\r\n" for r in requests_)
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}--{boundary}--\r\n"


def _post_batch(http: requests.Session, fake: FakeSap, *parts: str) -> requests.Response:
    body = "".join(f"--batch_t\r\n{p}\r\n" for p in parts) + "--batch_t--\r\n"
    return http.post(
        fake.service_url + "/$batch",
        data=body.encode(),
        headers={"Content-Type": "multipart/mixed; boundary=batch_t"},
    )


def _parts(answer: requests.Response) -> list[Message]:
    assert answer.status_code == 202, answer.text
    raw = f"Content-Type: {answer.headers['Content-Type']}\r\n\r\n".encode() + answer.content
    message = email.message_from_bytes(raw)
    return _subparts(message)


def _subparts(message: Message) -> list[Message]:
    payload = message.get_payload()
    assert message.is_multipart() and isinstance(payload, list)
    return [part for part in payload if isinstance(part, Message)]


def _http(part: Message) -> tuple[int, dict[str, str], str]:
    assert part.get_content_type() == "application/http"
    text = part.get_payload()
    assert isinstance(text, str)
    head, _, body = text.partition("\r\n\r\n")
    status_line, *header_lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body.rstrip("\r\n")


def test_two_changesets_one_rolled_back(fake: FakeSap, http: requests.Session) -> None:
    stale = fake.etag("1000002")
    fake.clock = ManualClock("2024-05-01T10:00:05Z")
    fake.update("1000002", {"FirstName": "Grace"})  # the etag above is stale now
    answer = _post_batch(
        http,
        fake,
        _request("GET A_BusinessPartner('1000001')?$select=LastName"),
        _changeset(
            "changeset_a",
            _request(
                "POST A_BusinessPartner", {"BusinessPartnerCategory": "1", "LastName": "New"}, "1"
            ),
            _request("MERGE $1", {"FirstName": "Via reference"}, "2"),
        ),
        _changeset(
            "changeset_b",
            _request(
                "POST A_BusinessPartner", {"BusinessPartnerCategory": "1", "LastName": "Gone"}, "b1"
            ),
            _request(
                "PATCH A_BusinessPartner('1000001')",
                {"FirstName": "Dropped"},
                "b2",
                headers={"If-Match": fake.etag("1000001")},
            ),
            _request(
                "PATCH A_BusinessPartner('1000002')",
                {"FirstName": "Stale"},
                "b3",
                headers={"If-Match": stale},
            ),
        ),
    )
    read, committed, failed = _parts(answer)
    status, headers, body = _http(read)
    assert (status, json.loads(body)["d"]["LastName"]) == (200, "Lovelace")
    assert headers["Content-Type"].startswith("application/json")

    assert committed.get_content_type() == "multipart/mixed"
    created, merged = (_http(p) for p in _subparts(committed))
    assert created[0] == 201 and json.loads(created[2])["d"]["BusinessPartner"] == "1000003"
    assert merged[0] == 204

    assert failed.get_content_type() == "application/http"  # one error part for the changeset
    assert failed["Content-ID"] == "b3"
    status, _, body = _http(failed)
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
    outside, read_in_changeset = _parts(
        _post_batch(
            http,
            fake,
            _request("PATCH A_BusinessPartner('1000001')", {"FirstName": "No"}),
            _changeset("cs", _request("GET A_BusinessPartner('1000001')", content_id="r")),
        )
    )
    assert _http(outside)[0] == 400
    assert _http(read_in_changeset)[0] == 400
    assert fake.partner("1000001")["FirstName"] == ""  # type: ignore[index]


def test_batch_needs_the_csrf_token_and_a_boundary(fake: FakeSap) -> None:
    with sap_session(fake) as http:
        refused = _post_batch(http, fake, _request("GET A_BusinessPartner"))
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
    (failed,) = _parts(
        _post_batch(
            http,
            fake,
            _changeset(
                "cs",
                _request(
                    "POST A_BusinessPartner", {"BusinessPartnerCategory": "1", "LastName": "X"}
                ),
                _request("PATCH A_BusinessPartner('1000001')", {"FirstName": "Y"}),
            ),
        )
    )
    assert _http(failed)[0] == 503
    assert len(fake.partners()) == 2
