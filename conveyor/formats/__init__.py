"""Streaming readers and rejects writers, one module per format."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import cast, get_args

from conveyor.errors import SourceError
from conveyor.formats.base import (
    Batch,
    FormatName,
    ReadResult,
    RejectSink,
    SourceInfo,
    SourceOptions,
)

__all__ = [
    "Batch",
    "FormatName",
    "ReadResult",
    "RejectSink",
    "SourceInfo",
    "SourceOptions",
    "detect_format",
    "open_rejects",
    "read_source",
]

_EXTENSIONS: dict[str, FormatName] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".ndjson": "json",
    ".jsonl": "json",
    ".xml": "xml",
}


def detect_format(path: Path, declared: FormatName | None = None) -> FormatName:
    """The declared format, else the one the file name says, else one sniffed from the bytes."""
    if declared is not None:
        return declared
    by_suffix = _EXTENSIONS.get(path.suffix.lower())
    if by_suffix is not None:
        return by_suffix
    try:
        with path.open("rb") as fh:
            head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise SourceError(path, f"cannot open: {exc.strerror}") from exc
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"<"):
        return "xml"
    if head[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def _module(fmt: FormatName) -> object:
    if fmt not in get_args(FormatName):
        raise SourceError("?", f"unknown format {fmt!r}")
    return import_module(f"conveyor.formats.{fmt}")


def read_source(path: Path, options: SourceOptions | None = None) -> ReadResult:
    """Open ``path`` with the reader of its format."""
    options = options or SourceOptions()
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "no such file")
    fmt = detect_format(path, options.format)
    reader = _module(fmt)
    return cast(ReadResult, reader.read(path, options))  # type: ignore[attr-defined]


def open_rejects(path: Path, info: SourceInfo) -> RejectSink:
    """Open a rejects file in the same format as the source described by ``info``."""
    writer = _module(info.format)
    return cast(RejectSink, writer.open_rejects(Path(path), info))  # type: ignore[attr-defined]
