"""Exports: a table, view or named query read from the database and written to a file.

source.py says what is exported and the kind of each column, query.py turns fields, filters,
order and limit into one SELECT, rows.py runs it (typed Polars batches, or PostgreSQL's COPY
for CSV).
"""

from __future__ import annotations

from conveyor.export.query import OPERATORS, Filter, build_select, parse_filters
from conveyor.export.rows import copy_csv, frame_schema, stream_frames
from conveyor.export.source import ExportSource, SourceField, describe_source

__all__ = [
    "OPERATORS",
    "ExportSource",
    "Filter",
    "SourceField",
    "build_select",
    "copy_csv",
    "describe_source",
    "frame_schema",
    "parse_filters",
    "stream_frames",
]
