"""A target on an empty database of each dialect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.load import Target, open_target


@pytest.fixture
def target(db_url: str) -> Iterator[Target]:
    opened = open_target(db_url)
    yield opened
    opened.close()
