"""Deletes in the fake SAP system: by default the set is ``sap:deletable="false"`` and
``DELETE`` answers 405; ``FakeSap(deletable=True)`` advertises ``sap:deletable="true"`` (read
through pyodata's model) and removes entities on ``DELETE`` (204, ``If-Match`` as for MERGE, 404
for an unknown key, CSRF token, tunnelling, faults, ``$batch`` changesets), and
:meth:`FakeSap.delete` deletes as a remote user would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import Message
from typing import Any
from xml.etree import ElementTree

import pyodata  # type: ignore[import-untyped]
import pytest
import requests

from conveyor.testing.fakes.sap import (
    FakeSap,
    ManualClock,
    fetch_csrf,
    partner_url,
    sap_session,
)
from tests.testing.fakes.sap_wire import (
    answer_parts,
    changeset,
    http_answer,
    odata_error,
    post_batch,
    request_part,
    subparts,
)

ONE = "/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner({key})"
DELETE = f"DELETE {ONE}"


def _seeded(fake: FakeSap) -> FakeSap:
    for name in ("Lovelace", "Hopper", "Turing"):
        fake.insert({"BusinessPartnerCategory": "1", "LastName": name})
    fake.reset_calls()
    return fake


@pytest.fixture
def fake() -> Iterator[FakeSap]:
    """A fake whose set may be deleted, with partners 1000001 to 1000003."""
    with FakeSap(clock=ManualClock("2024-06-01T10:00:00Z"), deletable=True) as running:
        yield _seeded(running)
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def default_fake() -> Iterator[FakeSap]:
    """A fake as SAP's API_BUSINESS_PARTNER is: ``sap:deletable="false"``."""
    with FakeSap(clock=ManualClock("2024-06-01T10:00:00Z")) as running:
        yield _seeded(running)
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeSap) -> Iterator[requests.Session]:
    with sap_session(fake) as session:
        fetch_csrf(fake, session)
        fake.reset_calls()
        yield session


def _keys(fake: FakeSap) -> list[str]:
    return [p["BusinessPartner"] for p in fake.partners()]


def _entity_set(fake: FakeSap) -> Any:
    """pyodata's model of ``A_BusinessPartner`` as the fake's ``$metadata`` describes it."""
    with sap_session(fake, json=False) as session:
        client = pyodata.Client(fake.service_url, session)
    return client.schema.entity_set("A_BusinessPartner")


def _collection_annotation(fake: FakeSap, session: requests.Session) -> str | None:
    answer = session.get(fake.service_url + "/", headers={"Accept": "application/xml"})
    assert answer.status_code == 200, answer.text
    root = ElementTree.fromstring(answer.content)
    collection = root.find(".//{http://www.w3.org/2007/app}collection")
    assert collection is not None
    return collection.get("{http://www.sap.com/Protocols/SAPData}deletable")


# -- the default set ----------------------------------------------------------------------------


def test_default_set_is_not_deletable_and_refuses_delete(default_fake: FakeSap) -> None:
    assert _entity_set(default_fake).deletable is False
    with sap_session(default_fake) as http:
        assert _collection_annotation(default_fake, http) == "false"
        fetch_csrf(default_fake, http)
        answer = http.delete(
            partner_url(default_fake, "1000001"), headers={"If-Match": default_fake.etag("1000001")}
        )
        assert answer.status_code == 405
        assert "Deleting operations are disabled" in odata_error(answer)["message"]["value"]
    assert _keys(default_fake) == ["1000001", "1000002", "1000003"]
    assert default_fake.calls_by_route[DELETE] == 1


# -- advertised ---------------------------------------------------------------------------------


def test_deletable_set_is_advertised_in_metadata_and_service_document(
    fake: FakeSap, http: requests.Session
) -> None:
    entity_set = _entity_set(fake)
    assert (entity_set.creatable, entity_set.updatable, entity_set.deletable) == (True, True, True)
    metadata = http.get(fake.service_url + "/$metadata").text
    assert 'sap:deletable="true"' in metadata and 'sap:deletable="false"' not in metadata
    assert _collection_annotation(fake, http) == "true"
    assert http.get(fake.service_url + "/").json() == {"d": {"EntitySets": ["A_BusinessPartner"]}}


