"""The server's target database: CONVEYOR_DATABASE_URL or a Prefect Secret block, never a
request's. Prefect is imported only when a Secret block is named."""

from __future__ import annotations

from conveyor.web.config import WebConfig

__all__ = ["server_target"]


def server_target(config: WebConfig) -> str | None:
    """The URL a preview runs against (None: the core's default, CONVEYOR_DATABASE_URL or
    sqlite:///conveyor.db). Imports resolve it inside the flow, from the same place."""
    if config.target_secret is None:
        return None
    from flows.secrets import database_url

    return database_url(config.target_secret)
