"""Conveyor: move business records between files, a database and business systems.

The public Python API::

    from conveyor import import_file
    report = import_file("contacts.csv", "contacts", "sqlite:///conveyor.db")
    report.raise_for_status()
    print(report.counts)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.errors import (
    ConfigError,
    ConveyorError,
    MappingError,
    RecordError,
    SchemaMismatchError,
    SourceError,
    TransientError,
)
from conveyor.report import ImportCounts, ImportFailed, ImportReport

if TYPE_CHECKING:
    from conveyor.importer import import_file

__all__ = [
    "ConfigError",
    "ConveyorError",
    "ImportCounts",
    "ImportFailed",
    "ImportReport",
    "MappingError",
    "RecordError",
    "SchemaMismatchError",
    "SourceError",
    "TransientError",
    "import_file",
]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import conveyor.formats` does not pull in the database and mapping layers.
    if name == "import_file":
        from conveyor.importer import import_file

        return import_file
    raise AttributeError(f"module 'conveyor' has no attribute {name!r}")