# -- DELETE over HTTP ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "if_match",
    ["current", "strong form", "*", None],
    ids=["etag", "weak-compare", "star", "missing"],
)
def test_delete_answers_204_and_the_partner_is_gone(
    fake: FakeSap, http: requests.Session, if_match: str | None
) -> None:
    etag = fake.etag("1000002")
    header = {"current": etag, "strong form": etag.removeprefix("W/"), "*": "*"}.get(if_match or "")
    answer = http.delete(
        partner_url(fake, "1000002"), headers={"If-Match": header} if header else {}
    )
    assert answer.status_code == 204, answer.text
    assert answer.content == b""
    assert fake.calls_by_route[DELETE] == 1

    assert fake.partner("1000002") is None
    assert _keys(fake) == ["1000001", "1000003"]
    listed = http.get(partner_url(fake)).json()["d"]["results"]
    assert [p["BusinessPartner"] for p in listed] == ["1000001", "1000003"]
    scanned = http.get(partner_url(fake), params={"$select": "BusinessPartner"}).json()
    assert scanned["d"]["results"] == [
        {"__metadata": p["__metadata"], "BusinessPartner": p["BusinessPartner"]} for p in listed
    ]
    read = http.get(partner_url(fake, "1000002"))
    assert read.status_code == 404
    assert "Resource not found" in odata_error(read)["message"]["value"]


def test_stale_if_match_is_412_and_nothing_is_deleted(
    fake: FakeSap, http: requests.Session
) -> None:
    stale = fake.etag("1000001")
    fake.clock = ManualClock("2024-06-01T10:00:05Z")
    fake.update("1000001", {"FirstName": "Ada"})  # the ETag above is stale now
    answer = http.delete(partner_url(fake, "1000001"), headers={"If-Match": stale})
    assert answer.status_code == 412
    assert "Precondition failed" in odata_error(answer)["message"]["value"]
    assert fake.partner("1000001") is not None


def test_if_match_is_required_while_the_fault_is_on(fake: FakeSap, http: requests.Session) -> None:
    fake.faults.require_if_match = True
    refused = http.delete(partner_url(fake, "1000001"))
    assert refused.status_code == 428
    odata_error(refused)
    assert fake.partner("1000001") is not None
    answer = http.delete(partner_url(fake, "1000001"), headers={"If-Match": fake.etag("1000001")})
    assert answer.status_code == 204
    assert fake.partner("1000001") is None


def test_unknown_key_is_404_in_sap_error_shape(fake: FakeSap, http: requests.Session) -> None:
    answer = http.delete(partner_url(fake, "999"), headers={"If-Match": "*"})
    assert answer.status_code == 404
    assert "Resource not found" in odata_error(answer)["message"]["value"]
    as_xml = http.delete(partner_url(fake, "999"), headers={"Accept": "application/xml"})
    assert as_xml.status_code == 404
    assert as_xml.headers["Content-Type"].startswith("application/xml")
    assert b'<message xml:lang="en">Resource not found' in as_xml.content
    assert fake.calls_by_route[DELETE] == 2
    assert len(fake.partners()) == 3


def test_delete_needs_the_csrf_token(fake: FakeSap) -> None:
    with sap_session(fake) as http:
        refused = http.delete(partner_url(fake, "1000001"))
        assert (refused.status_code, refused.headers["x-csrf-token"]) == (403, "Required")
        assert fake.partner("1000001") is not None
        fetch_csrf(fake, http)
        assert http.delete(partner_url(fake, "1000001")).status_code == 204


def test_delete_tunnelled_through_post(fake: FakeSap, http: requests.Session) -> None:
    answer = http.post(
        partner_url(fake, "1000003"),
        headers={"X-HTTP-Method": "DELETE", "If-Match": fake.etag("1000003")},
    )
    assert answer.status_code == 204, answer.text
    assert fake.partner("1000003") is None
    assert fake.calls_by_route == {DELETE: 1}


