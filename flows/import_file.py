"""The `import-file` flow: one task per stage of an import, with artifacts in the Prefect UI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar, cast
from uuid import UUID

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Completed

from conveyor.errors import TransientError
from conveyor.importer import ImportJob, ImportRequest
from conveyor.report import ImportReport
from conveyor.settings import redact_url
from flows.secrets import database_url

__all__ = ["REJECTS_STATE", "ImportWatcher", "import_file_flow", "watching"]

#: The final state's name of an import that rejected rows (its type stays COMPLETED).
REJECTS_STATE = "Completed with rejects"


class ImportWatcher(Protocol):
    """Follows a run of the flow from the same process (the upload page does)."""

    def started(self, flow_run_id: str) -> None: ...

    def progress(self, percent: float) -> None: ...


_watcher: ContextVar[ImportWatcher | None] = ContextVar("conveyor_import_watcher", default=None)


@contextmanager
def watching(watcher: ImportWatcher) -> Iterator[None]:
    """Runs of ``import_file_flow`` called inside this block report to ``watcher``: the flow
    run's id when it starts, then the same progress percentages as the progress artifact.
    (Flow parameters must be serialisable, so a callback cannot be one.)"""
    token = _watcher.set(watcher)
    try:
        yield
    finally:
        _watcher.reset(token)


def _only_transient(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Retry a stage only when it failed on a TransientError (e.g. the database restarting)."""
    try:
        state.result()
    except TransientError:
        return True
    except BaseException:
        return False
    return False


P = ParamSpec("P")
R = TypeVar("R")


def _retrying(name: str) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A stage that touches the database: up to 3 retries, only on TransientError."""
    return task(
        name=name,
        retries=3,
        retry_delay_seconds=[2, 10, 30],
        retry_condition_fn=_only_transient,
        cache_policy=NO_CACHE,
    )


@_retrying("resolve")
def resolve(job: ImportJob) -> None:
    job.resolve()
    table = job.spec.target.table if job.spec else "?"
    if job.skipped:
        get_run_logger().info("resolve: skipped: %s", job.skipped_because)
    else:
        get_run_logger().info("resolve: table %s in %s", table, redact_url(job.target_url))


@task(name="read-and-map", cache_policy=NO_CACHE)
def read_and_map(job: ImportJob) -> None:
    job.read_and_map()
    c = job.counts
    get_run_logger().info("read: %d rows, %d rejected by the mapping", c.rows_read, c.rejected)


@task(name="dedupe", cache_policy=NO_CACHE)
def deduplicate(job: ImportJob) -> None:
    job.deduplicate()
    get_run_logger().info("dedupe: %d duplicate rows settled", job.counts.duplicates)


@_retrying("load")
def load(job: ImportJob) -> None:
    job.load()
    c = job.counts
    get_run_logger().info(
        "load: %d inserted, %d updated, %d unchanged, %d deleted",
        c.inserted,
        c.updated,
        c.unchanged,
        c.deleted,
    )


@_retrying("record-job")
def finish(job: ImportJob, error: BaseException | None) -> ImportReport:
    return job.finish(error)


def _publish(report: ImportReport) -> None:
    c = report.counts
    create_table_artifact(
        key="import-counts",
        table=[
            {
                "file": report.file.name,
                "table": report.table,
                "status": report.status,
                **dict(c.items()),
            }
        ],
        description=f"Import of {report.file.name} into {report.table}",
    )
    create_markdown_artifact(
        key="import-rejects-summary", markdown=_rejects_summary(report), description="Rejects"
    )
    if report.rejects_path is not None:
        create_link_artifact(
            key="import-rejects",
            link=report.rejects_path.resolve().as_uri(),
            link_text=f"{c.rejected} rejected rows: {report.rejects_path.name}",
            description="Fix these rows and import the file again with the same mapping.",
        )


def _rejects_summary(report: ImportReport) -> str:
    """The rejects in a few lines of Markdown: how many, where, and what to do."""
    c = report.counts
    if report.status == "failed":
        return f"**Import failed:** {report.error}"
    if not c.rejected:
        return f"No rows rejected: {c.rows_read:,} rows read from `{report.file.name}`."
    where = f"`{report.rejects_path}`" if report.rejects_path else "the rejects file"
    return (
        f"**{c.rejected:,} of {c.rows_read:,} rows rejected**, each with its row number and "
        f"reason, in {where}. Fix them there and import that file again with the same mapping."
    )


def _run_name() -> str:
    """``import contacts.csv → contacts``: the file, and the mapping or table it goes through."""
    from prefect.runtime import flow_run

    params = flow_run.parameters
    path = Path(str(params.get("path", "")))
    through = params.get("mapping") or params.get("table") or path.stem
    return f"import {path.name} → {Path(str(through)).stem}"


@flow(name="import-file", flow_run_name=_run_name, log_prints=False)
def import_file_flow(
    path: str,
    mapping: str | None = None,
    table: str | None = None,
    key: list[str] | None = None,
    target_secret: str | None = None,
    rejects_path: str | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Import one file. The target database URL comes from the Secret block named
    ``target_secret`` or from CONVEYOR_DATABASE_URL, never from a parameter."""
    logger = get_run_logger()
    progress_id = cast(UUID, create_progress_artifact(progress=0.0, key="import-progress"))
    watcher = _watcher.get()
    if watcher is not None:
        from prefect.runtime import flow_run

        watcher.started(str(flow_run.id))

    def progress(phase: str, done: int, total: int | None, rows: int) -> None:
        if total:
            share = 0.5 * done / total + (0.5 if phase == "load" else 0.0)
            update_progress_artifact(progress_id, progress=round(100 * share, 1))
            if watcher is not None:
                watcher.progress(round(100 * share, 1))

    request = ImportRequest(
        path=Path(path),
        mapping=mapping,
        target=database_url(target_secret),
        table=table,
        key=tuple(key or ()),
        dry_run=dry_run,
        rejects_path=Path(rejects_path) if rejects_path else None,
        force=force,
    )
    job = ImportJob(request, progress)
    error: BaseException | None = None
    try:
        resolve(job)
        read_and_map(job)
        deduplicate(job)
        load(job)
    except Exception as exc:
        error = exc
    report = finish(job, error)
    update_progress_artifact(progress_id, progress=100.0)
    if watcher is not None:
        watcher.progress(100.0)
    _publish(report)
    logger.info("import %s: %s %s", report.file.name, report.status, report.counts)
    if report.status == "failed":
        raise RuntimeError(report.error)
    summary: dict[str, Any] = report.to_dict()
    if report.counts.rejected:
        # Not silently green: a distinct Completed state, named in the UI's run list.
        return Completed(  # type: ignore[return-value]  # Prefect returns the state's data
            name=REJECTS_STATE,
            message=f"{report.counts.rejected:,} rows rejected: see {report.rejects_path}",
            data=summary,
        )
    return summary
