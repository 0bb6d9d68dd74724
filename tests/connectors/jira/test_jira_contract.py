"""The contract suite on the Jira connector, against the fake Jira on 127.0.0.1: Cloud (REST
v3, cursor paging) and Data Center (REST v2, startAt paging)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.testing.contract import ConnectorContract, ContractHarness
from tests.connectors.jira.harness import JiraHarness, fake_site


class TestJiraCloudContract(ConnectorContract):
    connector_name = "jira"

    @pytest.fixture
    def harness(self) -> Iterator[ContractHarness]:
        with fake_site("Cloud") as fake:
            harness = JiraHarness.open(fake)
            yield harness
            harness.close()


class TestJiraDataCenterContract(ConnectorContract):
    connector_name = "jira"

    @pytest.fixture
    def harness(self) -> Iterator[ContractHarness]:
        with fake_site("Server") as fake:
            harness = JiraHarness.open(fake)
            yield harness
            harness.close()
