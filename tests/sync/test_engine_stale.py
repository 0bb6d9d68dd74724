"""A remote write refused as stale (the record changed remotely between the run's read and
its write, as an OData ETag's 412 says) is decided again by the job's conflict policy in the
same run: nothing is lost, nothing parked, unless the record keeps changing under the write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from conveyor.connector import WriteRequest, WriteResult
from conveyor.errors import StaleRecordError
from conveyor.retry import RetryPolicy
from conveyor.state.sync import SyncStore
from conveyor.sync.engine import SyncEngine, SyncReport
from conveyor.testing.reference import ReferenceConnector
from tests.sync.test_engine import ENTITY, World, job_spec, world

__all__ = ["world"]  # the fixture, shared with test_engine


class _ChangedUnderTheWrite:
    """The reference connector, with a remote user changing the record just before each of
    the first ``times`` writes reaches it."""

    def __init__(self, inner: ReferenceConnector, change: dict[str, Any], times: int) -> None:
        self.inner, self.change, self.times = inner, change, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(
        self, entity: str, requests: Sequence[WriteRequest], external_id_field: str
    ) -> list[WriteResult]:
        if self.times > 0:
            self.times -= 1
            for request in requests:
                if request.remote_id is not None:
                    self.inner.store(entity).update(request.remote_id, self.change)
        return self.inner.write(entity, requests, external_id_field)


def _linked(world: World) -> str:
    world.insert_local("1", "Acme", "10", "open")
    world.sync()
    world.sync()  # the echo
    return next(r.id for r in world.remote.all())


def _run(world: World, change: dict[str, Any], times: int = 1, **job: Any) -> SyncReport:
    connector = _ChangedUnderTheWrite(world.connector, change, times)
    engine = SyncEngine(
        job_spec(**job) if job else world.job,
        connector,  # type: ignore[arg-type]
        world.engine,
        retry=RetryPolicy(initial=0),
    )
    report = engine.run()
    assert report.status == "succeeded", report.error
    return report


def test_the_reference_remote_refuses_an_update_sent_with_an_old_version(world: World) -> None:
    rid = _linked(world)
    old = world.remote.get(rid)
    assert old is not None and old.version
    world.remote.update(rid, {"Status": "moved"})
    [result] = world.connector.write(
        ENTITY, [WriteRequest("1", {"Status": "mine"}, rid, old.version)], "Ext"
    )
    assert isinstance(result.error, StaleRecordError)
    assert result.current is not None and result.current.values["Status"] == "moved"


def test_a_change_to_another_field_under_the_write_is_merged_in_the_same_run(
    world: World,
) -> None:
    rid = _linked(world)
    world.update_local("1", status="local-edit")
    merge = {"policy": "field_merge", "fallback": "manual"}
    report = _run(world, {"Name": "Acme (renamed remotely)"}, conflict=merge)
    assert report.counts["updated"] == 1 and report.counts["parked"] == 0, report.counts
    both = {"name": "Acme (renamed remotely)", "revenue": "10", "status": "local-edit"}
    assert world.local()["1"] == both and world.remotes()["1"] == both
    assert world.remote.get(rid) is not None
    follow = world.sync(conflict=merge)
    assert follow.counts["updated"] == follow.counts["conflicted"] == 0, follow.counts


@pytest.mark.parametrize(
    ("policy", "local", "remote", "conflicts"),
    [
        ("manual", "local-edit", "remote-edit", 1),
        ("source_wins", "remote-edit", "remote-edit", 0),
        ("target_wins", "local-edit", "local-edit", 0),
    ],
)
def test_the_same_field_changed_under_the_write_is_decided_by_the_policy(
    world: World, policy: str, local: str, remote: str, conflicts: int
) -> None:
    _linked(world)
    world.update_local("1", status="local-edit")
    report = _run(world, {"Status": "remote-edit"}, conflict={"policy": policy})
    assert report.counts["parked"] == 0, report.counts
    assert report.counts["conflicted"] == conflicts, report.counts
    assert world.local()["1"]["status"] == local
    assert world.remotes()["1"]["status"] == remote
    store = SyncStore(world.engine)
    assert len(store.conflicts("accounts")) == conflicts
    assert store.parked("accounts") == []
    if conflicts:
        [conflict] = store.conflicts("accounts")
        assert conflict.remote_values["status"] == "remote-edit"
        assert conflict.local_values["status"] == "local-edit"
        [link] = [v for k, v in store.links("accounts").items() if k == "1"]
        assert link.pending is None, "the refused write's intent is taken back"


def test_a_record_that_keeps_changing_under_the_write_is_parked_with_the_reason(
    world: World,
) -> None:
    _linked(world)
    world.update_local("1", status="local-edit")
    report = _run(world, {"Name": "busy"}, times=2, conflict={"policy": "target_wins"})
    assert report.counts["parked"] == 1, report.counts
    [parked] = SyncStore(world.engine).parked("accounts")
    assert "changed since it was read" in parked.reason
    world.sync(conflict={"policy": "target_wins"})  # tried again, with the version it reads
    mine = {"name": "Acme", "revenue": "10", "status": "local-edit"}
    assert world.local()["1"] == mine and world.remotes()["1"] == mine
    assert SyncStore(world.engine).parked("accounts") == []
