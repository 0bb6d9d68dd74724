"""What goes wrong with a request, and the HTTP status each kind maps to (one table)."""

from __future__ import annotations

from conveyor.errors import ConfigError, ConveyorError, MappingError, SourceError

__all__ = [
    "STATUS_OF",
    "BadRequest",
    "EmptyUpload",
    "NotFound",
    "Unauthorized",
    "UnsupportedType",
    "UploadTooLarge",
    "WebError",
    "status_of",
]


class WebError(ConveyorError):
    """A request the server refuses; the message says what to change."""


class BadRequest(WebError):
    """A malformed request (a parameter missing, a header that is not a number)."""


class Unauthorized(WebError):
    """No X-API-Key header, or the wrong one."""


class NotFound(WebError):
    """An upload or import id the server does not know (it keeps them in memory)."""


class UploadTooLarge(WebError):
    """The upload is over the server's size limit."""


class UnsupportedType(WebError):
    """The upload's bytes are not CSV, XLSX, JSON or XML, whatever its name says."""


class EmptyUpload(WebError):
    """The upload has no bytes at all."""


#: The most specific class of an error decides its status.
STATUS_OF: dict[type[ConveyorError], int] = {
    BadRequest: 400,
    EmptyUpload: 400,
    Unauthorized: 401,
    NotFound: 404,
    UploadTooLarge: 413,
    UnsupportedType: 415,
    MappingError: 422,
    ConfigError: 422,
    SourceError: 422,
}


def status_of(error: ConveyorError) -> int:
    """The HTTP status for ``error``: its nearest class in the table, else 500."""
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500
