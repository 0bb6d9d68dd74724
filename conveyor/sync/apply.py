"""Carrying out a batch of steps: remote writes first, then one local transaction.

The remote writes go through the connector with retries (only TransientError is retried; a
row the remote refuses is parked with its reason). A write refused because the remote record
changed since it was read (:class:`~conveyor.errors.StaleRecordError`, an ETag's 412) is no
failure: given the record as it is now, the pair is decided again by the job's conflict policy
and, if the local side still wins, written once more with the new version.

Then the local rows, the links, the conflicts and the parked records of the whole batch
commit together, so a crash leaves no link that disagrees with the table. A remote write
whose link was never committed is found again on the next run: its record carries our key in
the external-id field, and both sides then hold the same values, so it is linked without a
second write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from functools import partial
from typing import Any

import sqlalchemy as sa

from conveyor.connector import Connector, RemoteRecord, WriteRequest, WriteResult
from conveyor.errors import RecordError, StaleRecordError
from conveyor.retry import RetryPolicy, with_retries
from conveyor.state.sync import Link, Side, SyncStore
from conveyor.sync.local import LocalTable
from conveyor.sync.plan import Step, field_flow, plan_pair
from conveyor.sync.spec import SyncJobSpec
from conveyor.sync.values import Codec, values_hash

__all__ = ["BatchApplier"]

SIDES: tuple[Side, ...] = ("local", "remote")


class BatchApplier:
    """Applies batches of steps for one run."""

    def __init__(
        self,
        job: SyncJobSpec,
        connector: Connector,
        table: LocalTable,
        store: SyncStore,
        retry: RetryPolicy,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.job, self.connector, self.table, self.store = job, connector, table, store
        self.codec = Codec(job)
        self.retry, self.clock = retry, clock
        self.entity = job.remote.entity
        self.name = job.name or "sync"
        self.inbound = frozenset(job.fields_for("inbound"))

    def apply(self, steps: Sequence[Step]) -> None:
        writes = [s for s in steps if (s.to_remote or s.create_remote) and not s.park]
        self._intents(writes)
        self._remote_writes(writes)
        self._remote_deletes([s for s in steps if s.delete_remote and not s.park])
        try:
            with self.table.engine.begin() as conn:
                self._local(conn, steps)
        except (sa.exc.SQLAlchemyError, RecordError):
            for step in steps:  # find the rows the database refuses; the others go in
                self._local_alone(step)

    # -- remote ---------------------------------------------------------------------------

    def _intents(self, steps: list[Step]) -> None:
        """Before writing remotely, the links record what the writes will leave (committed
        first): a run after a crash between the write and its commit knows what it sent."""
        intents = []
        for step in steps:
            old, key = step.pair.link, step.local_key
            if key is None or step.agreed is None:
                continue
            agreed = old.agreed if old else {}
            intents.append(
                Link(
                    local_key=key,
                    remote_id=_remote_id(step),
                    agreed=agreed,
                    agreed_hash=values_hash(agreed),
                    local_modified_at=old.local_modified_at if old else None,
                    remote_modified_at=old.remote_modified_at if old else None,
                    last_written=old.last_written if old else None,
                    pending=dict(step.agreed),
                    remote_version=old.remote_version if old else None,
                )
            )
        if intents:
            with self.table.engine.begin() as conn:
                self.store.save_links(conn, self.name, intents, self.clock())

    def _remote_writes(self, steps: list[Step]) -> None:
        stale = self._write_round(steps, last=False)
        for step, current in stale:
            self._decide_again(step, current)
        again = [s for s, _ in stale if (s.to_remote or s.create_remote) and not s.park]
        if again:
            self._intents(again)
            self._write_round(again, last=True)

    def _write_round(self, steps: list[Step], last: bool) -> list[tuple[Step, RemoteRecord]]:
        """Writes ``steps``; the ones refused as stale with the record as it is now (unless
        ``last``) are returned to be decided again, every other refusal is parked."""
        caps = self.connector.capabilities
        size = max(1, caps.batch_size, caps.bulk_batch_size if caps.bulk else 0)
        stale: list[tuple[Step, RemoteRecord]] = []
        for start in range(0, len(steps), size):
            chunk = steps[start : start + size]
            sent = self.codec.outbound([s.to_remote for s in chunk])
            requests = [
                WriteRequest(str(s.local_key), v, _remote_id(s), _version(s))
                for s, v in zip(chunk, sent, strict=True)
            ]
            results = with_retries(partial(self._write, requests), self.retry)
            for step, result in zip(chunk, results, strict=True):
                if isinstance(result.error, StaleRecordError) and result.current and not last:
                    stale.append((step, result.current))
                elif result.error is not None or result.record is None:
                    step.park = ("remote", result.error or RecordError("no record returned"))
                    step.outcome = "parked"
                else:
                    self._took(step, result.record)
        return stale

    def _decide_again(self, step: Step, current: RemoteRecord) -> None:
        """The remote record changed since it was read: the pair is planned again with it, as
        if it had been read this run (a conflict policy decides; ``manual`` opens a conflict).
        The intent saved before the refused write is taken back."""
        pair = step.pair
        pair.remote = current
        pair.remote_values = self.codec.inbound([current.values])[0]
        new = plan_pair(pair, self.job, field_flow(self.job), open_conflict=False)
        for name in (f.name for f in fields(Step)):
            setattr(step, name, getattr(new, name))
        with self.table.engine.begin() as conn:
            self._restore_link(conn, step.pair.link, step.local_key, self.clock())

    def _write(self, requests: list[WriteRequest]) -> list[WriteResult]:
        return self.connector.write(self.entity, requests, self.job.remote.external_id_field)

    def _took(self, step: Step, record: RemoteRecord) -> None:
        """The remote holds ``record`` now: the link agrees with it (echo suppression), and
        a value the remote changed on the way (a trigger, a default) comes back locally. Only
        the fields the record holds count: a connector may answer with just the fields it
        wrote (Salesforce does), and a field it did not mention is unchanged, not null."""
        step.pair.remote = record
        now = self.codec.inbound([record.values])[0]
        if isinstance(now, RecordError) or step.agreed is None:
            return
        local = step.pair.local.values if step.pair.local else {}
        held = set(record.values)
        for name in self.inbound:
            if self.job.fields[name].remote not in held:
                continue
            if name in now and now[name] != step.agreed.get(name):
                step.agreed[name] = now[name]
                if not isinstance(local, RecordError) and local.get(name) != now[name]:
                    step.to_local[name] = now[name]

    def _remote_deletes(self, steps: list[Step]) -> None:
        known = [s for s in steps if _remote_id(s)]
        ids = [str(_remote_id(s)) for s in known]
        if not ids:
            return
        results = with_retries(lambda: self.connector.delete(self.entity, ids), self.retry)
        for step, result in zip(known, results, strict=True):
            if result.error is not None:
                step.park, step.outcome = ("remote", result.error), "parked"

    # -- local ----------------------------------------------------------------------------

    def _local(self, conn: sa.Connection, steps: Sequence[Step]) -> None:
        now = self.clock()
        live = [s for s in steps if s.park is None]
        rows = {str(s.local_key): s.to_local for s in live if (s.to_local or s.create_local)}
        self.table.upsert(conn, rows, now)
        deleted = [str(s.local_key) for s in live if s.delete_local]
        self.table.delete(conn, deleted, now)
        links = [self._link(s, now) for s in live if s.agreed is not None and not s.unlink]
        self.store.save_links(conn, self.name, [link for link in links if link], now)
        self.store.drop_links(conn, self.name, [str(s.local_key) for s in live if s.unlink])
        for step in live:
            self._conflict(conn, step, now)
            if step.refresh is not None and step.local_key is not None:
                local, remote = step.refresh
                self.store.refresh_conflict(conn, self.name, step.local_key, local, remote)
        for step in steps:
            if step.park is not None:
                self._park(conn, step, now)
                self._undo_intent(conn, step, now)
        # a key retried, or written now, has nothing left waiting: its parked entries close
        done = [str(s.local_key) for s in live if s.local_key and (s.pair.retry or _wrote(s))]
        for side in SIDES:
            self.store.set_parked(conn, self.name, side, done, "done", now)
        self.store.close_resolved(conn, self.name, done, now)

    def _undo_intent(self, conn: sa.Connection, step: Step, now: dt.datetime) -> None:
        """A remote write refused: its link goes back to what it was (none, for a create)."""
        if not (step.to_remote or step.create_remote) or step.local_key is None:
            return
        self._restore_link(conn, step.pair.link, step.local_key, now)

    def _restore_link(
        self, conn: sa.Connection, old: Link | None, key: str | None, now: dt.datetime
    ) -> None:
        if key is None:
            return
        if old is None:
            self.store.drop_links(conn, self.name, [key])
        else:
            self.store.save_links(conn, self.name, [replace(old, pending=None)], now)

    def _local_alone(self, step: Step) -> None:
        try:
            with self.table.engine.begin() as conn:
                self._local(conn, [step])
        except (sa.exc.SQLAlchemyError, RecordError) as exc:
            reason = exc if isinstance(exc, RecordError) else RecordError(_db_reason(exc))
            step.park = ("local", reason)
            step.outcome = "parked"
            with self.table.engine.begin() as conn:
                self._park(conn, step, self.clock())

    def _link(self, step: Step, now: dt.datetime) -> Link | None:
        pair = step.pair
        remote_id = pair.remote.id if pair.remote else (pair.link.remote_id if pair.link else None)
        if remote_id is None or step.agreed is None or pair.key is None:
            return None
        wrote_local = bool(step.to_local or step.create_local)
        wrote_remote = bool(step.to_remote or step.create_remote)
        old = pair.link
        return Link(
            local_key=pair.key,
            remote_id=remote_id,
            agreed=step.agreed,
            agreed_hash=values_hash(step.agreed),
            # the row's modification time as this write stamped it: the next run re-reads it
            # (its cursor is older) and finds the version handled ("seen"), not an echo to save
            local_modified_at=(now if self.table.modified else None)
            if wrote_local
            else _moment(pair.local, old, "local"),
            remote_modified_at=None if wrote_remote else _moment(pair.remote, old, "remote"),
            last_written=_written(wrote_local, wrote_remote),
            remote_version=pair.remote.version if pair.remote else _old_version(old),
        )

    def _conflict(self, conn: sa.Connection, step: Step, now: dt.datetime) -> None:
        decision, pair = step.conflict, step.pair
        if decision is None or pair.key is None:
            return
        local = pair.local.values if pair.local else {}
        remote = pair.remote_values if pair.remote else (pair.link.agreed if pair.link else {})
        self.store.add_conflict(
            conn,
            self.name,
            pair.key,
            _remote_id(step) or "",
            pair.link.agreed if pair.link else {},
            _plain(local),
            _plain(remote),
            decision.disputed,
            now,
        )

    def _park(self, conn: sa.Connection, step: Step, now: dt.datetime) -> None:
        assert step.park is not None
        side, error = step.park
        pair = step.pair
        payload = step.to_remote if side == "remote" else step.to_local
        if not payload and pair.remote is not None:
            payload = dict(pair.remote.values)
        remote_id = pair.remote.id if pair.remote else (pair.link.remote_id if pair.link else None)
        self.store.park(conn, self.name, side, pair.key, remote_id, payload, error, now)


def _remote_id(step: Step) -> str | None:
    pair = step.pair
    if pair.link is not None and pair.link.remote_id is not None:
        return pair.link.remote_id
    return pair.remote.id if pair.remote is not None else None


def _old_version(link: Link | None) -> str | None:
    return link.remote_version if link is not None else None


def _version(step: Step) -> str | None:
    """The remote record's version: as read this run, else as the link last saw it."""
    pair = step.pair
    if pair.remote is not None and pair.remote.version is not None:
        return pair.remote.version
    return _old_version(pair.link)


def _moment(read: Any, link: Link | None, side: str) -> dt.datetime | None:
    if read is not None and read.modified_at is not None:
        return read.modified_at  # type: ignore[no-any-return]
    if link is None:
        return None
    return link.local_modified_at if side == "local" else link.remote_modified_at


def _written(local: bool, remote: bool) -> Any:
    if local and remote:
        return "both"
    return "local" if local else ("remote" if remote else None)


def _plain(values: object) -> dict[str, Any]:
    return dict(values) if isinstance(values, dict) else {}


def _db_reason(exc: sa.exc.SQLAlchemyError) -> str:
    """The database's own message, first line only (it never holds the URL)."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return f"the local database refused the row: {text[0] if text else type(exc).__name__}"


def _wrote(step: Step) -> bool:
    return bool(
        step.to_local
        or step.create_local
        or step.to_remote
        or step.create_remote
        or step.delete_local
        or step.delete_remote
    )
