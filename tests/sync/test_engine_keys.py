"""A remote record carrying a key another record holds (a copy made in the remote system
copies the key field) is a new record: stored under its own remote id, never taking the other
record's row, run after run."""

from __future__ import annotations

from conveyor.state.sync import SyncStore
from tests.sync.test_engine import World, world

__all__ = ["world"]  # the fixture, shared with test_engine


def test_a_copy_carrying_a_linked_key_is_stored_under_its_own_id(world: World) -> None:
    world.insert_local("7", "Hooli", "1", "open")
    world.sync()
    world.sync()
    [original] = world.remote.all()
    copy = world.remote.create({"Name": "Hooli (copy)", "Revenue": "2", "Ext": "7"})

    report = world.sync()

    assert report.counts["created"] == 1 and report.counts["parked"] == 0, report.counts
    for _ in range(2):
        local = world.local()
        assert local["7"]["name"] == "Hooli"
        assert local[copy]["name"] == "Hooli (copy)"
        world.sync()
    links = SyncStore(world.engine).links("accounts")
    assert links["7"].remote_id == original.id and links[copy].remote_id == copy


def test_two_new_records_carrying_one_new_key_do_not_share_a_row(world: World) -> None:
    first = world.remote.create({"Name": "First", "Revenue": "1", "Ext": "n1"})
    second = world.remote.create({"Name": "Second", "Revenue": "2", "Ext": "n1"})

    report = world.sync()

    assert report.counts["created"] == 2, report.counts
    local = world.local()  # the one read first (the older) takes the key
    assert (local["n1"]["name"], local[second]["name"]) == ("First", "Second")
    assert first not in local
    world.sync()
    assert len(world.local()) == 2
