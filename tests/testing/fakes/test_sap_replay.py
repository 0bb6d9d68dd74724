"""The fake's wire shapes against outside recordings (../shared/peer-suites/README.md):

- ``$metadata``: pyodata parses it, and it uses the EDMX/EDM namespaces and only SAP annotation
  names that SAP's own documents use (pyodata's ``tests/metadata.xml``, plus ``sap:quickinfo``
  from SAP's published API_BUSINESS_PARTNER EDMX).
- ``$batch``: the fake's answer to a changeset-then-read batch has the part structure of
  Olingo's recorded ``batchResponse.batch`` under both Python's MIME parser and pyodata's own
  ``decode_multipart``; Olingo's recorded ``batchWithPost.batch`` request is read part by part
  (its ``Employees`` resources do not exist here, so every part answers 404, in place).
- JSON: an entity-set page has the envelope of Olingo's recorded feed with ``__count`` and
  ``__next`` (``JsonBuildingWithInlineRoomsAndNextLinkAndCount.json``).
"""

from __future__ import annotations

import email
import json
import re
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import requests
from pyodata.v2.model import MetadataBuilder  # type: ignore[import-untyped]
from pyodata.v2.service import decode_multipart  # type: ignore[import-untyped]

from conveyor.testing.fakes.sap import FakeSap, ManualClock, fetch_csrf, partner_url, sap_session
from tests.helpers import PEER
from tests.testing.fakes.shapes import shape_differences

OLINGO = PEER / "olingo-odata2" / "test-resources"
PYODATA_METADATA = PEER / "pyodata" / "tests" / "metadata.xml"
#: Annotations of SAP's published API_BUSINESS_PARTNER EDMX that pyodata's sample lacks.
SAP_ONLY = {"sap:quickinfo"}


@pytest.fixture
def fake() -> Iterator[FakeSap]:
    with FakeSap(clock=ManualClock("2024-01-01T09:00:00Z"), page_size=2) as running:
        for name in ("Lovelace", "Hopper", "Liskov"):
            running.insert({"BusinessPartnerCategory": "1", "LastName": name})
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeSap) -> Iterator[requests.Session]:
    with sap_session(fake) as session:
        fetch_csrf(fake, session)
        yield session


def _namespaces(text: str) -> dict[str, str]:
    return dict(re.findall(r'xmlns:?(\w*)="([^"]+)"', text))


def test_service_document_has_olingo_shape(fake: FakeSap, http: requests.Session) -> None:
    recorded = json.loads((OLINGO / "svcDocJson.json").read_text(encoding="utf-8"))
    ours = http.get(fake.service_url + "/").json()
    assert ours == {"d": {"EntitySets": ["A_BusinessPartner"]}}
    assert shape_differences(recorded, ours) == []


def test_metadata_parses_and_uses_sap_annotations(fake: FakeSap, http: requests.Session) -> None:
    answer = http.get(fake.service_url + "/$metadata")
    assert answer.headers["Content-Type"].startswith("application/xml")
    schema = MetadataBuilder(answer.content).build()
    assert [s.name for s in schema.entity_sets] == ["A_BusinessPartner"]

    recorded = PYODATA_METADATA.read_text(encoding="utf-8")
    ours = answer.text
    for prefix in ("edmx", "m", "sap", ""):
        assert _namespaces(ours)[prefix] == _namespaces(recorded)[prefix], prefix
    known = set(re.findall(r"\bsap:[a-z-]+", recorded)) | SAP_ONLY
    used = set(re.findall(r"\bsap:[a-z-]+(?==)", ours))
    assert used <= known, used - known
    assert {"sap:creatable", "sap:updatable", "sap:deletable", "sap:filterable"} <= used


