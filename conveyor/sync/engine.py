"""One run of a sync job: read both sides, match pairs, decide, apply, commit the cursors.

A run reads each side's changes since its cursor, less the job's overlap window, so records
committed late or sharing a timestamp are never missed; versions already handled are dropped
as ``seen``. Cursors move only at the end of a run that handled everything it read, in the
transaction of its last local writes: a run that fails part way leaves them where they were,
and the next run reads those records again, finding the ones already done unchanged.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from conveyor.connector import Capabilities, Connector, EntityInfo, RemoteRecord
from conveyor.errors import ConfigError, ConveyorError
from conveyor.retry import DEFAULT_RETRY, RetryPolicy, with_retries
from conveyor.state.sync import Cursor, SyncStore
from conveyor.sync.apply import BatchApplier
from conveyor.sync.local import LocalTable
from conveyor.sync.pairs import Pair, Reads, match_pairs
from conveyor.sync.plan import OUTCOMES, Step, field_flow, plan_pair
from conveyor.sync.spec import SyncJobSpec
from conveyor.sync.values import Codec

__all__ = ["SyncEngine", "SyncReport"]

ProgressFn = Callable[[int, int], None]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class SyncReport:
    job: str
    status: Literal["succeeded", "failed", "dry_run"]
    counts: dict[str, int]
    remote_calls: int = 0
    run_id: int | None = None
    error: str | None = None
    duration_s: float = 0.0
    changes: list[dict[str, Any]] = field(default_factory=list)  # dry run: what would happen
    retryable: bool = False  # failed on a passing fault: running again later can succeed

    @property
    def records(self) -> int:
        return sum(self.counts.get(o, 0) for o in OUTCOMES)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "status": self.status,
            "counts": self.counts,
            "records": self.records,
            "remote_calls": self.remote_calls,
            "run_id": self.run_id,
            "error": self.error,
            "duration_s": round(self.duration_s, 3),
            "changes": self.changes,
        }


class SyncEngine:
    """Runs one sync job against an open connector and the job's local database."""

    def __init__(
        self,
        job: SyncJobSpec,
        connector: Connector,
        engine: Engine,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        retry: RetryPolicy = DEFAULT_RETRY,
        progress: ProgressFn | None = None,
    ) -> None:
        self.job, self.connector, self.clock, self.retry = job, connector, clock, retry
        self.name = job.name or "sync"
        self.store = SyncStore(engine)
        self.table = LocalTable(engine, job)
        self.codec = Codec(job)
        self.flow = field_flow(job)
        self.progress = progress or (lambda done, total: None)

    def run(self, dry_run: bool = False) -> SyncReport:
        started, calls_before = time.monotonic(), self.connector.calls
        now = self.clock()
        if dry_run:
            self._dry_state()
        else:
            self.store.ensure()
        run_id = None if dry_run else self.store.start_run(self.name, now)
        report = SyncReport(self.name, "dry_run" if dry_run else "succeeded", {}, run_id=run_id)
        try:
            self._run(report, dry_run)
        except ConveyorError as exc:
            report.status, report.error, report.retryable = "failed", str(exc), exc.retryable
        report.remote_calls = self.connector.calls - calls_before
        usage = getattr(self.connector, "api_usage", None)  # optional: see conveyor.connector
        if usage is not None:
            report.counts["api_used"], report.counts["api_limit"] = usage
        report.duration_s = time.monotonic() - started
        if run_id is not None:
            self.store.finish_run(
                run_id,
                report.status,
                report.counts,
                report.remote_calls,
                report.error,
                self.clock(),
            )
        return report

    def _dry_state(self) -> None:
        """A dry run writes nothing, not even the control tables: when they do not exist yet
        the run reads an empty state kept in memory."""
        if not sa.inspect(self.table.engine).has_table("conveyor_sync_links"):
            self.store = SyncStore(sa.create_engine("sqlite://"))
            self.store.ensure()

    # -- the stages -----------------------------------------------------------------------

    def _run(self, report: SyncReport, dry_run: bool) -> None:
        started = self.clock()
        self._check_fields()
        if not dry_run:
            self.table.ensure()
        cursors = {side: self.store.cursor(self.name, side) for side in ("local", "remote")}
        reads, scanned = self._read(cursors, dry_run)
        report.counts.update(read_local=len(reads.local), read_remote=len(reads.remote))
        links = self.store.links(self.name)
        pairs = match_pairs(reads, links, self.job.remote.external_id_field, self.job.natural_key)
        self._fetch_local(pairs)
        blocked = self.store.open_conflict_keys(self.name)
        steps = [plan_pair(p, self.job, self.flow, p.key in blocked) for p in pairs]
        if dry_run:
            report.changes = [_describe(s) for s in steps if s.outcome != "seen"]
        else:
            self._apply(steps)
            self._commit_cursors(cursors, reads, scanned, started)
        _count(report.counts, steps)

    def _check_fields(self) -> None:
        entity = with_retries(lambda: self.connector.describe(self.job.remote.entity), self.retry)
        remote = [f.remote for f in self.job.fields.values()]
        unknown = entity.unknown([*remote, self.job.remote.external_id_field])
        outbound = [self.job.fields[n].remote for n in self.flow.outbound]
        read_only = entity.read_only(outbound)
        problems = []
        if unknown:
            problems.append(f"no field {', '.join(unknown)} on {entity.name}")
        if read_only:
            problems.append(
                f"{', '.join(read_only)} cannot be written on {entity.name}: make those fields "
                "inbound (direction: inbound) or remove them"
            )
        problems += self._write_problems(entity)
        if self.job.remote.filter and not self.connector.capabilities.filter:
            problems.append(
                f"connector {self.job.remote.connector} cannot filter its reads: remove "
                "remote.filter (filter the local side with local.filter)"
            )
        if problems:
            raise ConfigError(f"sync job {self.name}: " + "; ".join(problems))

    def _write_problems(self, entity: EntityInfo) -> list[str]:
        """What the job would write that the remote cannot take: a key in a field that
        cannot hold it (an external id: unique, searchable), deletes of an undeletable entity."""
        if self.job.direction == "inbound":
            return []
        problems = []
        ext = entity.fields.get(self.job.remote.external_id_field)
        if ext is not None and self.flow.outbound and not ext.external_id:
            problems.append(
                f"{ext.name} on {entity.name} cannot hold our key (it is not an external id "
                "the remote can look records up by): choose another remote.external_id_field"
            )
        if self.job.deletes.policy == "propagate" and not entity.deletable:
            problems.append(
                f"{entity.name} cannot be deleted on the remote: set deletes.policy to soft or "
                "ignore (or make the job inbound)"
            )
        return problems

    def _read(self, cursors: dict[str, Cursor], dry_run: bool) -> tuple[Reads, bool]:
        overlap = dt.timedelta(seconds=self.job.overlap_seconds)
        local_since = _since(cursors["local"], overlap)
        local = {r.key: r for r in self._local_rows(local_since, dry_run)}
        records = with_retries(lambda: self._remote_records(cursors["remote"], overlap), self.retry)
        values = self.codec.inbound([r.values for r in records])
        scan = self._scan_due(cursors["remote"])
        live = self._scan() if scan else None
        keys = self.table.keys() if self._table_exists(dry_run) else set()
        extra = self._due_keys()
        reads = Reads(local, list(zip(records, values, strict=True)), keys, live, extra)
        return reads, scan

    def _local_rows(self, since: dt.datetime | None, dry_run: bool) -> list[Any]:
        return self.table.read(since) if self._table_exists(dry_run) else []

    def _table_exists(self, dry_run: bool) -> bool:
        if not dry_run:
            return True
        return sa.inspect(self.table.engine).has_table(self.table.table.name)

    def _remote_records(self, cursor: Cursor, overlap: dt.timedelta) -> list[RemoteRecord]:
        since = _since(cursor, overlap)
        names = [f.remote for f in self.job.fields.values()]
        names.append(self.job.remote.external_id_field)
        latest: dict[str, RemoteRecord] = {}
        where = self.job.remote.filter  # None unless the connector can filter (checked first)
        for batch in self.connector.read_changes(self.job.remote.entity, since, names, where):
            for record in batch.records:
                latest[record.id] = record  # a record read twice: its newest version
        return list(latest.values())

    def _scan_due(self, cursor: Cursor) -> bool:
        if self.connector.capabilities.delete_detection != "key_scan":
            return False
        return cursor.position is not None and (
            cursor.runs_since_scan + 1 >= self.job.deletes.key_scan_every
        )

    def _scan(self) -> set[str]:
        def scan() -> set[str]:
            ids: set[str] = set()
            for page in self.connector.scan_ids(self.job.remote.entity):
                ids.update(page)
            return ids

        return with_retries(scan, self.retry)

    def _due_keys(self) -> set[str]:
        due = {p.local_key for p in self.store.parked(self.name, due=self.clock()) if p.local_key}
        return due | self.store.resolved_keys(self.name)

    def _fetch_local(self, pairs: list[Pair]) -> None:
        wanted = [
            p.key for p in pairs if p.key is not None and p.local is None and not p.local_deleted
        ]
        found = self.table.fetch(wanted) if wanted else {}
        for pair in pairs:
            if pair.key is not None and pair.local is None:
                pair.local = found.get(pair.key)

    def _apply(self, steps: list[Step]) -> None:
        work = [s for s in steps if _needs_work(s)]
        applier = BatchApplier(
            self.job, self.connector, self.table, self.store, self.retry, self.clock
        )
        size = _commit_size(self.job.batch_size, self.connector.capabilities, len(work))
        for start in range(0, len(work), size):
            applier.apply(work[start : start + size])
            self.progress(min(start + size, len(work)), len(work))

    def _commit_cursors(
        self, cursors: dict[str, Cursor], reads: Reads, scanned: bool, started: dt.datetime
    ) -> None:
        """Each side's cursor: the newest change read, or the run's start less the overlap
        when that is later (every change older than that was committed before this run
        read), so idle runs stop re-reading an old burst of changes."""
        floor = started - dt.timedelta(seconds=self.job.overlap_seconds)
        local = _latest([r.modified_at for r in reads.local.values()], cursors["local"], floor)
        remote = _latest([r.modified_at for r, _ in reads.remote], cursors["remote"], floor)
        runs = 0 if scanned else cursors["remote"].runs_since_scan + 1
        now = self.clock()
        with self.table.engine.begin() as conn:
            self.store.save_cursor(conn, self.name, "local", Cursor(local, 0), now)
            self.store.save_cursor(conn, self.name, "remote", Cursor(remote, runs), now)


