"""Sync jobs the SAP service cannot carry out are refused before a run reads anything: deletes
propagated to business partners (``sap:deletable="false"``), our key in a property SAP cannot
look records up by; and connection settings that would send a secret over plain http."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.sap import from_settings
from conveyor.errors import ConfigError
from conveyor.load.urls import create_engine, parse_url
from conveyor.sync.engine import SyncEngine
from conveyor.sync.spec import SyncJobSpec
from conveyor.testing.fakes.sap import FakeSap
from tests.connectors.sap.harness import settings_for


def _job(**changes: Any) -> SyncJobSpec:
    data: dict[str, Any] = {
        "name": "partners",
        "local": {"table": "partners", "key": "id", "modified_column": "updated_at"},
        "remote": {
            "connector": "sap",
            "connection": "sap",
            "entity": "A_BusinessPartner",
            "external_id_field": "YY1_ConveyorKey",
        },
        "fields": {"last_name": {"remote": "LastName"}},
        "deletes": {"policy": "soft", "column": "deleted_at"},
        **changes,
    }
    return SyncJobSpec.model_validate(data)


@pytest.fixture
def fake() -> Iterator[FakeSap]:
    with FakeSap() as fake:
        fake.insert({"BusinessPartnerCategory": "1", "LastName": "Kept", "YY1_ConveyorKey": "k"})
        yield fake


def _run(fake: FakeSap, job: SyncJobSpec, url: str) -> tuple[str, str | None, int]:
    connector = from_settings(settings_for(fake))
    engine = create_engine(parse_url(url))
    try:
        report = SyncEngine(job, connector, engine).run()
    finally:
        connector.close()
        engine.dispose()
    return report.status, report.error, len(fake.calls_by_route)


def test_propagated_deletes_of_business_partners_are_refused_before_the_run(
    fake: FakeSap, sqlite_url: str
) -> None:
    status, error, _ = _run(fake, _job(deletes={"policy": "propagate"}), sqlite_url)
    assert status == "failed" and error is not None
    assert "A_BusinessPartner cannot be deleted on the remote" in error
    assert "deletes.policy to soft or ignore" in error
    fake.reset_calls()
    inbound = _job(deletes={"policy": "propagate"}, direction="inbound")
    assert _run(fake, inbound, sqlite_url)[0] == "succeeded", "inbound: nothing is deleted in SAP"


def test_our_key_in_a_property_sap_cannot_filter_is_refused_before_the_run(
    fake: FakeSap, sqlite_url: str
) -> None:
    remote = {
        "connector": "sap",
        "connection": "sap",
        "entity": "A_BusinessPartner",
        "external_id_field": "YY1_CreditLimit",  # a decimal, sap:filterable="false"
    }
    status, error, _ = _run(fake, _job(remote=remote), sqlite_url)
    assert status == "failed" and error is not None
    assert "YY1_CreditLimit on A_BusinessPartner cannot hold our key" in error
    assert "GET /sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner" not in (
        fake.calls_by_route
    ), "refused before reading"


@pytest.mark.parametrize("field", ["service_url", "token_url"])
def test_a_secret_is_never_sent_over_plain_http_to_another_host(field: str) -> None:
    settings = {
        "service_url": "https://s4.example.com/sap/opu/odata/sap/API_BUSINESS_PARTNER",
        "client_id": "conveyor",
        "client_secret": "s3cret-value",
        "token_url": "https://auth.example.com/oauth/token",
    }
    settings[field] = settings[field].replace("https://", "http://")
    with pytest.raises(ConfigError) as caught:
        from_settings(settings)
    assert f"{field} must be an https URL" in str(caught.value)
    assert "s3cret-value" not in str(caught.value)
