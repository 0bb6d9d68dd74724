"""The contract suite on the SAP connector, against the fake SAP Gateway on 127.0.0.1: the
standard API_BUSINESS_PARTNER (partners cannot be deleted: each delete is a row error saying
so) and a service whose entity set may be deleted (a custom one, say)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.testing.contract import ConnectorContract, ContractHarness
from tests.connectors.sap.harness import SapHarness, fake_service


class TestSapContract(ConnectorContract):
    connector_name = "sap"

    @pytest.fixture
    def harness(self) -> Iterator[ContractHarness]:
        with fake_service() as fake:
            harness = SapHarness.open(fake)
            yield harness
            harness.close()


class TestSapDeletableSetContract(ConnectorContract):
    connector_name = "sap"

    @pytest.fixture
    def harness(self) -> Iterator[ContractHarness]:
        with fake_service(deletable=True) as fake:
            harness = SapHarness.open(fake)
            yield harness
            harness.close()
