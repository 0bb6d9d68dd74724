"""A faithful fake Salesforce on 127.0.0.1 for connector tests.

It speaks enough of the REST API, SOQL, sObject Collections and Bulk API 2.0 for simple-salesforce
to run unmodified against it, serves describe payloads recorded from real orgs, keeps records with
Salesforce's ids, stamps and recycle bin, and injects the failures a connector must survive::

    with FakeSalesforce(custom_fields={"Account": [custom_field("Conveyor_Key__c",
                                                   external_id=True, unique=True)]}) as fake:
        fake.seed("Account", [{"Name": "Acme", "Conveyor_Key__c": "A-1"}])
        session, instance_url, token = simple_salesforce_session(fake)
        sf = Salesforce(session=session, instance_url=instance_url, session_id=token)
"""

from __future__ import annotations

from conveyor.testing.fakes.salesforce.api_errors import ApiError, RecordError
from conveyor.testing.fakes.salesforce.auth import Credentials, Login
from conveyor.testing.fakes.salesforce.client import loopback_session, simple_salesforce_session
from conveyor.testing.fakes.salesforce.clock import ManualClock
from conveyor.testing.fakes.salesforce.describe import CASSETTES_ENV, FieldSpec, custom_field
from conveyor.testing.fakes.salesforce.fake import DEFAULT_VERSION, FakeSalesforce
from conveyor.testing.fakes.salesforce.faults import Faults

__all__ = [
    "CASSETTES_ENV",
    "DEFAULT_VERSION",
    "ApiError",
    "Credentials",
    "FakeSalesforce",
    "Faults",
    "FieldSpec",
    "Login",
    "ManualClock",
    "RecordError",
    "custom_field",
    "loopback_session",
    "simple_salesforce_session",
]
