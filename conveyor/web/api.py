"""The JSON API behind the page, for scripts too: uploads, previews, imports, rejects.

Every route here sits behind the API key dependency, which FastAPI runs before the endpoint
reads the request body. Bodies are read by hand (a file as a stream, JSON up to a small cap),
so nothing large is buffered before the key is checked.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from conveyor.web.auth import key_checker
from conveyor.web.config import WebConfig
from conveyor.web.errors import BadRequest, NotFound
from conveyor.web.mappings import choose_mapping, list_mappings, suggest_yaml
from conveyor.web.preview import preview
from conveyor.web.runs import ImportRunner
from conveyor.web.targets import server_target
from conveyor.web.uploads import StoredUpload, UploadStore

__all__ = ["MappingChoice", "Services", "build_router"]

JSON_LIMIT = 2 * 1024 * 1024  # a mapping's YAML is a few KB
_MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".ndjson": "application/x-ndjson",
    ".xml": "application/xml",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Services:
    config: WebConfig
    uploads: UploadStore
    runner: ImportRunner


class MappingChoice(BaseModel):
    """The body of a preview, or of an import of an earlier upload."""

    model_config = ConfigDict(extra="forbid")

    mapping: str | None = None
    mapping_yaml: str | None = None
    force: bool = False


def build_router(services: Services) -> APIRouter:
    """The API routes, all behind the key check."""
    router = APIRouter(dependencies=[Depends(key_checker(services.config))])
    config, uploads, runner = services.config, services.uploads, services.runner

    @router.get("/mappings")
    def mappings() -> dict[str, list[str]]:
        return {"mappings": list_mappings(config.mappings_dir)}

    @router.post("/uploads", status_code=201)
    async def upload(request: Request, filename: str | None = None) -> dict[str, Any]:
        stored = await _receive(request, uploads, filename)
        stored = await run_in_threadpool(_with_suggestion, stored, uploads)
        return _upload_json(stored, config)

    @router.post("/uploads/{upload_id}/preview")
    async def preview_upload(upload_id: str, request: Request) -> dict[str, Any]:
        stored = uploads.get(upload_id)
        choice = await _read_choice(request)
        return await run_in_threadpool(_preview, stored, choice, config)

    @router.post("/imports", status_code=202)
    async def start_import(
        request: Request,
        response: Response,
        upload_id: str | None = None,
        filename: str | None = None,
        mapping: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        if upload_id is not None:
            stored = uploads.get(upload_id)
            choice = _with_query(await _read_choice(request), mapping, force)
        elif filename is not None:
            stored = await _receive(request, uploads, filename)
            choice = MappingChoice(mapping=mapping, force=force)
        else:
            raise BadRequest(
                "give ?upload_id= of an earlier upload, or send the file as the body with "
                "?filename="
            )
        run = await run_in_threadpool(_queue, stored, choice, services, upload_id is None)
        response.headers["Location"] = f"/imports/{run['id']}"
        return run

    @router.get("/imports/{import_id}")
    def import_status(import_id: str) -> dict[str, Any]:
        return runner.get(import_id).to_json()

    @router.get("/imports/{import_id}/rejects")
    def rejects(import_id: str) -> FileResponse:
        run = runner.get(import_id)
        if not run.has_rejects:
            raise NotFound(f"import {import_id} has no rejects file ({run.status})")
        suffix = run.rejects_path.suffix
        stem = run.upload.filename.rsplit(".", 1)[0] or "upload"
        return FileResponse(
            run.rejects_path,
            media_type=_MEDIA_TYPES.get(suffix, "application/octet-stream"),
            filename=f"{stem}.rejects{suffix}",
        )

    return router


async def _receive(request: Request, uploads: UploadStore, filename: str | None) -> StoredUpload:
    """Stream the body to disk, then type it by content (in a worker thread)."""
    uploads.check_declared_size(request.headers.get("content-length"))
    try:
        part, size = await uploads.receive(_chunks(request))
    except ClientDisconnect:
        raise BadRequest("the upload was interrupted before its end: send it again") from None
    return await run_in_threadpool(uploads.keep, part, size, filename)


async def _chunks(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def _read_choice(request: Request) -> MappingChoice:
    """The JSON body (may be empty), read within ``JSON_LIMIT``."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > JSON_LIMIT:
            raise BadRequest(f"the JSON body is over {JSON_LIMIT:,} bytes")
    if not body.strip():
        return MappingChoice()
    try:
        return MappingChoice.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise BadRequest(
            'the body must be JSON like {"mapping": "NAME"} or {"mapping_yaml": "TEXT"}, '
            f'optionally with "force": true: {_first_line(exc)}'
        ) from None


def _with_query(choice: MappingChoice, mapping: str | None, force: bool) -> MappingChoice:
    """The body's choice, completed by ``?mapping=`` and ``?force=`` (the body wins)."""
    if mapping is not None and choice.mapping is None and choice.mapping_yaml is None:
        choice = choice.model_copy(update={"mapping": mapping})
    return choice.model_copy(update={"force": choice.force or force})


def _first_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return f"{where}: {first['msg']}"
    return str(exc).splitlines()[0]


def _with_suggestion(stored: StoredUpload, uploads: UploadStore) -> StoredUpload:
    suggested, problem = suggest_yaml(stored)
    stored = dataclasses.replace(stored, suggested_yaml=suggested, suggestion_error=problem)
    uploads.update(stored)
    return stored


def _upload_json(stored: StoredUpload, config: WebConfig) -> dict[str, Any]:
    return {
        "upload_id": stored.id,
        "filename": stored.filename,
        "format": stored.format,
        "size": stored.size,
        "suggested_mapping": stored.suggested_yaml,
        "suggestion_error": stored.suggestion_error,
        "mappings": list_mappings(config.mappings_dir),
    }


def _preview(stored: StoredUpload, choice: MappingChoice, config: WebConfig) -> dict[str, Any]:
    chosen = choose_mapping(config.mappings_dir, choice.mapping, choice.mapping_yaml, stored)
    return preview(stored, chosen, server_target(config), config.preview_rows)


def _queue(
    stored: StoredUpload, choice: MappingChoice, services: Services, uploaded_now: bool
) -> dict[str, Any]:
    """Validate the mapping and queue the import; a script's upload is dropped if refused."""
    try:
        if choice.mapping is None and choice.mapping_yaml is None and stored.suggested_yaml is None:
            stored = _with_suggestion(stored, services.uploads)
        chosen = choose_mapping(
            services.config.mappings_dir, choice.mapping, choice.mapping_yaml, stored
        )
    except Exception:
        if uploaded_now:
            services.uploads.forget(stored)
        raise
    run = services.runner.submit(stored, chosen, choice.force)
    return {**run.to_json(), "status_url": f"/imports/{run.id}"}
