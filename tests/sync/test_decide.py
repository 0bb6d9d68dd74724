"""The per-record rules of a sync: one side changed, both changed, each policy, one-way fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor.sync.decide import Decision, FieldFlow, decide
from conveyor.sync.spec import ConflictPolicy, FallbackPolicy

BOTH = FieldFlow(inbound=frozenset("abc"), outbound=frozenset("abc"))
BASE = {"a": 1, "b": 2, "c": 3}
EARLY = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LATE = EARLY + dt.timedelta(minutes=1)


def run(
    local: dict[str, Any],
    remote: dict[str, Any],
    policy: ConflictPolicy = "manual",
    fallback: FallbackPolicy = "manual",
    base: dict[str, Any] | None = BASE,
    flow: FieldFlow = BOTH,
    local_modified: dt.datetime | None = None,
    remote_modified: dt.datetime | None = None,
) -> Decision:
    return decide(base, local, remote, flow, policy, fallback, local_modified, remote_modified)


def test_nothing_changed_writes_nothing() -> None:
    d = run(dict(BASE), dict(BASE))
    assert not d.writes and not d.conflict and d.agreed == BASE


def test_a_local_change_goes_to_the_remote_only() -> None:
    d = run({**BASE, "a": 9}, dict(BASE))
    assert d.to_remote == {"a": 9} and d.to_local == {}
    assert d.agreed == {**BASE, "a": 9}


def test_a_remote_change_comes_in_only() -> None:
    d = run(dict(BASE), {**BASE, "b": 7})
    assert d.to_local == {"b": 7} and d.to_remote == {}


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    d = run({**BASE, "a": 5}, {**BASE, "a": 5})
    assert not d.writes and not d.conflict and d.agreed["a"] == 5


@pytest.mark.parametrize(
    ("policy", "local_mod", "remote_mod", "expected"),
    [
        ("source_wins", None, None, {"a": 8, "b": 2, "c": 3}),
        ("target_wins", None, None, {"a": 5, "b": 6, "c": 3}),
        ("newest_wins", LATE, EARLY, {"a": 5, "b": 6, "c": 3}),
        ("newest_wins", EARLY, LATE, {"a": 8, "b": 2, "c": 3}),
        ("newest_wins", EARLY, EARLY, {"a": 8, "b": 2, "c": 3}),  # a tie: the source
    ],
)
def test_whole_record_policies(
    policy: ConflictPolicy,
    local_mod: dt.datetime | None,
    remote_mod: dt.datetime | None,
    expected: dict[str, int],
) -> None:
    # local changed a and b, remote changed a: the winner's record is taken whole
    d = run(
        {**BASE, "a": 5, "b": 6},
        {**BASE, "a": 8},
        policy,
        "manual",
        local_modified=local_mod,
        remote_modified=remote_mod,
    )
    assert d.agreed == expected
    assert d.disputed == ("a", "b")


def test_manual_queues_a_conflict_and_writes_nothing() -> None:
    d = run({**BASE, "a": 5}, {**BASE, "a": 8}, "manual")
    assert d.conflict and not d.writes and d.disputed == ("a",)
    assert d.agreed == BASE


def test_manual_with_changes_to_different_fields_is_a_conflict_too() -> None:
    d = run({**BASE, "a": 5}, {**BASE, "b": 8}, "manual")
    assert d.conflict and d.disputed == ("a", "b")


def test_field_merge_merges_one_sided_changes_and_falls_back_on_disputes() -> None:
    local = {**BASE, "a": 5, "c": 30}
    remote = {**BASE, "b": 6, "c": 31}
    d = run(local, remote, "field_merge", "target_wins")
    assert d.agreed == {"a": 5, "b": 6, "c": 30}
    assert d.to_remote == {"a": 5, "c": 30} and d.to_local == {"b": 6}
    assert d.disputed == ("c",)
    d = run(local, remote, "field_merge", "manual")
    assert d.conflict and d.disputed == ("c",)
    d = run({**BASE, "a": 5}, {**BASE, "b": 6}, "field_merge", "manual")
    assert not d.conflict and d.agreed == {"a": 5, "b": 6, "c": 3}


def test_one_way_fields_follow_their_source() -> None:
    flow = FieldFlow(inbound=frozenset("ab"), outbound=frozenset("ac"))
    # b is inbound only: a local edit is overwritten; c outbound only: a remote edit too
    d = run({**BASE, "b": 20}, {**BASE, "c": 30}, "manual", flow=flow)
    assert not d.conflict
    assert d.to_local == {"b": 2} and d.to_remote == {"c": 3}


def test_a_first_link_without_base_treats_every_difference_as_disputed() -> None:
    d = run({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5, "c": 3}, "target_wins", base=None)
    assert d.disputed == ("b",) and d.to_remote == {"b": 2}
    d = run(dict(BASE), dict(BASE), "manual", base=None)
    assert not d.conflict and not d.writes and d.agreed == BASE


values = st.fixed_dictionaries({k: st.integers(0, 3) for k in "abc"})
policies = st.sampled_from(["source_wins", "target_wins", "newest_wins", "field_merge", "manual"])
fallbacks = st.sampled_from(["source_wins", "target_wins", "newest_wins", "manual"])


@given(values, values, values, policies, fallbacks)
def test_after_the_writes_both_sides_hold_the_agreed_values(
    base: dict[str, int],
    local: dict[str, int],
    remote: dict[str, int],
    policy: ConflictPolicy,
    fallback: FallbackPolicy,
) -> None:
    d = decide(base, local, remote, BOTH, policy, fallback, EARLY, LATE)
    if d.conflict:
        assert not d.writes and d.disputed
        assert policy == "manual" or (policy == "field_merge" and fallback == "manual")
        return
    assert {**local, **d.to_local} == d.agreed == {**remote, **d.to_remote}
    # a change made on one side only is never lost
    for f in "abc":
        if local[f] != base[f] and remote[f] == base[f]:
            assert d.agreed[f] == local[f] or policy in ("source_wins", "newest_wins")
        if remote[f] != base[f] and local[f] == base[f]:
            assert d.agreed[f] == remote[f] or policy in ("target_wins",)
    # the decision is stable: deciding again from the agreed state writes nothing
    again = decide(d.agreed, d.agreed, d.agreed, BOTH, policy, fallback)
    assert not again.writes and not again.conflict
