"""The database URL of a flow run: from a Prefect Secret block, never from a parameter."""

from __future__ import annotations

import os
from typing import cast

__all__ = ["database_url"]


def database_url(secret_name: str | None) -> str | None:
    """The URL held by the Secret block ``secret_name``, else CONVEYOR_DATABASE_URL, else None
    (the core's default)."""
    if secret_name:
        from prefect.blocks.system import Secret

        secret = cast(Secret[str], Secret.load(secret_name))  # sync in a sync context
        return str(secret.get())
    return os.environ.get("CONVEYOR_DATABASE_URL")
