"""What the connectors' end-to-end sync tests share: the command line in this process, one
job's run and parked list, count checks, an application's inserts and updates of the local
table, and the flow's artifacts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner, Result

from conveyor.cli import app
from tests.helpers import ROOT

__all__ = [
    "MAPPINGS",
    "artifact_data",
    "expect_counts",
    "insert_rows",
    "invoke",
    "now_text",
    "parked_list",
    "run_sync",
    "select",
    "update_row",
]

MAPPINGS = str(ROOT / "mappings")
runner = CliRunner()


def invoke(*args: str) -> Result:
    """`conveyor ARGS` in this process; an unexpected exception fails the test."""
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def run_sync(job: str, *args: str) -> dict[str, Any]:
    """`conveyor sync JOB --json`, which must succeed; its report."""
    result = invoke("sync", job, "--mappings", MAPPINGS, "--json", *args)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["status"] == "succeeded", report
    return report


def parked_list(job: str) -> list[dict[str, Any]]:
    """`conveyor parked list JOB --json`."""
    result = invoke("parked", "list", job, "--json")
    assert result.exit_code == 0, result.output
    listed: list[dict[str, Any]] = json.loads(result.stdout)
    return listed


def expect_counts(job: str, report: Mapping[str, Any], **wanted: int) -> None:
    """The report's counts are these; when not, the message shows every count and the parked
    records' reasons."""
    got = {name: int(report["counts"].get(name, 0)) for name in wanted}
    assert got == wanted, (report["counts"], [(p["key"], p["reason"]) for p in parked_list(job)])


def now_text() -> str:
    """The time an application stamps on a row it changes (a job's updated_at)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


@contextmanager
def _table(url: str, name: str) -> Iterator[tuple[sa.Engine, sa.Table]]:
    engine = sa.create_engine(url)
    try:
        yield engine, sa.Table(name, sa.MetaData(), autoload_with=engine)
    finally:
        engine.dispose()


def insert_rows(url: str, table: str, *rows: Mapping[str, Any]) -> None:
    """What an application does to insert rows: bound values, updated_at stamped."""
    with _table(url, table) as (engine, t), engine.begin() as conn:
        conn.execute(sa.insert(t), [{"updated_at": now_text(), **r} for r in rows])


def update_row(url: str, table: str, key: str, **values: Any) -> None:
    """What an application does to change a row: the values and updated_at, bound."""
    with _table(url, table) as (engine, t), engine.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == key).values(updated_at=now_text(), **values))


def select(url: str, sql: str) -> list[dict[str, Any]]:
    """The rows of a test's own query (its text is the test's, never user input)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]
    finally:
        engine.dispose()


async def artifact_data(key: str) -> list[str]:
    """The data of the Prefect artifacts published under ``key``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    return [str(a.data) for a in found]
