"""A faithful fake Jira (Cloud or Data Center) on 127.0.0.1 for connector tests.

It speaks enough of REST v2 and v3 (issues, transitions, comments and their entity properties,
JQL search, fields, projects, create metadata) for the ``jira`` package to run unmodified
against it, keeps issues with Jira's ids, keys, stamps and workflow, and injects the failures a
connector must survive::

    with FakeJira(deployment="Cloud", time_zone="Europe/Berlin") as fake:
        key = fake.create_issue("TIC", {"summary": "Printer jam", "customfield_10050": "ext-1"})
        jira = JIRA(server=fake.url, basic_auth=(fake.email, fake.api_token), max_retries=0)
        jira.enhanced_search_issues("project = TIC", fields=["summary"], json_result=True)

See :mod:`~conveyor.testing.fakes.jira.query` for the JQL rules it holds and
:mod:`~conveyor.testing.fakes.jira.faults` for the failures it injects.
"""

from __future__ import annotations

from conveyor.testing.fakes.jira.auth import Credentials
from conveyor.testing.fakes.jira.clock import ManualClock
from conveyor.testing.fakes.jira.describe import CATEGORY, CONVEYOR_KEY
from conveyor.testing.fakes.jira.fake import Deployment, FakeJira
from conveyor.testing.fakes.jira.faults import Faults

__all__ = [
    "CATEGORY",
    "CONVEYOR_KEY",
    "Credentials",
    "Deployment",
    "FakeJira",
    "Faults",
    "ManualClock",
]
