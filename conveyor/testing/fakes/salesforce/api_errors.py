"""Salesforce's error shapes, which differ by API on purpose of the vendor, not ours.

- REST resources answer an array ``[{"message", "errorCode", "fields"?}]``.
- sObject Collections report each failed item as ``{"success": false, "errors":
  [{"statusCode", "message", "fields"}]}`` inside an HTTP 200 (note ``statusCode``).
- Bulk API 2.0 failed results carry ``sf__Error`` as ``CODE:message:field1,field2 --``.

A :class:`RecordError` is one record's failure and renders in all three; an :class:`ApiError` is a
whole request's failure with its HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "RecordError", "not_found"]


@dataclass(frozen=True)
class RecordError:
    """Why Salesforce refused one record."""

    code: str
    message: str
    fields: tuple[str, ...] = ()

    def rest_body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code, "fields": list(self.fields)}]

    def collection_error(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}

    def bulk_text(self) -> str:
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"

    def status(self) -> int:
        """The HTTP status a single-record REST call answers with this error."""
        return 404 if self.code in ("NOT_FOUND", "ENTITY_IS_DELETED") else 400


@dataclass
class ApiError(Exception):
    """A request Salesforce refused as a whole."""

    status: int
    code: str
    message: str
    fields: tuple[str, ...] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def body(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            entry["fields"] = list(self.fields)
        return [entry]

    @classmethod
    def from_record(cls, error: RecordError) -> ApiError:
        return cls(error.status(), error.code, error.message, error.fields)


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")
