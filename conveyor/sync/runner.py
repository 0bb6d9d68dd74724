"""Run a sync job by name: load it, open its connector and database, hold its lock, run.

Two runs of one job never overlap: a run holds the job's lock (a PostgreSQL advisory lock, or
a file lock beside a SQLite database) and a second run that finds it taken stops at once with
a clear error, writing nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import URL, Engine

from conveyor.connector import Connector, connector_factory
from conveyor.errors import ConfigError
from conveyor.load.urls import create_engine, parse_url
from conveyor.settings import get_settings, redact_url
from conveyor.state.locks import JobLock
from conveyor.sync.connections import connection_settings
from conveyor.sync.engine import ProgressFn, SyncEngine, SyncReport
from conveyor.sync.jobs import load_sync_job
from conveyor.sync.spec import SyncJobSpec

__all__ = ["SyncBusyError", "open_connector", "run_job"]


class SyncBusyError(ConfigError):
    """Another run of the same job is in progress."""


def open_connector(job: SyncJobSpec) -> Connector:
    """The job's connector, built from its connection settings (never printed)."""
    factory = connector_factory(job.remote.connector)
    settings = connection_settings(job.remote.connection)
    try:
        return factory(settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(
            f"connection {job.remote.connection!r} for connector {job.remote.connector!r}: "
            f"{problems}"
        ) from None


def run_job(
    name_or_path: str | Path,
    *,
    database: str | None = None,
    mappings_dir: Path | None = None,
    dry_run: bool = False,
    connector: Connector | None = None,
    progress: ProgressFn | None = None,
) -> SyncReport:
    """Run the sync job ``name_or_path`` against ``database`` (default: the settings' URL)."""
    settings = get_settings()
    job = load_sync_job(name_or_path, mappings_dir or settings.mappings_dir)
    url = database or settings.database_url.get_secret_value()
    parsed = parse_url(url)
    if dry_run and _missing_sqlite_file(parsed):
        parsed = parse_url("sqlite://")  # nothing to read, and a dry run creates no file
    engine = create_engine(parsed)
    opened = connector or open_connector(job)
    try:
        with _job_lock(engine, job):
            return SyncEngine(job, opened, engine, progress=progress).run(dry_run=dry_run)
    finally:
        if connector is None:
            opened.close()
        engine.dispose()


def _missing_sqlite_file(url: URL) -> bool:
    database = url.database
    return (
        url.get_backend_name() == "sqlite" and bool(database) and not Path(str(database)).exists()
    )


@contextmanager
def _job_lock(engine: Engine, job: SyncJobSpec) -> Iterator[None]:
    name = job.name or ""
    lock = JobLock(engine, zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF, kind="sync")
    if not lock.acquire():
        raise SyncBusyError(
            f"sync job {name} is already running against {redact_url(str(engine.url))}; "
            "two runs of one job never overlap: wait for it to finish"
        )
    try:
        yield
    finally:
        lock.release()