def _structure(message: Message) -> Any:
    """Content types and status codes of a multipart message, nested as it is."""
    payload = message.get_payload()
    if isinstance(payload, list):
        return [_structure(part) for part in payload if isinstance(part, Message)]
    assert isinstance(payload, str)
    status = re.match(r"HTTP/1\.1 (\d{3}) ", payload)
    assert status is not None, payload[:80]
    assert message["Content-Transfer-Encoding"].lower() == "binary"
    return message.get_content_type()


def _mime(content_type: str, body: bytes) -> Message:
    return email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)


def _lengths(decoded: Any) -> Any:
    """pyodata's decoded batch with every HTTP payload replaced by its status code."""
    if isinstance(decoded, list):
        return [_lengths(item) for item in decoded]
    return int(decoded.split()[1])


def test_batch_answer_has_olingo_part_structure(fake: FakeSap, http: requests.Session) -> None:
    recorded = (OLINGO / "batchResponse.batch").read_bytes()
    recorded_type = "multipart/mixed; boundary=batch_123"
    changeset = (
        "--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        "Content-Id: 1\r\n\r\nMERGE A_BusinessPartner('1000001') HTTP/1.1\r\n"
        'Content-Type: application/json\r\n\r\n{"FirstName": "Ada"}\r\n'
        "--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        "Content-Id: 2\r\n\r\nPOST A_BusinessPartner HTTP/1.1\r\nAccept: application/json\r\n"
        'Content-Type: application/json\r\n\r\n{"BusinessPartnerCategory": "1", "LastName": "Fall"}'
        "\r\n--cs--\r\n"
    )
    body = (
        "--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n" + changeset + "\r\n"
        "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        "GET A_BusinessPartner('1000004')/LastName HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n"
        "--b--\r\n"
    )
    answer = http.post(
        fake.service_url + "/$batch",
        data=body.encode(),
        headers={"Content-Type": "multipart/mixed; boundary=b"},
    )
    assert answer.status_code == 202
    ours_type = answer.headers["Content-Type"]
    expected = [["application/http", "application/http"], "application/http"]
    assert _structure(_mime(recorded_type, recorded)) == expected
    assert _structure(_mime(ours_type, answer.content)) == expected

    recorded_codes = _lengths(decode_multipart(recorded.decode(), recorded_type))
    our_codes = _lengths(decode_multipart(answer.content.decode(), ours_type))
    assert recorded_codes == [[[204], [201]], [200]]
    assert our_codes == recorded_codes
    assert fake.partner("1000004") is not None


def test_olingo_recorded_request_is_read_part_by_part(
    fake: FakeSap, http: requests.Session
) -> None:
    raw = (OLINGO / "batchWithPost.batch").read_bytes()
    answer = http.post(
        fake.service_url + "/$batch",
        data=raw,
        headers={"Content-Type": "multipart/mixed; boundary=batch_8194-cf13-1f56"},
    )
    parts = _mime(answer.headers["Content-Type"], answer.content).get_payload()
    assert isinstance(parts, list)
    messages = [p for p in parts if isinstance(p, Message)]
    texts = [m.get_payload() for m in messages]
    codes = [int(t.split()[1]) for t in texts if isinstance(t, str)]
    assert codes == [404, 404, 404]  # the GET, the failed changeset as one part, the GET
    assert messages[1]["Content-ID"] == "changeRequest1"


def test_json_page_has_olingo_feed_envelope(fake: FakeSap, http: requests.Session) -> None:
    recording = json.loads(
        (OLINGO / "JsonBuildingWithInlineRoomsAndNextLinkAndCount.json").read_text(encoding="utf-8")
    )
    recorded_feed = recording["d"]["nb_Rooms"]
    page = http.get(partner_url(fake), params={"$inlinecount": "allpages"}).json()["d"]
    assert list(page) == ["__count", "results", "__next"]
    assert list(page) == list(recorded_feed)

    def envelope(feed: dict[str, Any]) -> dict[str, Any]:
        return {**feed, "results": [{"__metadata": e["__metadata"]} for e in feed["results"]]}

    assert shape_differences(envelope(recorded_feed), envelope(page)) == []
