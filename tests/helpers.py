"""Small helpers shared by the integration tests."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MAPPINGS = ROOT / "mappings"
PEER = ROOT.parent / "shared" / "peer-suites"


def copy_example(name: str, folder: Path) -> Path:
    """Copy an example file into a temporary folder (rejects files are written beside it)."""
    target = folder / name
    shutil.copy(EXAMPLES / name, target)
    return target


def rows(url: str, table: str, order_by: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(_sync(url))
    try:
        with engine.connect() as conn:
            t = sa.Table(table, sa.MetaData(), autoload_with=conn)
            result = conn.execute(sa.select(t).order_by(t.c[order_by]))
            return [dict(r._mapping) for r in result]
    finally:
        engine.dispose()


def drop_all(url: str) -> None:
    engine = sa.create_engine(_sync(url))
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
    finally:
        engine.dispose()


def _sync(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def run_logs() -> Iterator[list[str]]:
    """The messages of flow and task run loggers (Prefect's own handlers stay in place)."""
    handler = _Collect()
    loggers = [logging.getLogger(n) for n in ("prefect.flow_runs", "prefect.task_runs")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def prefect_test_server() -> Iterator[None]:
    """Prefect's test server (about 13 s to start on 2 cores) with the per-flow heartbeat off.
    Each test package that runs flows makes it a package-scoped fixture in its conftest: one
    server per package, stopped after it, so its background threads never run beside other
    packages' tests (Hypothesis, for one, notices their use of ``random``)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield
