"""Settling a conflict by hand: ``conveyor conflicts resolve ID --take local|remote|merged``.

The choice is written locally at once; the remote side follows on the job's next run. To get
there the link's agreed values become the remote's values as the conflict saw them, so the next
run finds the local row changed (take local, merged) and sends it, or finds both sides equal
(take remote) and only closes the conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy.engine import Engine

from conveyor.errors import ConfigError
from conveyor.state.sync import Conflict, Link, SyncStore
from conveyor.sync.engine import utcnow
from conveyor.sync.local import LocalTable
from conveyor.sync.spec import SyncJobSpec
from conveyor.sync.values import canonical, values_hash

__all__ = ["Take", "merged_values", "resolve_conflict"]

Take = Literal["local", "remote", "merged"]


def resolve_conflict(
    engine: Engine,
    job: SyncJobSpec,
    conflict_id: int,
    take: Take,
    chosen: Mapping[str, str] | None = None,
) -> Conflict:
    """Resolve an open conflict of ``job``; ``chosen`` gives each disputed field's value for
    ``merged``. Returns the conflict as it was."""
    store = SyncStore(engine)
    store.ensure()
    conflict = store.conflict(conflict_id)
    if conflict is None or conflict.job != job.name:
        raise ConfigError(f"no conflict {conflict_id} in sync job {job.name}")
    if conflict.status != "open":
        raise ConfigError(f"conflict {conflict_id} is already {conflict.status}")
    if take == "merged":
        values = merged_values(job, conflict, chosen or {})
    else:
        values = conflict.local_values if take == "local" else conflict.remote_values
    table = LocalTable(engine, job)
    table.ensure()
    now = utcnow()
    with engine.begin() as conn:
        if take != "local":
            inbound = job.fields_for("inbound")
            table.upsert(conn, {conflict.local_key: _only(values, inbound)}, now)
        agreed = dict(conflict.remote_values)
        link = Link(conflict.local_key, conflict.remote_id, agreed, values_hash(agreed))
        store.save_links(conn, job.name or "", [link], now)
        store.resolve_conflict(conn, conflict_id, take, now)
    return conflict


def merged_values(
    job: SyncJobSpec, conflict: Conflict, chosen: Mapping[str, str]
) -> dict[str, Any]:
    """One-sided changes from each side, and the given value for each disputed field."""
    missing = [f for f in conflict.fields if f not in chosen]
    unknown = [f for f in chosen if f not in conflict.fields]
    if missing or unknown:
        raise ConfigError(
            f"conflict {conflict.id}: give a value for each disputed field "
            f"({', '.join(conflict.fields)}) with --set FIELD=VALUE"
            + (f"; {', '.join(unknown)} is not disputed" if unknown else "")
        )
    base, local, remote = conflict.base_values, conflict.local_values, conflict.remote_values
    merged: dict[str, Any] = {}
    for name in job.fields:
        if name in chosen:
            merged[name] = canonical(chosen[name], job.fields[name].type, name)
        elif local.get(name) != base.get(name):
            merged[name] = local.get(name)
        else:
            merged[name] = remote.get(name)
    return merged


def _only(values: Mapping[str, Any], names: Mapping[str, Any]) -> dict[str, Any]:
    return {n: v for n, v in values.items() if n in names}
