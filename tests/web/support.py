"""Helpers of the upload page's tests: a real uvicorn server in a thread, files left behind.

Starlette's TestClient warns on import (it wants the ``httpx2`` package, which this project
does not install), and tests run with warnings as errors; a real server on 127.0.0.1 costs a
few milliseconds and exercises the real streaming of request bodies.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from conveyor.web import WebConfig

__all__ = ["serve", "stored_files", "wait_until_final"]


@contextmanager
def serve(app: FastAPI, timeout: float = 30.0) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1; yields its base URL. The server thread runs
    in a copy of the caller's context, so it sees the caller's Prefect settings."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=contextvars.copy_context().run, args=(server.run,))
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout)
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def stored_files(config: WebConfig) -> list[str]:
    """Every file left under the server's data folder (uploads, mappings, rejects)."""
    if not config.data_dir.exists():
        return []
    return sorted(p.name for p in config.data_dir.rglob("*") if p.is_file())


FINAL = {"succeeded", "completed_with_rejects", "failed", "skipped"}


def wait_until_final(client: httpx.Client, import_id: str, timeout: float = 180) -> dict[str, Any]:
    """Poll GET /imports/{id} as the page does until the import ends; its last status."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/imports/{import_id}")
        assert response.status_code == 200, response.text
        status: dict[str, Any] = response.json()
        if status["status"] in FINAL:
            return status
        assert time.monotonic() < deadline, f"import still {status['status']}: {status}"
        time.sleep(0.2)
