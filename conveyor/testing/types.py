"""How a remote field type reads locally, shared by the reference connector and the contract suite.

Both must compare and store values exactly as the sync engine will, so they take one map rather
than each keeping a copy that could drift: text-like remote types (``string``, ``reference``)
become ``text``; every other type keeps its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from conveyor.connector import RemoteFieldType
from conveyor.sync.spec import LocalType

__all__ = ["REMOTE_TO_LOCAL"]

#: Remote field type -> the local type its values are canonicalised as (read-only).
REMOTE_TO_LOCAL: Mapping[RemoteFieldType, LocalType] = MappingProxyType(
    {
        "string": "text",
        "reference": "text",
        "integer": "integer",
        "decimal": "decimal",
        "boolean": "boolean",
        "date": "date",
        "datetime": "datetime",
        "json": "json",
    }
)
