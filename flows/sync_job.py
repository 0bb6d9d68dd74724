"""The `sync-job` flow: one run of a sync job, with its counts and what needs a person.

The database URL comes from the Secret block named ``database_secret`` or from
CONVEYOR_DATABASE_URL; the connection's settings from the Secret block or environment the job
names (conveyor.sync.connections). Neither is ever a parameter. A run that parked records or
queued conflicts ends in a named Completed state, not plain green.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger, tags, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed

from conveyor.errors import TransientError
from conveyor.sync.engine import SyncReport
from conveyor.sync.jobs import load_sync_job
from conveyor.sync.plan import OUTCOMES
from conveyor.sync.runner import run_job
from flows.secrets import database_url

__all__ = ["ATTENTION_STATE", "sync_job_flow"]

#: The final state's name of a run that parked records or queued conflicts (type COMPLETED).
ATTENTION_STATE = "Completed with parked or conflicts"


@task(name="sync", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60])
def run_sync(job: str, database: str | None, dry_run: bool, progress_id: UUID) -> SyncReport:
    def progress(done: int, total: int) -> None:
        update_progress_artifact(progress_id, progress=round(100 * done / max(total, 1), 1))

    report = run_job(job, database=database, dry_run=dry_run, progress=progress)
    if report.status == "failed" and report.retryable:
        raise TransientError(report.error or "a passing fault")  # the task's retries take it
    return report


def _publish(report: SyncReport) -> None:
    c = report.counts
    row = {"job": report.job, "status": report.status, "records": report.records}
    row.update({name: c.get(name, 0) for name in ("read_local", "read_remote", *OUTCOMES)})
    row.update(seen=c.get("seen", 0), remote_calls=report.remote_calls)
    row.update({name: c[name] for name in ("api_used", "api_limit") if name in c})
    create_table_artifact(key="sync-counts", table=[row], description=f"Sync {report.job}")
    create_markdown_artifact(
        key="sync-attention", markdown=_attention(report), description="Needs a person"
    )


def _attention(report: SyncReport) -> str:
    """Parked records and conflicts in a few lines of Markdown: how many, and what to run."""
    if report.status == "failed":
        return f"**Sync failed:** {report.error}"
    parked, conflicted = report.counts.get("parked", 0), report.counts.get("conflicted", 0)
    if not parked and not conflicted:
        return f"Nothing waits for a person: {report.records:,} records handled."
    lines = []
    if parked:
        lines.append(
            f"- **{parked:,} parked** (a side refused them; retried with backoff): "
            f"`conveyor parked list {report.job}`"
        )
    if conflicted:
        lines.append(
            f"- **{conflicted:,} in conflict** (changed on both sides): "
            f"`conveyor conflicts list {report.job}`, then `conveyor conflicts resolve ID "
            f"--job {report.job} --take local|remote|merged`"
        )
    return "\n".join(lines)


def _run_name() -> str:
    from prefect.runtime import flow_run

    return f"sync {flow_run.parameters.get('job', '?')}"


@flow(name="sync-job", flow_run_name=_run_name, log_prints=False)
def sync_job_flow(
    job: str, database_secret: str | None = None, dry_run: bool = False
) -> dict[str, Any]:
    """Run the sync job ``job`` (a name under mappings/*/) once."""
    logger = get_run_logger()
    spec = load_sync_job(job)
    progress_id = cast(UUID, create_progress_artifact(progress=0.0, key="sync-progress"))
    with tags(f"connector:{spec.remote.connector}", f"entity:{spec.remote.entity}"):
        report = run_sync(job, database_url(database_secret), dry_run, progress_id)
    update_progress_artifact(progress_id, progress=100.0)
    _publish(report)
    logger.info("sync %s: %s %s", job, report.status, report.counts)
    if report.status == "failed":
        raise RuntimeError(report.error)
    summary = report.to_dict()
    if report.counts.get("parked") or report.counts.get("conflicted"):
        return Completed(  # type: ignore[return-value]  # Prefect returns the state's data
            name=ATTENTION_STATE, message=_attention(report), data=summary
        )
    return summary
