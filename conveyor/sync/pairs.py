"""Record pairs: what a run read on each side, matched through the links.

A pair is one record as both sides know it: its link (if any), the local row and the remote
record read or fetched this run, and whether a side deleted it. Each record read ends up in
exactly one pair, so the run's counts add up. Unlinked records are matched before anything is
created: a remote record that carries one of our keys in the external-id field (a create that
crashed before its link was written), or one that shares the job's natural key with an
unlinked local row, is linked, not duplicated. A remote record carrying a key that another
record already holds (a copy made in the remote system copies the key field too) is new, and
stored under its own remote id: it never takes the other record's row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.connector import RemoteRecord
from conveyor.errors import RecordError
from conveyor.state.sync import Link
from conveyor.sync.local import LocalRow

__all__ = ["Pair", "Reads", "match_pairs"]


@dataclass
class Pair:
    key: str | None  # the local key (None: a remote record not yet local)
    link: Link | None = None
    local: LocalRow | None = None  # read or fetched this run
    remote: RemoteRecord | None = None  # read this run
    remote_values: dict[str, Any] | RecordError | None = None  # canonical, when read
    local_deleted: bool = False
    remote_deleted: bool = False
    retry: bool = False  # a parked record or a resolved conflict brought it in
    claimed: bool = False  # remote-born, carrying a key another record holds: keyed by its id


@dataclass
class Reads:
    """What a run read, and what it knows of each side's keys."""

    local: Mapping[str, LocalRow]  # changed local rows, by key
    remote: Sequence[tuple[RemoteRecord, dict[str, Any] | RecordError]]  # changed, canonical
    local_keys: set[str]  # every live local key
    live_ids: set[str] | None  # every live remote id, when a key scan ran
    extra_keys: set[str] = field(default_factory=set)  # parked or resolved: look again


def match_pairs(
    reads: Reads,
    links: Mapping[str, Link],
    external_id_field: str,
    natural_key: Sequence[str],
) -> list[Pair]:
    """Every pair this run must consider; local rows of linked pairs not read are fetched by
    the caller (``Pair.local is None`` and not ``local_deleted``)."""
    by_remote = {link.remote_id: link for link in links.values() if link.remote_id}
    pairs: dict[str, Pair] = {}  # by local key, or "remote:" + id for remote-born records
    natural = _natural_index(reads, links, natural_key)
    taken: set[str] = set()  # keys remote-born records of this run take
    for record, values in reads.remote:
        link = by_remote.get(record.id)
        key = link.local_key if link else _adopt(record, reads, links, external_id_field)
        if link is None and key is not None:
            link = links.get(key)  # a create in flight, found: its link has no remote id yet
        key = key or (natural.pop(_natural(values, natural_key), None) if natural else None)
        slot = key if key is not None else f"remote:{record.id}"
        pair = pairs.setdefault(slot, Pair(key=key, link=link))
        pair.remote, pair.remote_values = record, values
        pair.remote_deleted = record.deleted
        if key is None:
            pair.claimed = _claims_a_held_key(record, links, taken, external_id_field)
    for key, row in reads.local.items():
        pair = pairs.setdefault(key, Pair(key=key, link=links.get(key)))
        pair.local = row
    for key in reads.extra_keys:
        pairs.setdefault(key, Pair(key=key, link=links.get(key))).retry = True
    for key, link in links.items():
        gone_local = key not in reads.local_keys
        gone_remote = (
            reads.live_ids is not None
            and link.remote_id is not None
            and link.remote_id not in reads.live_ids
        )
        if gone_local or gone_remote:
            pair = pairs.setdefault(key, Pair(key=key, link=link))
            pair.local_deleted = gone_local
            pair.remote_deleted = pair.remote_deleted or gone_remote
    return list(pairs.values())


def _adopt(
    record: RemoteRecord, reads: Reads, links: Mapping[str, Link], external_id_field: str
) -> str | None:
    """Our key in an unlinked remote record's external-id field, when that key's row exists
    unlinked, or its link waits for this very create (a crash before the link was written)."""
    ours = record.values.get(external_id_field)
    if ours is None or record.deleted:
        return None
    key = str(ours)
    link = links.get(key)
    if link is not None:
        return key if link.remote_id is None else None
    return key if key in reads.local_keys else None


def _claims_a_held_key(
    record: RemoteRecord, links: Mapping[str, Link], taken: set[str], external_id_field: str
) -> bool:
    """A remote-born record whose key is another record's: linked to another remote id, or
    taken by a record read earlier in this run."""
    ours = record.values.get(external_id_field)
    if ours in (None, ""):
        return False
    key = str(ours)
    link = links.get(key)
    if key in taken or (link is not None and link.remote_id not in (None, record.id)):
        return True
    taken.add(key)
    return False


def _natural(values: dict[str, Any] | RecordError, names: Sequence[str]) -> tuple[Any, ...] | None:
    if isinstance(values, RecordError) or not names:
        return None
    found = tuple(values.get(n) for n in names)
    return None if any(v is None for v in found) else found


def _natural_index(
    reads: Reads, links: Mapping[str, Link], names: Sequence[str]
) -> dict[tuple[Any, ...] | None, str]:
    """Unlinked local rows read this run, by natural key (rows sharing one are left out:
    which of them a remote record is cannot be told)."""
    index: dict[tuple[Any, ...] | None, str] = {}
    twice: set[tuple[Any, ...]] = set()
    for key, row in reads.local.items():
        value = None if key in links else _natural(row.values, names)
        if value is None:
            continue
        if value in index:
            twice.add(value)
        index[value] = key
    for value in twice:
        del index[value]
    return index
