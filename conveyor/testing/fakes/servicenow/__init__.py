"""A faithful fake ServiceNow instance on 127.0.0.1 for connector tests.

It speaks the Table API (encoded queries, display values, paging headers), the Import Set API
(single rows and asynchronous ``insertMultiple`` into ``u_incident_import``), the Batch API,
basic auth and OAuth (``/oauth_token.do``), keeps ``incident`` (extends ``task``), users, groups,
the data dictionary and ``sys_audit_delete`` as ServiceNow does, and injects the failures a
connector must survive::

    with FakeServiceNow(time_zone="America/Los_Angeles") as fake:
        sys_id = fake.insert("incident", {"short_description": "Printer jam",
                                          "u_conveyor_key": "ext-1"})
        client = pysnc_client(fake)             # pysnc's ServiceNowClient, https via loopback
        gr = client.GlideRecord("incident")
        gr.add_encoded_query("u_conveyor_key=ext-1")
        gr.query()

See :mod:`~conveyor.testing.fakes.servicenow.query` for the query rules,
:mod:`~conveyor.testing.fakes.servicenow.render` for the answer shapes,
:mod:`~conveyor.testing.fakes.servicenow.transform` for the import mapping and
:mod:`~conveyor.testing.fakes.servicenow.faults` for the failures it injects.
"""

from __future__ import annotations

from conveyor.testing.fakes.servicenow.auth import Credentials
from conveyor.testing.fakes.servicenow.client import (
    loopback_session,
    oauth_session,
    pysnc_client,
    servicenow_session,
    table_url,
)
from conveyor.testing.fakes.servicenow.fake import FakeServiceNow
from conveyor.testing.fakes.servicenow.faults import RATE_RULE, Faults
from conveyor.testing.fakes.servicenow.glidetime import ManualClock
from conveyor.testing.fakes.servicenow.people import GROUPS, USERS
from conveyor.testing.fakes.servicenow.tables import STAGING_TABLE

__all__ = [
    "GROUPS",
    "RATE_RULE",
    "STAGING_TABLE",
    "USERS",
    "Credentials",
    "FakeServiceNow",
    "Faults",
    "ManualClock",
    "loopback_session",
    "oauth_session",
    "pysnc_client",
    "servicenow_session",
    "table_url",
]