def _commit_size(batch_size: int, caps: Capabilities, work: int) -> int:
    """The job's batch size, or for a connector with a bulk path and more work than that, the
    connector's bulk batch: one bulk job and one local commit per batch."""
    if caps.bulk and caps.bulk_batch_size > batch_size and work > batch_size:
        return caps.bulk_batch_size
    return batch_size


def _since(cursor: Cursor, overlap: dt.timedelta) -> dt.datetime | None:
    return None if cursor.position is None else cursor.position - overlap


def _latest(moments: list[dt.datetime | None], cursor: Cursor, floor: dt.datetime) -> dt.datetime:
    known = [m for m in moments if m is not None]
    if cursor.position is not None:
        known.append(cursor.position)
    return max([*known, floor])


def _needs_work(step: Step) -> bool:
    return bool(
        step.to_local
        or step.to_remote
        or step.create_local
        or step.create_remote
        or step.delete_local
        or step.delete_remote
        or step.unlink
        or step.conflict
        or step.park
        or step.touch_link
        or step.refresh
        or step.pair.retry
    )


def _count(counts: dict[str, int], steps: list[Step]) -> None:
    for name in (*OUTCOMES, "seen"):
        counts.setdefault(name, 0)
    for step in steps:
        counts[step.outcome] += 1
        if step.outcome in ("created", "updated"):
            side = "local" if (step.to_local or step.create_local) else None
            if side:
                counts["written_local"] = counts.get("written_local", 0) + 1
            if step.to_remote or step.create_remote:
                counts["written_remote"] = counts.get("written_remote", 0) + 1


def _describe(step: Step) -> dict[str, Any]:
    """A dry run's line for one record: what would change on each side."""
    pair = step.pair
    return {
        "key": pair.key,
        "remote_id": pair.remote.id
        if pair.remote
        else (pair.link.remote_id if pair.link else None),
        "outcome": step.outcome,
        "to_local": step.to_local,
        "to_remote": step.to_remote,
        "create_local": step.create_local,
        "create_remote": step.create_remote,
        "delete_local": step.delete_local,
        "delete_remote": step.delete_remote,
        "disputed": list(step.conflict.disputed) if step.conflict else [],
        "parked": str(step.park[1]) if step.park else None,
    }
