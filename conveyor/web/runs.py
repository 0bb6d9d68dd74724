"""Imports started from the page or the API: queued, run through Prefect, followed to the end.

Each import runs the ``import-file`` flow in a small thread pool (``WebConfig.workers`` at a
time; the rest wait in the queue), inside ``flows.import_file.watching`` so that the flow
reports its run id and progress here. The registry of imports is kept IN MEMORY, guarded by a
lock: after a restart the ids are gone, while Prefect keeps the runs and the data folder keeps
the files. Prefect is imported only when an import runs (the core library never imports it).
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from conveyor.mapping import MappingSpec, dump_mapping
from conveyor.web.config import WebConfig
from conveyor.web.errors import NotFound
from conveyor.web.mappings import ChosenMapping
from conveyor.web.preview import without_paths
from conveyor.web.uploads import StoredUpload

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State

__all__ = ["FINAL_STATUSES", "ImportRun", "ImportRunner", "RunStatus"]

RunStatus = Literal["queued", "running", "succeeded", "completed_with_rejects", "failed", "skipped"]
FINAL_STATUSES: frozenset[RunStatus] = frozenset(
    {"succeeded", "completed_with_rejects", "failed", "skipped"}
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportRun:
    """What is known of one import; replaced whole on every change (readers get snapshots)."""

    id: str
    upload: StoredUpload
    mapping: str
    table: str
    mapping_path: Path
    rejects_path: Path
    force: bool = False
    status: RunStatus = "queued"
    progress: float = 0.0
    counts: dict[str, int] | None = None
    flow_run_id: str | None = None
    flow_run_url: str | None = None
    error: str | None = None
    note: str | None = None

    @property
    def has_rejects(self) -> bool:
        return bool(self.counts and self.counts.get("rejected")) and self.rejects_path.is_file()

    def to_json(self) -> dict[str, Any]:
        """The status a client sees (no server paths)."""
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "counts": self.counts,
            "filename": self.upload.filename,
            "upload_id": self.upload.id,
            "mapping": self.mapping,
            "table": self.table,
            "rejects_url": f"/imports/{self.id}/rejects" if self.has_rejects else None,
            "flow_run_id": self.flow_run_id,
            "flow_run_url": self.flow_run_url,
            "error": self.error,
            "note": self.note,
        }


class ImportRunner:
    """Queues imports on a thread pool and keeps their latest state (thread-safe)."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self._runs: dict[str, ImportRun] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="conveyor-import")

    def submit(self, upload: StoredUpload, chosen: ChosenMapping, force: bool) -> ImportRun:
        """Queue an import of ``upload``; it runs in a copy of the caller's context (so it
        sees the same Prefect settings)."""
        import_id = uuid.uuid4().hex
        self.config.rejects_dir.mkdir(parents=True, exist_ok=True)
        run = ImportRun(
            id=import_id,
            upload=upload,
            mapping=chosen.label,
            table=chosen.spec.target.table,
            mapping_path=chosen.path or self._write_mapping(upload, import_id, chosen.spec),
            rejects_path=self.config.rejects_dir / f"{import_id}{upload.path.suffix}",
            force=force,
        )
        with self._lock:
            self._runs[import_id] = run
        self._pool.submit(contextvars.copy_context().run, self._execute, import_id)
        return run

    def get(self, import_id: str) -> ImportRun:
        with self._lock:
            run = self._runs.get(import_id)
        if run is None:
            raise NotFound(f"no import with id {import_id!r} (ids last until the server restarts)")
        return run

    def close(self) -> None:
        """Drop queued imports and wait for the running ones (a flow is never cut halfway)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def update(self, import_id: str, **changes: Any) -> ImportRun:
        with self._lock:
            run = self._runs[import_id] = dataclasses.replace(self._runs[import_id], **changes)
        return run

    def advance(self, import_id: str, percent: float) -> None:
        """Move the progress forward (never back, never past 100)."""
        with self._lock:
            run = self._runs[import_id]
            progress = max(run.progress, min(100.0, percent))
            self._runs[import_id] = dataclasses.replace(run, progress=progress)

    def _write_mapping(self, upload: StoredUpload, import_id: str, spec: MappingSpec) -> Path:
        """The flow takes a mapping file: YAML from the page is written beside the upload."""
        path = upload.path.with_name(f"{upload.id}.{import_id}.mapping.yaml")
        path.write_text(dump_mapping(spec), encoding="utf-8")
        return path.resolve()

    def _execute(self, import_id: str) -> None:
        run = self.update(import_id, status="running")
        try:
            outcome = self._run_flow(run)
        except Exception as exc:  # the flow could not run at all (e.g. Prefect unreachable)
            log.exception("import %s could not run", import_id)
            outcome = {"status": "failed", "error": f"the import could not run: {exc}"}
        if outcome.get("error"):
            outcome["error"] = without_paths(str(outcome["error"]), run.upload)
        if outcome.get("note"):
            outcome["note"] = without_paths(str(outcome["note"]), run.upload)
        self.update(import_id, **outcome)

    def _run_flow(self, run: ImportRun) -> dict[str, Any]:
        from flows.import_file import import_file_flow, watching

        with watching(_Watcher(self, run.id)):
            state = import_file_flow(
                path=str(run.upload.path.resolve()),
                mapping=str(run.mapping_path),
                target_secret=self.config.target_secret,
                rejects_path=str(run.rejects_path.resolve()),
                force=run.force,
                return_state=True,
            )
        return _outcome(state)


class _Watcher:
    """Receives the flow run's id and progress (``flows.import_file.ImportWatcher``)."""

    def __init__(self, runner: ImportRunner, import_id: str) -> None:
        self.runner = runner
        self.import_id = import_id

    def started(self, flow_run_id: str) -> None:
        base = self.runner.config.prefect_ui_url or _prefect_ui_url()
        url = f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}" if base else None
        self.runner.update(self.import_id, flow_run_id=flow_run_id, flow_run_url=url)

    def progress(self, percent: float) -> None:
        self.runner.advance(self.import_id, percent)


def _prefect_ui_url() -> str | None:
    from prefect.settings import PREFECT_UI_URL

    value = PREFECT_UI_URL.value()
    return str(value) if value else None


def _outcome(state: State[Any]) -> dict[str, Any]:
    """The registry's fields for a finished flow run."""
    from flows.import_file import REJECTS_STATE

    if state.is_completed():
        report = cast(dict[str, Any], state.result())
        status: RunStatus = "succeeded"
        if state.name == REJECTS_STATE:
            status = "completed_with_rejects"
        elif report.get("status") == "skipped":
            status = "skipped"
        return {
            "status": status,
            "progress": 100.0,
            "counts": report.get("counts"),
            "note": report.get("note"),
            "error": None,
        }
    raised = state.result(raise_on_failure=False)
    error = str(raised) if isinstance(raised, BaseException) else None
    return {"status": "failed", "progress": 100.0, "error": error or state.message or state.name}
