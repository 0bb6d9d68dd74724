"""``create_app(config)``: the upload page and its JSON API as one FastAPI application.

Errors leave as JSON ``{"detail": "what to fix"}`` with the status from
``conveyor.web.errors.STATUS_OF``; an unexpected one is logged and answered with a 500 that
says so, never with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from conveyor.errors import ConveyorError
from conveyor.web.api import Services, build_router
from conveyor.web.config import WebConfig, ensure_safe
from conveyor.web.errors import status_of
from conveyor.web.page import load_page
from conveyor.web.runs import ImportRunner
from conveyor.web.sniff import ACCEPTED
from conveyor.web.uploads import UploadStore

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(config: WebConfig) -> FastAPI:
    """The application for ``config``; raises ConfigError for a server that must not start
    (no API key off loopback)."""
    ensure_safe(config)
    services = Services(
        config=config,
        uploads=UploadStore(config.uploads_dir, config.max_upload_bytes),
        runner=ImportRunner(config),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        services.runner.close()

    app = FastAPI(
        title="Conveyor uploads",
        lifespan=lifespan,
        docs_url=None,  # the docs page loads its assets from a CDN; the server may be offline
        redoc_url=None,
    )
    app.state.services = services
    app.add_exception_handler(ConveyorError, _conveyor_error)
    app.add_exception_handler(Exception, _unexpected_error)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        found = load_page()
        return HTMLResponse(found.html, headers=found.headers)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)  # none: browsers ask for it anyway

    @app.get("/api/info")
    def info() -> dict[str, object]:
        """What the page needs before it asks for anything (no key needed)."""
        return {
            "key_required": config.key_required,
            "max_upload_bytes": config.max_upload_bytes,
            "accepted": ACCEPTED,
        }

    app.include_router(build_router(services))
    return app


async def _conveyor_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConveyorError)
    status = status_of(exc)
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": str(exc)}, status_code=status)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return JSONResponse(
        {"detail": f"internal error ({type(exc).__name__}); the server's log has the details"},
        status_code=500,
    )
