"""Targets: write mapped batches into SQLite or PostgreSQL tables with exact counts."""

from __future__ import annotations

from conveyor.load.base import LoadResult, Target, WriteMode
from conveyor.load.postgres import PostgresTarget
from conveyor.load.sqlite import SqliteTarget
from conveyor.load.urls import dialect_of, parse_url

__all__ = ["LoadResult", "PostgresTarget", "SqliteTarget", "Target", "WriteMode", "open_target"]


def open_target(url: str) -> Target:
    """The target for ``url``: ``sqlite:///path.db`` or ``postgresql://…`` (psycopg 3).

    Connects once: ``TransientError`` when retrying may help (server down or starting),
    ``ConfigError`` for an unsupported scheme, bad credentials or an unknown database.
    """
    parsed = parse_url(url)
    if dialect_of(parsed) == "sqlite":
        return SqliteTarget(parsed)
    return PostgresTarget(parsed)
