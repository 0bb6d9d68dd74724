"""The sync control tables as sql/<dialect>/0003_sync.sql creates them (0004 adds the links'
``remote_version``), for SQLAlchemy queries.

JSON columns are JSONB on PostgreSQL and JSON text on SQLite; timestamps are aware UTC
datetimes on both (ISO text on SQLite, which sorts in time order).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from conveyor.load.ddl import UtcDateTimeText

__all__ = ["SyncTables"]


def _stamp(dialect: str) -> sa.types.TypeEngine[dt.datetime]:
    return UtcDateTimeText() if dialect == "sqlite" else sa.DateTime(timezone=True)


def _json(dialect: str) -> sa.types.TypeEngine[Any]:
    return postgresql.JSONB() if dialect == "postgresql" else sa.JSON()


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)


@dataclass(frozen=True)
class SyncTables:
    runs: sa.Table
    cursors: sa.Table
    links: sa.Table
    conflicts: sa.Table
    parked: sa.Table

    @classmethod
    def for_dialect(cls, dialect: str) -> SyncTables:
        meta = sa.MetaData()
        stamp, js = _stamp(dialect), _json(dialect)
        text, big = sa.Text, sa.BigInteger
        runs = sa.Table(
            "conveyor_sync_runs",
            meta,
            _id(),
            *[sa.Column(n, text) for n in ("job", "status", "error")],
            sa.Column("counts", js),
            sa.Column("remote_calls", big),
            *[sa.Column(n, stamp) for n in ("started_at", "finished_at")],
            sa.Column("duration_ms", big),
        )
        cursors = sa.Table(
            "conveyor_sync_cursors",
            meta,
            sa.Column("job", text, primary_key=True),
            sa.Column("side", text, primary_key=True),
            sa.Column("position", stamp),
            sa.Column("runs_since_scan", big),
            sa.Column("updated_at", stamp),
        )
        links = sa.Table(
            "conveyor_sync_links",
            meta,
            sa.Column("job", text, primary_key=True),
            sa.Column("local_key", text, primary_key=True),
            sa.Column("remote_id", text),
            sa.Column("agreed", js),
            sa.Column("agreed_hash", text),
            sa.Column("last_written", text),
            sa.Column("pending", js),
            sa.Column("remote_version", text),
            *[
                sa.Column(n, stamp)
                for n in ("local_modified_at", "remote_modified_at", "created_at", "updated_at")
            ],
        )
        conflicts = sa.Table(
            "conveyor_sync_conflicts",
            meta,
            _id(),
            *[sa.Column(n, text) for n in ("job", "local_key", "remote_id", "status")],
            *[sa.Column(n, js) for n in ("local_values", "remote_values", "base_values", "fields")],
            sa.Column("resolution", text),
            *[sa.Column(n, stamp) for n in ("created_at", "resolved_at")],
        )
        parked = sa.Table(
            "conveyor_sync_parked",
            meta,
            _id(),
            *[
                sa.Column(n, text)
                for n in ("job", "side", "local_key", "remote_id", "error_class", "reason")
            ],
            sa.Column("payload", js),
            sa.Column("attempts", big),
            sa.Column("status", text),
            *[sa.Column(n, stamp) for n in ("next_attempt_at", "created_at", "updated_at")],
        )
        return cls(runs, cursors, links, conflicts, parked)
