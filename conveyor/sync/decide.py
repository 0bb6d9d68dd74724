"""What to do with one linked record pair: the sync engine's rules, as one pure function.

Inputs are the values both sides last agreed on (the base), the local values and the remote
values, all canonical (:mod:`conveyor.sync.values`) and keyed by the job's local field names.
A side has changed a field when its value differs from the base. The remote system is the
*source* and the local database the *target* (so ``source_wins`` means the remote wins).

- Fields that flow one way only follow their source: an inbound-only field always takes the
  remote value, an outbound-only field the local one.
- Changed on one side only: the change is copied to the other side.
- Changed on both, to the same values: nothing to write; the base catches up.
- Changed on both, differently (or no base yet, on a first link): the policy decides.
  ``field_merge`` merges the fields changed on one side only and applies its fallback to the
  fields in dispute; the other policies decide for the whole record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from conveyor.sync.spec import ConflictPolicy, FallbackPolicy

__all__ = ["Decision", "FieldFlow", "Values", "decide"]

Values = Mapping[str, Any]
Winner = Literal["local", "remote", "manual"]


@dataclass(frozen=True)
class FieldFlow:
    """Which of the job's fields flow inbound (remote to local) and outbound."""

    inbound: frozenset[str]
    outbound: frozenset[str]

    @property
    def fields(self) -> frozenset[str]:
        return self.inbound | self.outbound


@dataclass(frozen=True)
class Decision:
    """The values both sides should hold, and what must be written to get there."""

    agreed: dict[str, Any]  # what both sides hold once the writes are done
    to_local: dict[str, Any] = field(default_factory=dict)  # fields to write locally
    to_remote: dict[str, Any] = field(default_factory=dict)  # fields to send to the remote
    disputed: tuple[str, ...] = ()  # fields changed on both sides
    conflict: bool = False  # manual: nothing is written; a conflict row waits for a person

    @property
    def writes(self) -> bool:
        return bool(self.to_local or self.to_remote)


def decide(
    base: Values | None,
    local: Values,
    remote: Values,
    flow: FieldFlow,
    policy: ConflictPolicy,
    fallback: FallbackPolicy = "manual",
    local_modified: dt.datetime | None = None,
    remote_modified: dt.datetime | None = None,
) -> Decision:
    """The decision for one pair (see the module docstring for the rules)."""
    changed_local = {f for f in flow.outbound if base is None or local.get(f) != base.get(f)}
    changed_remote = {f for f in flow.inbound if base is None or remote.get(f) != base.get(f)}
    both = flow.inbound & flow.outbound
    candidates: set[str] = set()
    rule: ConflictPolicy | FallbackPolicy = policy
    if policy == "field_merge":
        candidates, rule = set(both & changed_local & changed_remote), fallback
    elif changed_local & both and changed_remote & both:
        candidates = set(both & (changed_local | changed_remote))
    disputed = tuple(sorted(f for f in candidates if local.get(f) != remote.get(f)))
    winner = _winner(rule, _newest(local_modified, remote_modified)) if disputed else "remote"
    if winner == "manual":
        return Decision(agreed=dict(base or {}), disputed=disputed, conflict=True)
    if disputed and policy != "field_merge":  # the whole record follows the winner
        if winner == "local":
            changed_remote = set()
        else:
            changed_local = set()
    preferred = local if winner == "local" else remote
    values = {
        f: _pick(f, flow, base, local, remote, changed_local, changed_remote, preferred)
        for f in sorted(flow.fields)
    }
    return _decision(values, local, remote, flow, disputed)


def _pick(
    name: str,
    flow: FieldFlow,
    base: Values | None,
    local: Values,
    remote: Values,
    changed_local: set[str],
    changed_remote: set[str],
    preferred: Values,
) -> Any:
    """The value field ``name`` should hold on both sides."""
    if name not in flow.outbound:
        return remote.get(name)
    if name not in flow.inbound:
        return local.get(name)
    in_local, in_remote = name in changed_local, name in changed_remote
    if in_local and in_remote:
        same = local.get(name) == remote.get(name)
        return local.get(name) if same else preferred.get(name)
    if in_local:
        return local.get(name)
    if in_remote:
        return remote.get(name)
    return base.get(name) if base is not None else remote.get(name)


def _decision(
    values: dict[str, Any],
    local: Values,
    remote: Values,
    flow: FieldFlow,
    disputed: tuple[str, ...],
) -> Decision:
    to_local = {f: v for f, v in values.items() if f in flow.inbound and local.get(f) != v}
    to_remote = {f: v for f, v in values.items() if f in flow.outbound and remote.get(f) != v}
    return Decision(agreed=values, to_local=to_local, to_remote=to_remote, disputed=disputed)


def _newest(local: dt.datetime | None, remote: dt.datetime | None) -> Winner:
    """The side changed last; the remote (the source) on a tie or when a time is unknown."""
    if local is not None and remote is not None and local > remote:
        return "local"
    return "remote"


def _winner(policy: ConflictPolicy | FallbackPolicy, newest: Winner) -> Winner:
    return {
        "source_wins": "remote",
        "target_wins": "local",
        "newest_wins": newest,
        "manual": "manual",
        "field_merge": "manual",  # never asked: field_merge is not a fallback
    }[policy]  # type: ignore[return-value]
