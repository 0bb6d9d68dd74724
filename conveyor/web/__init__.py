"""The upload page and its JSON API (``conveyor serve``).

``create_app(WebConfig(...))`` builds the FastAPI application; uvicorn serves it. Imports run
the Prefect flow ``import-file`` in background threads; this package imports Prefect only when
an import runs or a Secret block is read, so the core library stays free of it.
"""

from __future__ import annotations

from conveyor.web.app import create_app
from conveyor.web.config import WebConfig, ensure_safe, is_loopback

__all__ = ["WebConfig", "create_app", "ensure_safe", "is_loopback"]
