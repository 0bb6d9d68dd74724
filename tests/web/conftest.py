"""Fixtures of the upload page's tests: a server configuration in tmp_path, a running server,
and the Prefect test harness (module-scoped, as in tests/e2e/test_flow.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conveyor.web import WebConfig, create_app
from tests.helpers import MAPPINGS, prefect_test_server
from tests.web.support import serve


@pytest.fixture
def web_config(tmp_path: Path) -> WebConfig:
    """Loopback, no key, the repository's mappings, data in tmp_path, a 1 MiB limit."""
    return WebConfig(
        data_dir=tmp_path / "data", mappings_dir=MAPPINGS, max_upload_bytes=1024 * 1024
    )


@pytest.fixture
def api(web_config: WebConfig) -> Iterator[httpx.Client]:
    """A client of a running server with ``web_config``."""
    with serve(create_app(web_config)) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield client


#: One Prefect test server for this package's flow tests (see tests.helpers).
prefect_server = pytest.fixture(scope="package")(prefect_test_server)
