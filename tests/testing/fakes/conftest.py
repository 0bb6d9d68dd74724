"""Fixtures for the fake Salesforce: a running org with Conveyor's external-id fields, a
simple-salesforce client pointed at it, and a raw HTTP session for exact wire checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import cast

import pytest
import requests
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.bulk2 import SFBulk2Handler, SFBulk2Type

from conveyor.testing.fakes.salesforce import (
    FakeSalesforce,
    FieldSpec,
    ManualClock,
    custom_field,
    simple_salesforce_session,
)

KEY = "Conveyor_Key__c"
VERSION = "59.0"
#: Seconds simple-salesforce sleeps before polling a Bulk job (its default is 5).
WAIT = 0


def key_fields() -> dict[str, list[FieldSpec]]:
    """Conveyor's external-id field on Account and Contact, as a connector mapping expects."""
    return {
        name: [custom_field(KEY, external_id=True, unique=True)] for name in ("Account", "Contact")
    }


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    clock = ManualClock("2025-01-01T00:00:00Z", step=timedelta(seconds=1))
    with FakeSalesforce(custom_fields=key_fields(), clock=clock) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def sf(fake: FakeSalesforce) -> Iterator[Salesforce]:
    session, instance_url, token = simple_salesforce_session(fake)
    with session:
        yield Salesforce(
            session=session, instance_url=instance_url, session_id=token, version=VERSION
        )


@pytest.fixture
def http(fake: FakeSalesforce) -> Iterator[requests.Session]:
    """Plain requests against the fake with a valid token (for exact status and header checks)."""
    with requests.Session() as session:
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {fake.session_id}"
        yield session


def data_url(fake: FakeSalesforce, path: str, version: str = VERSION) -> str:
    return f"{fake.url}/services/data/v{version}/{path.lstrip('/')}"


def sobject(sf: Salesforce, name: str) -> SFType:
    """``sf.<name>`` typed (simple-salesforce's ``__getattr__`` returns a union)."""
    return cast(SFType, getattr(sf, name))


def bulk2(sf: Salesforce, name: str) -> SFBulk2Type:
    """``sf.bulk2.<name>`` typed."""
    return cast(SFBulk2Handler, sf.bulk2).__getattr__(name)
