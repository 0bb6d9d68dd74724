"""The contract suite on the Salesforce connector, against the fake org on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.testing.contract import ConnectorContract, ContractHarness
from tests.connectors.salesforce.harness import SalesforceHarness, fake_org


class TestSalesforceContract(ConnectorContract):
    connector_name = "salesforce"

    @pytest.fixture
    def harness(self) -> Iterator[ContractHarness]:
        with fake_org() as fake:
            harness = SalesforceHarness.open(fake)
            yield harness
            harness.close()

    def _missing_id(self, harness: ContractHarness) -> str:
        """Removed and purged from the recycle bin: an id Salesforce no longer knows. (A record
        still in the recycle bin is deleted already, which a delete counts as done.)"""
        gone = super()._missing_id(harness)
        assert isinstance(harness, SalesforceHarness)
        harness.fake.empty_recycle_bin(harness.entity)
        return gone
