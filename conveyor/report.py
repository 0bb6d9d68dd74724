"""What an import reports: counts that always add up, and where the rejects went."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

ImportStatus = Literal["succeeded", "failed", "dry_run", "skipped"]


@dataclass
class ImportCounts:
    """rows_read == inserted + updated + unchanged + deleted + duplicates + rejected, always.

    ``deleted`` counts the file's rows that deleted a row (mode delete); ``removed`` counts the
    table's rows a replace removed because the file no longer holds them (not rows of the file,
    so outside the sum).
    """

    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0
    deleted: int = 0
    removed: int = 0

    def items(self) -> list[tuple[str, int]]:
        """(label, count) as the CLI and the Prefect artifact show them; deleted and removed
        only when a delete or a replace made them non-zero."""
        shown = [
            ("rows read", self.rows_read),
            ("inserted", self.inserted),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
        ]
        shown += [(n, v) for n, v in (("deleted", self.deleted), ("removed", self.removed)) if v]
        return [*shown, ("duplicates", self.duplicates), ("rejected", self.rejected)]

    @property
    def balanced(self) -> bool:
        written = self.inserted + self.updated + self.unchanged + self.deleted
        return self.rows_read == written + self.duplicates + self.rejected


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
    #: Why nothing was done (status skipped), or that the job resumed an interrupted one.
    note: str | None = None

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