def test_faults_apply_to_delete(fake: FakeSap, http: requests.Session) -> None:
    fake.faults.fail_next("DELETE */A_BusinessPartner(*)", status=503, retry_after=5)
    down = http.delete(partner_url(fake, "1000001"))
    assert (down.status_code, down.headers["Retry-After"]) == (503, "5")
    assert fake.partner("1000001") is not None

    fake.faults.reject(
        lambda p: p["LastName"] == "Lovelace",
        "R11/777",
        "Partner has open items",
        operations={"delete"},
    )
    refused = http.delete(partner_url(fake, "1000001"))
    assert refused.status_code == 400
    error = odata_error(refused)
    assert (error["code"], error["message"]["value"]) == ("R11/777", "Partner has open items")
    assert fake.partner("1000001") is not None
    assert http.delete(partner_url(fake, "1000002")).status_code == 204  # predicate misses
    assert fake.calls_by_route[DELETE] == 3


def test_pyodata_deletes(fake: FakeSap) -> None:
    with sap_session(fake, json=False) as session:
        fetch_csrf(fake, session)
        service = pyodata.Client(fake.service_url, session)
        service.entity_sets.A_BusinessPartner.delete_entity("1000001").execute()
    assert _keys(fake) == ["1000002", "1000003"]


# -- $batch -------------------------------------------------------------------------------------


def _post(http: requests.Session, fake: FakeSap, *parts: str) -> list[Message]:
    return answer_parts(post_batch(http, fake, *parts))


def _status(part: Message) -> tuple[int, str]:
    status, _, body = http_answer(part)
    return status, body


def test_delete_in_a_batchchangeset(fake: FakeSap, http: requests.Session) -> None:
    committed, rolled_back, outside = _post(
        http,
        fake,
        changeset(
            "cs_a",
            request_part(
                "DELETE A_BusinessPartner('1000001')", headers={"If-Match": fake.etag("1000001")}
            ),
            request_part("MERGE A_BusinessPartner('1000002')", body={"FirstName": "Grace"}),
        ),
        changeset(
            "cs_b",
            request_part("DELETE A_BusinessPartner('1000003')"),
            request_part("DELETE A_BusinessPartner('999')"),
        ),
        request_part("DELETE A_BusinessPartner('1000002')"),
    )
    deleted, merged = (_status(p) for p in subparts(committed))
    assert deleted == (204, "")
    assert merged[0] == 204

    status, body = _status(rolled_back)  # the changeset failed as a whole on the unknown key
    assert status == 404
    assert "Resource not found" in json.loads(body)["error"]["message"]["value"]
    assert _status(outside)[0] == 400  # modifying requests belong in a changeset

    assert _keys(fake) == ["1000002", "1000003"]  # 1000003's delete was rolled back
    assert fake.partner("1000002")["FirstName"] == "Grace"  # type: ignore[index]
    assert fake.calls_by_route[f"BATCH {DELETE}"] == 3
    assert DELETE not in fake.calls_by_route


def test_fault_on_a_delete_inside_achangeset(fake: FakeSap, http: requests.Session) -> None:
    fake.faults.fail_next(f"BATCH {DELETE}", status=503)
    (failed,) = _post(
        http, fake, changeset("cs", request_part("DELETE A_BusinessPartner('1000001')"))
    )
    assert _status(failed)[0] == 503
    assert fake.partner("1000001") is not None


# -- the helper ---------------------------------------------------------------------------------


def test_delete_helper_works_whatever_the_api_serves(default_fake: FakeSap) -> None:
    default_fake.delete("1000003")
    assert default_fake.partner("1000003") is None
    assert _keys(default_fake) == ["1000001", "1000002"]
    with pytest.raises(KeyError):
        default_fake.delete("1000003")
    with pytest.raises(KeyError):
        default_fake.delete("999")
    default_fake.faults.reject(lambda p: True)  # planned refusals are for the API, not the helper
    default_fake.delete("1000001")
    assert _keys(default_fake) == ["1000002"]
    assert default_fake.calls == 0
    # the number range moves on: a deleted number is not given out again
    assert default_fake.insert({"BusinessPartnerCategory": "1", "LastName": "New"}) == "1000004"
