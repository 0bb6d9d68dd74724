"""Fixtures of the end-to-end tests."""

from __future__ import annotations

import pytest

from tests.helpers import prefect_test_server

#: One Prefect test server for this package's flow tests (see tests.helpers).
prefect_server = pytest.fixture(scope="package")(prefect_test_server)
