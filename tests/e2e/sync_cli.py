"""What the connectors' end-to-end sync tests share: the command line in this process, one
job's run and parked list, count checks, and the flow's artifacts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from typer.testing import CliRunner, Result

from conveyor.cli import app
from tests.helpers import ROOT

__all__ = [
    "MAPPINGS",
    "artifact_data",
    "expect_counts",
    "invoke",
    "now_text",
    "parked_list",
    "run_sync",
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


async def artifact_data(key: str) -> list[str]:
    """The data of the Prefect artifacts published under ``key``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
        )
    return [str(a.data) for a in found]
