"""The `import-file` flow: one task per stage of an import, with artifacts in the Prefect UI.

With ``partitions`` above 1, the read-and-map stage cuts a large CSV or NDJSON file into that
many partitions and reads and maps them in the `import-partitions` subflow, one task per
partition on a Dask cluster (Prefect's DaskTaskRunner): a local cluster of processes, or the
one at ``dask_address`` / CONVEYOR_DASK_ADDRESS. Dedupe and load stay in this flow's process
(see conveyor.partitioned for why the result is the single-process one).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
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
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Completed
from prefect.task_runners import TaskRunner
from prefect_dask.task_runners import DaskTaskRunner

from conveyor.errors import TransientError
from conveyor.importer import ImportJob, ImportRequest
from conveyor.partitioned import PartitionResult, PartitionRunner, PartitionWork, read_partition
from conveyor.partitions import human_size
from conveyor.report import ImportReport
from conveyor.settings import redact_url
from flows.secrets import database_url

__all__ = [
    "LOCAL_CLUSTER",
    "REJECTS_STATE",
    "ImportWatcher",
    "dask_runner",
    "import_file_flow",
    "read_partitions",
    "watching",
]

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
    _read(job)


def read_in_partitions(job: ImportJob) -> None:
    """The read-and-map stage of a partitioned import, in the flow itself: its
    `import-partitions` subflow must not run inside a task, whose context (holding the job)
    Dask would have to pickle for every worker."""
    _read(job)


def _read(job: ImportJob) -> None:
    job.read_and_map()
    c = job.counts
    logger = get_run_logger()
    if job.partition_note:
        logger.info("partitions: %s", job.partition_note)
    logger.info("read: %d rows, %d rejected by the mapping", c.rows_read, c.rejected)


# -- partitions on a Dask cluster -----------------------------------------------------------

#: Called in the flow's process with each partition's result as it arrives (for progress).
_arrived: ContextVar[Callable[[PartitionResult], None] | None] = ContextVar(
    "conveyor_partition_arrived", default=None
)


def _partition_in_worker(work: PartitionWork) -> PartitionResult:
    """One partition, in a Dask worker: plain arguments in, plain results (files) out."""
    result = read_partition(work)
    logger = get_run_logger()
    if result.error is not None:
        logger.warning("partition %d failed: %s", work.index, result.error)
    else:
        logger.info(
            "partition %d: %d rows of %s in %.1f s",
            work.index,
            result.rows_read,
            human_size(work.size),
            result.seconds,
        )
    return result


def _partitions_subflow(works: list[PartitionWork]) -> list[PartitionResult]:
    """Read and map the partitions on the task runner the caller chose (see dask_runner)."""
    arrived = _arrived.get()
    futures = [read_partition_task.submit(work) for work in works]
    results: list[PartitionResult] = []
    for future in as_completed(futures):
        result = future.result()
        if arrived is not None:
            arrived(result)
        results.append(result)
    return results


# Not decorators: each function keeps a module-level name of its own, so that Dask pickles the
# task and the flow run's context by reference (by value, cloudpickle would take in the
# functions' globals, and a ContextVar cannot be pickled).
read_partition_task = task(name="read-partition", cache_policy=NO_CACHE)(_partition_in_worker)
read_partitions = flow(name="import-partitions", validate_parameters=False)(_partitions_subflow)


def dask_runner(address: str | None = None) -> PartitionRunner:
    """Partitions as tasks of the `import-partitions` subflow on a Dask cluster: the scheduler
    at ``address``, else a local cluster of processes (one per partition, at most one per
    core) that lives as long as the subflow."""

    def run(
        works: Sequence[PartitionWork], arrived: Callable[[PartitionResult], None]
    ) -> list[PartitionResult]:
        where = address or f"a local Dask cluster of {_local_workers(len(works))} processes"
        sizes = ", ".join(human_size(w.size) for w in works)
        get_run_logger().info("plan: %d partitions of %s on %s", len(works), sizes, where)
        token = _arrived.set(arrived)
        try:
            subflow = read_partitions.with_options(task_runner=_task_runner(len(works), address))
            return subflow(list(works))
        finally:
            _arrived.reset(token)

    return run


#: A local cluster: worker processes of one thread (Polars threads within); no memory limit
#: (Dask does not manage Polars' memory, and its nanny would kill a worker over the limit
#: where a single-process import would go on); no dashboard, and the scheduler's HTTP
#: endpoints on a free local port: without one it takes 8787 and a second import on the
#: machine warns that the port is in use.
LOCAL_CLUSTER: dict[str, Any] = {
    "processes": True,
    "threads_per_worker": 1,
    "memory_limit": 0,
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
}


def _local_workers(count: int) -> int:
    return max(1, min(count, os.cpu_count() or 1))


def _task_runner(count: int, address: str | None) -> TaskRunner[PrefectFuture[Any]]:
    if address:
        runner = DaskTaskRunner(address=address)
    else:
        workers = _local_workers(count)
        runner = DaskTaskRunner(cluster_kwargs={"n_workers": workers, **LOCAL_CLUSTER})
    # prefect-dask subclasses the bare generic TaskRunner; mypy does not see it as one of these
    return cast("TaskRunner[PrefectFuture[Any]]", runner)


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
    partitions: int | None = None,
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Import one file. The target database URL comes from the Secret block named
    ``target_secret`` or from CONVEYOR_DATABASE_URL, never from a parameter.

    ``partitions`` above 1 reads and maps that many partitions of a large CSV or NDJSON file
    in parallel on a Dask cluster: ``dask_address`` (or CONVEYOR_DASK_ADDRESS) names its
    scheduler, else a local cluster of processes is started. Mapped rows wait in
    CONVEYOR_SPILL_DIR (default: the system's temporary folder), which every Dask worker
    must see, as it must see ``path``."""
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
        partitions=max(1, partitions or 1),
        spill_dir=Path(spill) if (spill := os.environ.get("CONVEYOR_SPILL_DIR")) else None,
    )
    address = dask_address or os.environ.get("CONVEYOR_DASK_ADDRESS") or None
    job = ImportJob(request, progress, dask_runner(address))
    error: BaseException | None = None
    try:
        resolve(job)
        read_in_partitions(job) if request.partitions > 1 else read_and_map(job)
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
