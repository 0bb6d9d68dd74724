"""The sync engine end to end on both dialects, against the reference connector."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from conveyor.errors import TransientError
from conveyor.load.urls import create_engine, parse_url
from conveyor.retry import RetryPolicy
from conveyor.state.sync import SyncStore
from conveyor.sync.engine import SyncEngine, SyncReport
from conveyor.sync.resolve import resolve_conflict
from conveyor.sync.spec import SyncJobSpec
from conveyor.testing.reference import ReferenceConnector, ReferenceStore, from_settings

ENTITY = "account"
FIELDS = {"Name": "string", "Revenue": "decimal", "Status": "string", "Ext": "string"}


def job_spec(**changes: Any) -> SyncJobSpec:
    data: dict[str, Any] = {
        "name": "accounts",
        "local": {"table": "accounts", "key": "id", "modified_column": "updated_at"},
        "remote": {
            "connector": "reference",
            "connection": "ref",
            "entity": ENTITY,
            "external_id_field": "Ext",
        },
        "fields": {
            "name": {"remote": "Name"},
            "revenue": {"remote": "Revenue", "type": "decimal"},
            "status": {"remote": "Status"},
        },
        "conflict": {"policy": "manual"},
        "deletes": {"policy": "propagate"},
    }
    for key, value in changes.items():
        data[key] = value
    return SyncJobSpec.model_validate(data)


@dataclass
class World:
    url: str
    engine: sa.Engine
    connector: ReferenceConnector
    job: SyncJobSpec

    @property
    def remote(self) -> ReferenceStore:
        return self.connector.store(ENTITY)

    def sync(self, dry_run: bool = False, **changes: Any) -> SyncReport:
        job = job_spec(**changes) if changes else self.job
        engine = SyncEngine(job, self.connector, self.engine, retry=RetryPolicy(initial=0))
        report = engine.run(dry_run=dry_run)
        assert report.status != "failed", report.error
        return report

    def local(self) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, name, revenue, status FROM accounts"))
            return {
                str(r.id): {"name": r.name, "revenue": _dec(r.revenue), "status": r.status}
                for r in rows
            }

    def insert_local(self, key: str, name: str, revenue: str = "1", status: str = "new") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (id, name, revenue, status, updated_at) "
                    "VALUES (:id, :name, :revenue, :status, :now)"
                ),
                {"id": key, "name": name, "revenue": revenue, "status": status, "now": _now()},
            )

    def update_local(self, key: str, **values: Any) -> None:
        sets = ", ".join(f"{name} = :{name}" for name in values)
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(f"UPDATE accounts SET {sets}, updated_at = :now WHERE id = :id"),  # noqa: S608  (test's own column names)
                {**values, "id": key, "now": _now()},
            )

    def remotes(self) -> dict[str, dict[str, Any]]:
        """Live remote records by our key (Ext)."""
        return {
            str(r.values.get("Ext")): {
                "name": r.values.get("Name"),
                "revenue": _dec(r.values.get("Revenue")),
                "status": r.values.get("Status"),
            }
            for r in self.remote.all()
            if not r.deleted
        }


def _dec(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _now() -> str | dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    connector = from_settings(
        {"url": db_url, "entities": {ENTITY: {"fields": FIELDS, "external_id_field": "Ext"}}}
    )
    engine = create_engine(parse_url(db_url))
    job = job_spec()
    # the local table exists before the first run, as an application would have it
    SyncEngine(job, connector, engine).table.ensure()
    yield World(db_url, engine, connector, job)
    connector.close()
    engine.dispose()


def test_local_rows_are_created_remotely_once_and_come_back_as_echo(world: World) -> None:
    world.insert_local("1", "Acme", "10.50")
    world.insert_local("2", "Globex", "7")
    first = world.sync()
    assert first.counts["created"] == 2 and first.records == 2
    assert world.remotes() == {
        "1": {"name": "Acme", "revenue": "10.5", "status": "new"},
        "2": {"name": "Globex", "revenue": "7", "status": "new"},
    }
    second = world.sync()
    assert second.counts["echo"] == 2, second.counts
    assert second.counts["created"] == second.counts["updated"] == 0
    third = world.sync()
    assert third.records == 0, third.counts
    assert third.remote_calls <= 2, "an idle run makes at most describe + one read"
    assert len(world.remote.all()) == 2


def test_remote_records_come_in_and_changes_flow_both_ways(world: World) -> None:
    rid = world.remote.create({"Name": "Initech", "Revenue": "3.25", "Status": "open"})
    world.sync()
    assert world.local() == {rid: {"name": "Initech", "revenue": "3.25", "status": "open"}}
    world.sync()  # the echo of our local insert
    world.remote.update(rid, {"Status": "won"})
    report = world.sync()
    assert report.counts["updated"] == 1
    assert world.local()[rid]["status"] == "won"
    world.update_local(rid, name="Initech Ltd")
    report = world.sync()
    assert report.counts["updated"] == 1
    assert world.remote.get(rid).values["Name"] == "Initech Ltd"  # type: ignore[union-attr]


def test_changes_on_both_sides_under_manual_wait_in_conflicts_and_resolve(world: World) -> None:
    world.insert_local("7", "Hooli", "1")
    world.sync()
    world.sync()
    rid = next(r.id for r in world.remote.all())
    world.update_local("7", status="local-edit")
    world.remote.update(rid, {"Status": "remote-edit"})
    report = world.sync()
    assert report.counts["conflicted"] == 1 and report.counts["updated"] == 0
    store = SyncStore(world.engine)
    [conflict] = store.conflicts("accounts")
    assert conflict.fields == ["status"]
    assert conflict.local_values["status"] == "local-edit"
    assert conflict.remote_values["status"] == "remote-edit"
    assert world.sync().counts["conflicted"] <= 1  # still waiting, nothing written
    assert world.remote.get(rid).values["Status"] == "remote-edit"  # type: ignore[union-attr]
    resolve_conflict(world.engine, world.job, conflict.id, "local")
    report = world.sync()
    assert world.remote.get(rid).values["Status"] == "local-edit"  # type: ignore[union-attr]
    assert store.conflicts("accounts") == []
    assert [c.status for c in store.conflicts("accounts", status=None)] == ["closed"]


def test_field_merge_merges_and_falls_back(world: World) -> None:
    job: dict[str, Any] = {"conflict": {"policy": "field_merge", "fallback": "target_wins"}}
    world.insert_local("1", "A", "1", "s")
    world.sync(**job)
    world.sync(**job)
    rid = next(r.id for r in world.remote.all())
    world.update_local("1", name="A-local", status="s-local")
    world.remote.update(rid, {"Revenue": "99", "Status": "s-remote"})
    report = world.sync(**job)
    assert report.counts["updated"] == 1 and report.counts["conflicted"] == 0
    merged = {"name": "A-local", "revenue": "99", "status": "s-local"}
    assert world.local()["1"] == merged
    assert world.remotes()["1"] == merged


def test_deletes_propagate_both_ways(world: World) -> None:
    world.insert_local("1", "A")
    world.insert_local("2", "B")
    world.sync()
    world.sync()
    by_key = {str(r.values["Ext"]): r.id for r in world.remote.all()}
    world.remote.remove(by_key["1"])
    with world.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM accounts WHERE id = '2'"))
    report = world.sync()
    assert report.counts["deleted"] == 2, report.counts
    assert world.local() == {}
    assert world.remotes() == {}
    assert SyncStore(world.engine).links("accounts") == {}


def test_soft_deletes_mark_the_column_and_leave_the_row(world: World) -> None:
    changes: dict[str, Any] = {"deletes": {"policy": "soft", "column": "deleted_at"}}
    stamp = "TEXT" if world.engine.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
    with world.engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE accounts ADD COLUMN deleted_at {stamp}"))
    world.insert_local("1", "A")
    world.sync(**changes)
    rid = next(r.id for r in world.remote.all())
    world.remote.remove(rid)
    report = world.sync(**changes)
    assert report.counts["deleted"] == 1
    with world.engine.connect() as conn:
        marked = conn.execute(sa.text("SELECT deleted_at FROM accounts")).scalar_one()
    assert marked is not None
    assert world.sync(**changes).counts["created"] == 0, "a soft-deleted row is not re-created"


def test_a_natural_key_links_existing_records_on_the_first_run(world: World) -> None:
    world.remote.create({"Name": "Acme", "Revenue": "5", "Status": "new"})
    world.insert_local("1", "Acme", "5")
    report = world.sync(natural_key=["name"])
    assert report.counts["created"] == 0, report.counts
    assert len(world.remote.all()) == 1 and list(world.local()) == ["1"]
    assert list(SyncStore(world.engine).links("accounts")) == ["1"]


def test_a_remote_create_whose_link_was_lost_is_adopted_not_duplicated(world: World) -> None:
    world.insert_local("1", "Acme", "5")
    # a crash after the remote create and before the link commit leaves just the record
    world.remote.create({"Name": "Acme", "Revenue": "5", "Status": "new", "Ext": "1"})
    report = world.sync()
    assert report.counts["created"] == 0, report.counts
    assert len(world.remote.all()) == 1
    assert SyncStore(world.engine).links("accounts")["1"].remote_id == world.remote.all()[0].id


def test_a_refused_record_is_parked_and_does_not_block_the_others(world: World) -> None:
    world.connector.faults.reject_when(lambda v: v.get("Name") == "Bad", "Name is on a blocklist")
    world.insert_local("1", "Good")
    world.insert_local("2", "Bad")
    report = world.sync()
    assert report.counts["created"] == 1 and report.counts["parked"] == 1
    [parked] = SyncStore(world.engine).parked("accounts")
    assert parked.local_key == "2" and "blocklist" in parked.reason and parked.side == "remote"
    world.connector.faults.clear()
    store = SyncStore(world.engine)
    store.set_parked_by_id([parked.id], "parked", dt.datetime.now(dt.UTC))  # retry now
    report = world.sync()
    assert set(world.remotes()) == {"1", "2"}
    assert store.parked("accounts") == []


def test_transient_failures_are_retried_within_the_run(world: World) -> None:
    world.insert_local("1", "A")
    world.connector.faults.fail_next("write", TransientError("busy", retry_after=0), times=2)
    report = world.sync()
    assert report.counts["created"] == 1
    assert set(world.remotes()) == {"1"}


def test_a_permanent_failure_mid_run_leaves_the_cursors_and_the_rerun_finishes(
    world: World,
) -> None:
    world.insert_local("1", "A")
    world.connector.faults.fail_next("write", TransientError("down"), times=10)
    engine = SyncEngine(
        world.job, world.connector, world.engine, retry=RetryPolicy(attempts=2, initial=0)
    )
    failed = engine.run()
    assert failed.status == "failed" and failed.retryable
    assert SyncStore(world.engine).cursor("accounts", "local").position is None
    world.connector.faults.clear()
    assert world.sync().counts["created"] == 1


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(world: World) -> None:
    world.insert_local("1", "A")
    report = world.sync(dry_run=True)
    assert report.status == "dry_run"
    assert [c["outcome"] for c in report.changes] == ["created"]
    assert report.changes[0]["create_remote"] is True
    assert world.remote.all() == []
    assert not sa.inspect(world.engine).has_table("conveyor_sync_links"), "no control tables"


def test_unreadable_remote_values_are_parked_with_the_field_named(world: World) -> None:
    fields = {n: f.model_dump() for n, f in world.job.fields.items()}
    fields["status"] = {"remote": "Status", "type": "integer"}
    bad = job_spec(fields=fields)
    world.remote.create({"Name": "X", "Revenue": "1", "Status": "not a number"})
    world.remote.create({"Name": "Y", "Revenue": "2", "Status": "3"})
    report = SyncEngine(bad, world.connector, world.engine).run()
    assert report.counts["parked"] == 1 and report.counts["created"] == 1
    [parked] = SyncStore(world.engine).parked("accounts")
    assert parked.side == "local"
    assert parked.reason == "field status: 'not a number' is not a whole number"


def test_rows_written_after_a_run_are_read_whatever_form_their_time_has(world: World) -> None:
    world.insert_local("1", "A")
    world.sync()
    world.sync()
    # an application writing "2026-01-02 03:04:05" (not our ISO form) after the last run
    world.insert_local("2", "B")
    report = world.sync()
    assert report.counts["created"] == 1, report.counts
    assert set(world.remotes()) == {"1", "2"}


def test_a_remote_filter_on_a_connector_that_cannot_filter_is_refused(world: World) -> None:
    remote = {**world.job.remote.model_dump(), "filter": "Status = 'open'"}
    report = SyncEngine(job_spec(remote=remote), world.connector, world.engine).run()
    assert report.status == "failed"
    assert "cannot filter its reads: remove remote.filter" in (report.error or "")


def test_deletes_found_by_a_key_scan(db_url: str) -> None:
    connector = from_settings(
        {
            "url": db_url,
            "entities": {ENTITY: {"fields": FIELDS, "external_id_field": "Ext"}},
            "delete_detection": "key_scan",
        }
    )
    engine = create_engine(parse_url(db_url))
    job = job_spec(deletes={"policy": "propagate", "key_scan_every": 2})
    world = World(db_url, engine, connector, job)
    SyncEngine(job, connector, engine).table.ensure()
    try:
        world.insert_local("1", "A")
        world.insert_local("2", "B")
        world.sync()
        world.sync()
        gone = next(r.id for r in world.remote.all() if r.values["Ext"] == "1")
        world.remote.remove(gone)  # vanishes: no tombstone to read
        first = world.sync()
        second = world.sync()
        assert first.counts["deleted"] + second.counts["deleted"] == 1
        assert list(world.local()) == ["2"]
        before = connector.calls
        world.sync()
        assert connector.calls - before <= 2, "a key scan runs every second run only"
    finally:
        connector.close()
        engine.dispose()


def test_an_open_conflict_keeps_the_latest_values_and_take_remote_applies_them(
    world: World,
) -> None:
    world.insert_local("7", "Hooli", "1")
    world.sync()
    world.sync()
    rid = next(r.id for r in world.remote.all())
    world.update_local("7", status="local-edit")
    world.remote.update(rid, {"Status": "remote-1"})
    assert world.sync().counts["conflicted"] == 1
    world.remote.update(rid, {"Status": "remote-2"})  # changed again while it waits
    world.sync()
    store = SyncStore(world.engine)
    [conflict] = store.conflicts("accounts")
    assert conflict.remote_values["status"] == "remote-2"
    resolve_conflict(world.engine, world.job, conflict.id, "remote")
    world.sync()
    assert world.local()["7"]["status"] == "remote-2"
    assert world.remotes()["7"]["status"] == "remote-2"
    assert store.conflicts("accounts") == []


class _AnswersWithWrittenFields:
    """The reference connector, answering writes as Salesforce does: with the fields written
    only (the contract allows it: a field not in the answer is unchanged)."""

    def __init__(self, inner: ReferenceConnector) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, entity: str, requests: Any, external_id_field: str) -> list[Any]:
        results = self.inner.write(entity, requests, external_id_field)
        return [_only_sent(res, req) for res, req in zip(results, requests, strict=True)]


def _only_sent(result: Any, request: Any) -> Any:
    if result.record is None:
        return result
    values = {k: v for k, v in result.record.values.items() if k in request.values}
    return dataclasses.replace(result, record=dataclasses.replace(result.record, values=values))


def test_a_write_answered_with_only_the_fields_written_loses_no_local_value(
    world: World,
) -> None:
    world.insert_local("1", "Acme", "10.50", "open")
    world.sync()
    world.update_local("1", name="Acme Corp")  # one field changed: only it is sent
    engine = SyncEngine(
        world.job,
        _AnswersWithWrittenFields(world.connector),  # type: ignore[arg-type]
        world.engine,
        retry=RetryPolicy(initial=0),
    )
    report = engine.run()
    assert report.counts["updated"] == 1, report.counts
    expected = {"name": "Acme Corp", "revenue": "10.5", "status": "open"}
    assert world.local()["1"] == expected
    assert world.remotes()["1"] == expected
