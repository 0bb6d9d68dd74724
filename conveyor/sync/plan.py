"""From a pair to a step: what to write on each side, what to park, what to count.

:func:`plan_pair` turns one :class:`~conveyor.sync.pairs.Pair` into a :class:`Step` using the
job's direction, conflict policy and delete policy. It reads nothing and writes nothing; the
engine applies the steps batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from conveyor.errors import RecordError
from conveyor.state.sync import Side
from conveyor.sync.decide import Decision, FieldFlow, decide
from conveyor.sync.pairs import Pair
from conveyor.sync.spec import SyncJobSpec

__all__ = ["OUTCOMES", "Outcome", "Step", "field_flow", "plan_pair"]

Outcome = Literal[
    "created", "updated", "unchanged", "echo", "conflicted", "parked", "deleted", "seen"
]
#: The outcomes a record read can have; "seen" (a version already handled, read again in the
#: overlap window) is counted apart.
OUTCOMES: tuple[Outcome, ...] = (
    "created",
    "updated",
    "unchanged",
    "echo",
    "conflicted",
    "parked",
    "deleted",
)


@dataclass
class Step:
    pair: Pair
    outcome: Outcome
    agreed: dict[str, Any] | None = None  # the link's values afterwards (None: no link)
    to_local: dict[str, Any] = field(default_factory=dict)
    to_remote: dict[str, Any] = field(default_factory=dict)
    create_local: bool = False
    create_remote: bool = False
    delete_local: bool = False
    delete_remote: bool = False
    unlink: bool = False
    conflict: Decision | None = None
    park: tuple[Side, RecordError] | None = None
    touch_link: bool = False  # no data change, but the link records the versions just read
    refresh: tuple[dict[str, Any], dict[str, Any]] | None = None  # an open conflict's new sides

    @property
    def local_key(self) -> str | None:
        return self.pair.key


def field_flow(job: SyncJobSpec) -> FieldFlow:
    return FieldFlow(
        inbound=frozenset(job.fields_for("inbound")),
        outbound=frozenset(job.fields_for("outbound")),
    )


def plan_pair(pair: Pair, job: SyncJobSpec, flow: FieldFlow, open_conflict: bool) -> Step:
    """The step for one pair (see the module docstring)."""
    if pair.local_deleted or pair.remote_deleted:
        return _deleted(pair, job)
    local = pair.local.values if pair.local else None
    remote = pair.remote_values if pair.remote else _unread_remote(pair)
    if isinstance(local, RecordError):
        return Step(pair, "parked", park=("remote", local))
    if isinstance(remote, RecordError):
        return Step(pair, "parked", park=("local", remote))
    if local is None and remote is None:
        return Step(pair, "unchanged")
    if remote is None:
        return _new_local(pair, local or {}, flow)
    if local is None:
        return _new_remote(pair, remote, flow, job)
    if open_conflict:  # still waiting for a person: it sees the latest values of each side
        return Step(pair, "conflicted", refresh=(dict(local), dict(remote)))
    return _linked(pair, local, remote, job, flow)


def _unread_remote(pair: Pair) -> dict[str, Any] | None:
    """A linked record not read this run has not changed remotely since the last agreement
    (every change since the cursor was read); one whose create is in flight is not there."""
    link = pair.link
    if link is None or link.remote_id is None:
        return None
    return link.agreed


def _base(pair: Pair, remote: dict[str, Any], flow: FieldFlow) -> dict[str, Any] | None:
    """The values both sides last agreed on. A write that was in flight when a run stopped
    counts as agreed when the remote holds what it sent (it landed; the link just missed it)."""
    link = pair.link
    if link is None:
        return None
    if link.pending is not None and all(
        remote.get(f) == link.pending.get(f) for f in flow.outbound
    ):
        return link.pending
    return link.agreed if link.remote_id is not None else None


def _linked(
    pair: Pair, local: dict[str, Any], remote: dict[str, Any], job: SyncJobSpec, flow: FieldFlow
) -> Step:
    link = pair.link
    base = _base(pair, remote, flow)
    decision = decide(
        base,
        local,
        remote,
        flow,
        job.conflict.policy,
        job.conflict.fallback,
        pair.local.modified_at if pair.local else None,
        pair.remote.modified_at if pair.remote else None,
    )
    if decision.conflict:
        return Step(pair, "conflicted", conflict=decision)
    if decision.writes:
        return Step(
            pair,
            "updated",
            agreed=decision.agreed,
            to_local=decision.to_local,
            to_remote=decision.to_remote,
        )
    if link is None or decision.agreed != link.agreed or link.pending is not None:
        return Step(pair, "unchanged", agreed=decision.agreed, touch_link=True)
    if _seen(pair):
        return Step(pair, "seen")
    return Step(pair, _echo_or_unchanged(pair), agreed=decision.agreed, touch_link=True)


def _seen(pair: Pair) -> bool:
    """Every side read this run is a version the link already handled."""
    link = pair.link
    if link is None:
        return False
    local_seen = pair.local is None or (
        pair.local.modified_at is not None and pair.local.modified_at == link.local_modified_at
    )
    remote_seen = pair.remote is None or (
        pair.remote.modified_at is not None and pair.remote.modified_at == link.remote_modified_at
    )
    return local_seen and remote_seen and not pair.retry


def _echo_or_unchanged(pair: Pair) -> Outcome:
    written = pair.link.last_written if pair.link else None
    if written in ("remote", "both") and pair.remote is not None:
        return "echo"
    if written in ("local", "both") and pair.local is not None:
        return "echo"
    return "unchanged"


def _new_local(pair: Pair, local: dict[str, Any], flow: FieldFlow) -> Step:
    if not flow.outbound:
        return Step(pair, "unchanged")
    values = {f: local.get(f) for f in flow.fields}
    sent = {f: v for f, v in values.items() if f in flow.outbound}
    return Step(pair, "created", agreed=values, to_remote=sent, create_remote=True)


def _new_remote(pair: Pair, remote: dict[str, Any], flow: FieldFlow, job: SyncJobSpec) -> Step:
    if not flow.inbound or pair.remote is None:
        return Step(pair, "unchanged")
    ours = pair.remote.values.get(job.remote.external_id_field)
    pair.key = str(ours) if ours not in (None, "") and not pair.claimed else pair.remote.id
    values = {f: remote.get(f) for f in flow.fields}
    taken = {f: v for f, v in values.items() if f in flow.inbound}
    return Step(pair, "created", agreed=values, to_local=taken, create_local=True)


def _deleted(pair: Pair, job: SyncJobSpec) -> Step:
    """A side deleted a linked record: follow the delete policy, then unlink."""
    if pair.link is None:  # a tombstone of a record never linked
        return Step(pair, "unchanged")
    policy = job.deletes.policy
    step = Step(pair, "deleted", unlink=True)
    if pair.local_deleted and pair.remote_deleted:
        return step
    if pair.remote_deleted and policy in ("propagate", "soft"):
        step.delete_local = job.direction != "outbound"
    if pair.local_deleted and policy == "propagate":
        step.delete_remote = job.direction != "inbound"
    return step
