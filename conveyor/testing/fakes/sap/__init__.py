"""A faithful fake SAP S/4HANA ``API_BUSINESS_PARTNER`` (OData v2 on SAP Gateway) on 127.0.0.1
for connector tests.

It serves ``$metadata`` with SAP's annotations, ``A_BusinessPartner`` with ``$filter``,
``$select``, ``$orderby``, ``$top``/``$skip``, server paging through ``__next``/``$skiptoken`` and
``$inlinecount``, single reads with ETags, creates and MERGE/PATCH/PUT updates guarded by
``If-Match``, ``$batch`` with changesets that roll back as a whole, CSRF tokens bound to the
session cookie, basic auth and OAuth client credentials, SAP's local-time change stamps and
error bodies, and injects the failures a connector must survive::

    with FakeSap(clock=ManualClock("2024-01-01T09:00:00Z")) as fake:
        key = fake.insert({"BusinessPartnerCategory": "1", "LastName": "Lovelace",
                           "YY1_ConveyorKey": "ext-1"})
        service = pyodata_service(fake)          # pyodata's Service, CSRF token fetched
        partners = service.entity_sets.A_BusinessPartner.get_entities().execute()

See :mod:`~conveyor.testing.fakes.sap.values` for value forms and time stamps,
:mod:`~conveyor.testing.fakes.sap.query` for paging, :mod:`~conveyor.testing.fakes.sap.batch`
for ``$batch``, :mod:`~conveyor.testing.fakes.sap.auth` for sessions and CSRF and
:mod:`~conveyor.testing.fakes.sap.faults` for the failures it injects.
"""

from __future__ import annotations

from conveyor.testing.fakes.salesforce.clock import ManualClock
from conveyor.testing.fakes.sap.auth import Credentials
from conveyor.testing.fakes.sap.client import (
    fetch_csrf,
    oauth_session,
    partner_url,
    pyodata_service,
    sap_session,
)
from conveyor.testing.fakes.sap.errors import ODataError
from conveyor.testing.fakes.sap.fake import FakeSap
from conveyor.testing.fakes.sap.faults import Faults
from conveyor.testing.fakes.sap.routing import SERVICE_PATH, TOKEN_PATH
from conveyor.testing.fakes.sap.schema import PARTNER, PARTNER_SET

__all__ = [
    "PARTNER",
    "PARTNER_SET",
    "SERVICE_PATH",
    "TOKEN_PATH",
    "Credentials",
    "FakeSap",
    "Faults",
    "ManualClock",
    "ODataError",
    "fetch_csrf",
    "oauth_session",
    "partner_url",
    "pyodata_service",
    "sap_session",
]
