"""The API key check: a FastAPI dependency, so it runs before any endpoint reads the body.

A refused request therefore leaves nothing on disk. Keys are compared in constant time and
never echoed, logged or returned.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Request

from conveyor.web.config import WebConfig
from conveyor.web.errors import Unauthorized

__all__ = ["KEY_HEADER", "key_checker"]

KEY_HEADER = "X-API-Key"


def key_checker(config: WebConfig) -> Callable[[Request], None]:
    """A dependency that refuses requests without the right ``X-API-Key`` (when one is set)."""
    expected = config.api_key.get_secret_value().encode() if config.api_key else None

    def check_key(request: Request) -> None:
        if expected is None:
            return
        given = request.headers.get(KEY_HEADER, "").encode("latin-1")  # the raw bytes
        if not hmac.compare_digest(given, expected):
            raise Unauthorized(
                f"a valid {KEY_HEADER} header is required (the server's API key): ask the "
                "server's operator for it"
            )

    return check_key
