"""Uploads streamed to disk under a generated name, within a size limit, typed by content.

The body is the raw file (no multipart), read chunk by chunk: memory stays flat whatever the
size. The client's file name is kept only as a label, never used as a path. Any refusal (too
large, wrong type, a broken connection) deletes what was written. The index of uploads lives in
memory: after a restart, files stay on disk but their ids are unknown.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from conveyor.web.errors import BadRequest, NotFound, UploadTooLarge
from conveyor.web.sniff import UploadFormat, sniff_file

__all__ = ["StoredUpload", "UploadStore", "display_name"]

_ID = re.compile(r"^[0-9a-f]{32}$")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_NAME_LIMIT = 200


@dataclass(frozen=True)
class StoredUpload:
    """One upload: where it is stored and what the client called it."""

    id: str
    path: Path
    filename: str
    format: UploadFormat
    size: int
    suggested_yaml: str | None = None
    suggestion_error: str | None = None


def display_name(filename: str | None) -> str:
    """The client's file name reduced to a printable base name, for labels only."""
    raw = filename or "upload"
    base = PureWindowsPath(PurePosixPath(raw).name).name
    cleaned = _UNPRINTABLE.sub("", base).strip()[:_NAME_LIMIT]
    return cleaned or "upload"


class UploadStore:
    """Writes uploads under ``folder`` and remembers them by id (thread-safe)."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder.resolve()  # messages name files by absolute path
        self.max_bytes = max_bytes
        self._uploads: dict[str, StoredUpload] = {}
        self._lock = threading.Lock()

    def check_declared_size(self, content_length: str | None) -> None:
        """Refuse before reading anything when Content-Length is already over the limit."""
        if content_length is None:
            return
        try:
            declared = int(content_length)
        except ValueError:
            raise BadRequest(f"Content-Length {content_length!r} is not a number") from None
        if declared > self.max_bytes:
            raise self._too_large(declared)

    async def receive(self, chunks: AsyncIterator[bytes]) -> tuple[Path, int]:
        """Stream ``chunks`` into a new ``.part`` file; delete it and raise past the limit."""
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f"{uuid.uuid4().hex}.part"
        size = 0
        try:
            with part.open("xb") as fh:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self._too_large(size, streamed=True)
                    fh.write(chunk)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return part, size

    def keep(self, part: Path, size: int, filename: str | None) -> StoredUpload:
        """Type the received file by content and store it as ``<id><extension>``; a file of a
        type we do not read is deleted and refused."""
        try:
            sniffed = sniff_file(part)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        upload_id = part.stem
        path = part.rename(part.with_name(f"{upload_id}{sniffed.extension}"))
        upload = StoredUpload(upload_id, path, display_name(filename), sniffed.format, size)
        with self._lock:
            self._uploads[upload_id] = upload
        return upload

    def update(self, upload: StoredUpload) -> None:
        with self._lock:
            self._uploads[upload.id] = upload

    def get(self, upload_id: str) -> StoredUpload:
        with self._lock:
            found = self._uploads.get(upload_id) if _ID.match(upload_id) else None
        if found is None:
            raise NotFound(
                f"no upload with id {upload_id!r}: upload the file again (ids last until the "
                "server restarts)"
            )
        return found

    def forget(self, upload: StoredUpload) -> None:
        """Remove an upload that no import will use (e.g. a script's refused import)."""
        with self._lock:
            self._uploads.pop(upload.id, None)
        upload.path.unlink(missing_ok=True)

    def _too_large(self, size: int, *, streamed: bool = False) -> UploadTooLarge:
        got = f"more than {self.max_bytes:,}" if streamed else f"{size:,}"
        return UploadTooLarge(
            f"the upload is too large: {got} bytes, the limit is {self.max_bytes:,} bytes "
            "(start the server with a larger --max-upload-mb, or import with `conveyor import`)"
        )
