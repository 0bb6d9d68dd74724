"""The sync control tables: runs, cursors, links, conflicts and parked records.

They live in the job's local database, beside the synced table, so the engine commits a batch's
local writes, its links and its cursor in one transaction: a crash never leaves a link that
disagrees with the data. Methods that take ``conn`` join the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from conveyor.state.migrations import apply_migrations
from conveyor.state.sync_tables import SyncTables

__all__ = [
    "Conflict",
    "Cursor",
    "Link",
    "Parked",
    "Side",
    "SyncStore",
    "park_delay",
]

Side = Literal["local", "remote"]
RunStatus = Literal["succeeded", "failed", "dry_run"]
_MAX_DELAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Cursor:
    position: dt.datetime | None = None  # newest modification time fully handled
    runs_since_scan: int = 0


@dataclass(frozen=True)
class Link:
    local_key: str
    remote_id: str | None  # None while the remote create is in flight
    agreed: dict[str, Any]
    agreed_hash: str
    local_modified_at: dt.datetime | None = None
    remote_modified_at: dt.datetime | None = None
    last_written: Literal["local", "remote", "both"] | None = None
    pending: dict[str, Any] | None = None  # what a remote write in flight will leave
    remote_version: str | None = None  # the remote's version token (an ETag) last seen


@dataclass(frozen=True)
class Conflict:
    id: int
    job: str
    local_key: str
    remote_id: str
    local_values: dict[str, Any]
    remote_values: dict[str, Any]
    base_values: dict[str, Any]
    fields: list[str]
    status: str
    resolution: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Parked:
    id: int
    job: str
    side: Side
    local_key: str | None
    remote_id: str | None
    payload: dict[str, Any]
    error_class: str
    reason: str
    attempts: int
    next_attempt_at: dt.datetime | None
    status: str


def park_delay(attempts: int) -> dt.timedelta:
    """Backoff between retries of a parked record: 1, 2, 4 ... minutes, at most a day."""
    return min(dt.timedelta(minutes=2 ** max(0, attempts - 1)), _MAX_DELAY)


class SyncStore:
    """Reads and writes the sync control tables of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.t = SyncTables.for_dialect(engine.dialect.name)

    def ensure(self) -> list[int]:
        return apply_migrations(self.engine)

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, job: str, now: dt.datetime) -> int:
        statement = (
            sa.insert(self.t.runs)
            .values(job=job, status="running", counts={}, remote_calls=0, started_at=now)
            .returning(self.t.runs.c.id)
        )
        with self.engine.begin() as conn:
            return int(conn.execute(statement).scalar_one())

    def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        counts: Mapping[str, int],
        remote_calls: int,
        error: str | None,
        now: dt.datetime,
    ) -> None:
        runs = self.t.runs
        with self.engine.begin() as conn:
            started = conn.execute(
                sa.select(runs.c.started_at).where(runs.c.id == run_id)
            ).scalar_one()
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id)
                .values(
                    status=status,
                    counts=dict(counts),
                    remote_calls=remote_calls,
                    error=error,
                    finished_at=now,
                    duration_ms=max(0, (now - started) // dt.timedelta(milliseconds=1)),
                )
            )

    def runs(self, job: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The most recent runs, newest first."""
        query = sa.select(self.t.runs).order_by(self.t.runs.c.id.desc()).limit(limit)
        if job is not None:
            query = query.where(self.t.runs.c.job == job)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    # -- cursors --------------------------------------------------------------------------

    def cursor(self, job: str, side: Side) -> Cursor:
        c = self.t.cursors.c
        query = sa.select(c.position, c.runs_since_scan).where(c.job == job, c.side == side)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return Cursor(row.position, int(row.runs_since_scan)) if row else Cursor()

    def save_cursor(
        self, conn: sa.Connection, job: str, side: Side, cursor: Cursor, now: dt.datetime
    ) -> None:
        values = {
            "job": job,
            "side": side,
            "position": cursor.position,
            "runs_since_scan": cursor.runs_since_scan,
            "updated_at": now,
        }
        self._upsert(conn, self.t.cursors, [values], ["job", "side"])

    # -- links ----------------------------------------------------------------------------

    def links(self, job: str) -> dict[str, Link]:
        """Every link of ``job``, by local key."""
        c = self.t.links.c
        query = sa.select(
            c.local_key,
            c.remote_id,
            c.agreed,
            c.agreed_hash,
            c.local_modified_at,
            c.remote_modified_at,
            c.last_written,
            c.pending,
            c.remote_version,
        ).where(c.job == job)
        with self.engine.connect() as conn:
            return {r.local_key: Link(*r) for r in conn.execute(query)}

    def save_links(
        self, conn: sa.Connection, job: str, links: Sequence[Link], now: dt.datetime
    ) -> None:
        rows = [
            {
                "job": job,
                "local_key": link.local_key,
                "remote_id": link.remote_id,
                "agreed": link.agreed,
                "agreed_hash": link.agreed_hash,
                "local_modified_at": link.local_modified_at,
                "remote_modified_at": link.remote_modified_at,
                "last_written": link.last_written,
                "pending": link.pending,
                "remote_version": link.remote_version,
                "created_at": now,
                "updated_at": now,
            }
            for link in links
        ]
        self._upsert(conn, self.t.links, rows, ["job", "local_key"], keep=["created_at"])

    def drop_links(self, conn: sa.Connection, job: str, keys: Iterable[str]) -> None:
        c = self.t.links.c
        for chunk in _chunks(list(keys)):
            conn.execute(sa.delete(self.t.links).where(c.job == job, c.local_key.in_(chunk)))

    # -- conflicts ------------------------------------------------------------------------

    def add_conflict(
        self,
        conn: sa.Connection,
        job: str,
        local_key: str,
        remote_id: str,
        base: Mapping[str, Any],
        local: Mapping[str, Any],
        remote: Mapping[str, Any],
        fields: Sequence[str],
        now: dt.datetime,
    ) -> None:
        conn.execute(
            sa.insert(self.t.conflicts).values(
                job=job,
                local_key=local_key,
                remote_id=remote_id,
                local_values=dict(local),
                remote_values=dict(remote),
                base_values=dict(base),
                fields=list(fields),
                status="open",
                created_at=now,
            )
        )

    def conflicts(self, job: str | None = None, status: str | None = "open") -> list[Conflict]:
        c = self.t.conflicts.c
        query = sa.select(self.t.conflicts).order_by(c.id)
        if job is not None:
            query = query.where(c.job == job)
        if status is not None:
            query = query.where(c.status == status)
        with self.engine.connect() as conn:
            return [_conflict(r._mapping) for r in conn.execute(query)]

    def conflict(self, conflict_id: int) -> Conflict | None:
        query = sa.select(self.t.conflicts).where(self.t.conflicts.c.id == conflict_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _conflict(row._mapping) if row else None

    def refresh_conflict(
        self,
        conn: sa.Connection,
        job: str,
        local_key: str,
        local: Mapping[str, Any],
        remote: Mapping[str, Any],
    ) -> None:
        """An open conflict's record changed again: keep both sides' latest values, so the
        person resolving it, and the resolution, see what each side holds now."""
        c = self.t.conflicts.c
        conn.execute(
            sa.update(self.t.conflicts)
            .where(c.job == job, c.local_key == local_key, c.status == "open")
            .values(local_values=dict(local), remote_values=dict(remote))
        )

    def open_conflict_keys(self, job: str) -> set[str]:
        """Keys whose conflict waits for a person: runs leave them alone."""
        c = self.t.conflicts.c
        query = sa.select(c.local_key).where(c.job == job, c.status == "open")
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def resolved_keys(self, job: str) -> set[str]:
        """Keys whose conflict a person resolved since the last run: the next run applies."""
        c = self.t.conflicts.c
        query = sa.select(c.local_key).where(c.job == job, c.status == "resolved")
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def resolve_conflict(
        self, conn: sa.Connection, conflict_id: int, resolution: str, now: dt.datetime
    ) -> None:
        conn.execute(
            sa.update(self.t.conflicts)
            .where(self.t.conflicts.c.id == conflict_id)
            .values(status="resolved", resolution=resolution, resolved_at=now)
        )

    def close_resolved(
        self, conn: sa.Connection, job: str, keys: Sequence[str], now: dt.datetime
    ) -> None:
        """Resolved conflicts whose keys a run has just handled are closed."""
        c = self.t.conflicts.c
        for chunk in _chunks(list(keys)):
            conn.execute(
                sa.update(self.t.conflicts)
                .where(c.job == job, c.status == "resolved", c.local_key.in_(chunk))
                .values(status="closed")
            )

    # -- parked ---------------------------------------------------------------------------

    def park(
        self,
        conn: sa.Connection,
        job: str,
        side: Side,
        local_key: str | None,
        remote_id: str | None,
        payload: Mapping[str, Any],
        error: BaseException,
        now: dt.datetime,
    ) -> None:
        """Park a record, or count one more attempt of the one already parked for it. A
        record a person discarded stays discarded while it is read again unchanged."""
        c = self.t.parked.c
        which = (
            c.local_key == local_key
            if local_key is not None
            else sa.and_(c.local_key.is_(None), c.remote_id == remote_id)
        )
        mine = sa.and_(c.job == job, c.side == side, which)
        discarded = conn.execute(
            sa.select(c.payload).where(mine, c.status == "discarded").order_by(c.id.desc())
        ).first()
        if discarded is not None and discarded.payload == dict(payload):
            return
        same = sa.and_(mine, c.status == "parked")
        found = conn.execute(sa.select(c.id, c.attempts).where(same)).first()
        attempts = (int(found.attempts) + 1) if found else 1
        values = {
            "remote_id": remote_id,
            "payload": dict(payload),
            "error_class": type(error).__name__,
            "reason": str(error),
            "attempts": attempts,
            "next_attempt_at": now + park_delay(attempts),
            "updated_at": now,
        }
        if found:
            conn.execute(sa.update(self.t.parked).where(c.id == found.id).values(values))
            return
        conn.execute(
            sa.insert(self.t.parked).values(
                job=job, side=side, local_key=local_key, status="parked", created_at=now, **values
            )
        )

    def parked(
        self, job: str | None = None, status: str | None = "parked", due: dt.datetime | None = None
    ) -> list[Parked]:
        """Parked records, oldest first; ``due``: only those whose next attempt has come."""
        c = self.t.parked.c
        query = sa.select(self.t.parked).order_by(c.id)
        if job is not None:
            query = query.where(c.job == job)
        if status is not None:
            query = query.where(c.status == status)
        if due is not None:
            query = query.where(c.next_attempt_at <= due)
        with self.engine.connect() as conn:
            return [_parked(r._mapping) for r in conn.execute(query)]

    def set_parked(
        self,
        conn: sa.Connection,
        job: str,
        side: Side,
        local_keys: Iterable[str],
        status: Literal["done", "discarded"],
        now: dt.datetime,
    ) -> None:
        """Close the open parked records of these keys (handled now, or given up)."""
        c = self.t.parked.c
        for chunk in _chunks(list(local_keys)):
            conn.execute(
                sa.update(self.t.parked)
                .where(c.job == job, c.side == side, c.status == "parked")
                .where(c.local_key.in_(chunk))
                .values(status=status, updated_at=now)
            )

    def set_parked_by_id(
        self, ids: Sequence[int], status: Literal["parked", "discarded"], now: dt.datetime
    ) -> int:
        """Discard parked records, or make them due now (retry); returns how many changed."""
        c = self.t.parked.c
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == "parked":
            values["next_attempt_at"] = now
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(self.t.parked)
                .where(c.id.in_(list(ids)), c.status == "parked")
                .values(values)
            )
            return int(result.rowcount)

    # -- helpers --------------------------------------------------------------------------

    def _upsert(
        self,
        conn: sa.Connection,
        table: sa.Table,
        rows: list[dict[str, Any]],
        key: list[str],
        keep: Sequence[str] = (),
    ) -> None:
        if not rows:
            return
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(table)
        changed = {
            name: statement.excluded[name]
            for name in rows[0]
            if name not in key and name not in keep
        }
        upsert = statement.on_conflict_do_update(index_elements=key, set_=changed)
        for chunk in _chunks(rows, 5000):  # one statement, many parameter sets (executemany)
            conn.execute(upsert, chunk)


def _chunks(items: list[Any], size: int = 1000) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _conflict(row: sa.RowMapping) -> Conflict:
    return Conflict(**{k: row[k] for k in Conflict.__dataclass_fields__})


def _parked(row: sa.RowMapping) -> Parked:
    return Parked(**{k: row[k] for k in Parked.__dataclass_fields__})
