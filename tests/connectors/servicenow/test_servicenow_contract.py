"""The contract suite on the ServiceNow connector, against the fake instance on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.testing.contract import ConnectorContract, ContractHarness
from tests.connectors.servicenow.harness import ServiceNowHarness, fake_instance


class TestServiceNowContract(ConnectorContract):
    connector_name = "servicenow"

    @pytest.fixture
    def harness(self) -> Iterator[ContractHarness]:
        with fake_instance() as fake:
            harness = ServiceNowHarness.open(fake)
            yield harness
            harness.close()
