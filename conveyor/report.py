"""What an import reports: counts that always add up, and where the rejects went."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

ImportStatus = Literal["succeeded", "failed", "dry_run", "skipped"]


@dataclass
class ImportCounts:
    """rows_read == inserted + updated + unchanged + duplicates + rejected, always."""

    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0

    @property
    def balanced(self) -> bool:
        accounted = self.inserted + self.updated + self.unchanged + self.duplicates + self.rejected
        return self.rows_read == accounted


class ImportFailed(Exception):
    """Raised by :meth:`ImportReport.raise_for_status` for a failed import."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"import of {report.file} failed: {report.error}")
        self.report = report


@dataclass
class ImportReport:
    file: Path
    mapping: str
    table: str
    target: str  # URL with the password redacted
    status: ImportStatus
    counts: ImportCounts = field(default_factory=ImportCounts)
    job_id: int | None = None
    rejects_path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def raise_for_status(self) -> ImportReport:
        """Raise :class:`ImportFailed` when the import failed; return self otherwise."""
        if self.status == "failed":
            raise ImportFailed(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["file"] = str(self.file)
        data["rejects_path"] = str(self.rejects_path) if self.rejects_path else None
        data["duration_s"] = round(self.duration_s, 3)
        return data
