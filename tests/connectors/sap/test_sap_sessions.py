"""The SAP connector's session against the fake SAP Gateway: CSRF tokens renewed once, OAuth
tokens renewed once, If-Match always sent, and SAP's error details in a refused record's
reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sap import SapConnector, from_settings
from conveyor.connector import WriteRequest
from conveyor.errors import ConfigError
from conveyor.testing.fakes.sap import FakeSap
from tests.connectors.sap.harness import settings_for

SET = "A_BusinessPartner"
KEY = "YY1_ConveyorKey"
BATCH = "POST /sap/opu/odata/sap/API_BUSINESS_PARTNER/$batch"
CSRF_FETCH = "GET /sap/opu/odata/sap/API_BUSINESS_PARTNER/"


@pytest.fixture
def fake() -> Iterator[FakeSap]:
    with FakeSap() as fake:
        yield fake


def _open(fake: FakeSap, oauth: bool = False) -> SapConnector:
    if not oauth:
        return from_settings(settings_for(fake))
    return from_settings(
        {
            "service_url": fake.service_url,
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "token_url": fake.token_url,
        }
    )


def _create(sap: SapConnector, ref: str) -> None:
    values = {"BusinessPartnerCategory": "1", "LastName": f"Name {ref}"}
    [result] = sap.write(SET, [WriteRequest(ref, values)], KEY)
    assert result.ok, result.error


def test_an_expired_csrf_token_is_fetched_again_once(fake: FakeSap) -> None:
    sap = _open(fake)
    try:
        _create(sap, "a")
        fake.expire_csrf()
        _create(sap, "b")
        assert fake.calls_by_route[BATCH] == 3, "refused once, then sent with the new token"
        fake.faults.before_next(BATCH, fake.expire_csrf)
        fake.faults.before_next(BATCH, fake.expire_csrf)
        with pytest.raises(ConfigError, match="refused the CSRF token again"):
            _create(sap, "c")
    finally:
        sap.close()
    assert {p[KEY] for p in fake.partners()} == {"a", "b"}


def test_an_expired_oauth_token_is_replaced_once_by_a_new_sign_in(fake: FakeSap) -> None:
    sap = _open(fake, oauth=True)
    try:
        _create(sap, "a")
        fake.expire_tokens()
        _create(sap, "b")
        fake.expire_tokens()
        records = [r for b in sap.read_changes(SET, None, [KEY]) for r in b.records]
        assert len(records) == 2
    finally:
        sap.close()
    assert fake.calls_by_route["POST /oauth/token"] == 3, fake.calls_by_route
    assert {p[KEY] for p in fake.partners()} == {"a", "b"}


def test_updates_always_carry_if_match(fake: FakeSap) -> None:
    """Some services answer 428 to an update without If-Match: the connector sends the ETag
    it knows, else ``*``."""
    key = fake.insert({"BusinessPartnerCategory": "1", "LastName": "Before", KEY: "k"})
    fake.faults.require_if_match = True
    sap = _open(fake)
    try:
        [result] = sap.write(SET, [WriteRequest("k", {"LastName": "After"}, key)], KEY)
    finally:
        sap.close()
    assert result.ok, result.error
    assert fake.partner(key)["LastName"] == "After"  # type: ignore[index]


def test_a_refused_record_names_sap_s_message_and_each_detail(fake: FakeSap) -> None:
    fake.faults.reject(
        lambda partner: partner["LastName"] == "Refused",
        code="R11/102",
        message="Business partner cannot be saved",
        details=[
            {"code": "R11/401", "message": "Enter a valid search term", "target": "SearchTerm1"}
        ],
    )
    sap = _open(fake)
    try:
        results = sap.write(
            SET,
            [
                WriteRequest("ok", {"BusinessPartnerCategory": "1", "LastName": "Fine"}),
                WriteRequest("no", {"BusinessPartnerCategory": "1", "LastName": "Refused"}),
            ],
            KEY,
        )
    finally:
        sap.close()
    assert results[0].ok and results[1].error is not None
    reason = str(results[1].error)
    assert "HTTP 400" in reason and "R11/102: Business partner cannot be saved" in reason
    assert "Enter a valid search term (SearchTerm1)" in reason
