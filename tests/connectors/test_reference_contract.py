"""The contract suite on the reference connector, on SQLite and PostgreSQL, in both of its
delete-detection modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.testing.contract import ConnectorContract, ContractHarness
from tests.connectors.reference_harness import ReferenceHarness


class TestReferenceContract(ConnectorContract):
    connector_name = "reference"

    @pytest.fixture
    def harness(self, db_url: str) -> Iterator[ContractHarness]:
        harness = ReferenceHarness.open(db_url)
        yield harness
        harness.close()


class TestReferenceKeyScanContract(ConnectorContract):
    connector_name = "reference"

    @pytest.fixture
    def harness(self, db_url: str) -> Iterator[ContractHarness]:
        harness = ReferenceHarness.open(db_url, delete_detection="key_scan")
        yield harness
        harness.close()
