"""A run's own local writes are read again by the next run (its local cursor is older than
them): the link keeps the time each write stamped on its row, so they are versions already
handled (``seen``), with nothing saved again."""

from __future__ import annotations

from conveyor.state.sync import SyncStore
from tests.sync.test_engine import World, world

__all__ = ["world"]  # the fixture, shared with test_engine


def test_rows_written_locally_come_back_seen_not_as_echo(world: World) -> None:
    for n in range(3):
        world.remote.create({"Name": f"Remote {n}", "Revenue": str(n), "Ext": f"r{n}"})
    first = world.sync()
    assert first.counts["created"] == 3, first.counts
    links = SyncStore(world.engine).links("accounts")
    assert all(link.local_modified_at is not None for link in links.values())

    again = world.sync()

    assert again.counts["read_local"] == 3, again.counts
    assert again.counts["seen"] == 3 and again.counts["echo"] == 0, again.counts
    assert SyncStore(world.engine).links("accounts") == links, "nothing saved again"
    world.update_local("r1", name="Changed locally")
    changed = world.sync()
    assert changed.counts["updated"] == 1, changed.counts
    assert world.remotes()["r1"]["name"] == "Changed locally"
