"""A dry run of an upload through a mapping: what an import would do, writing nothing.

Two views, because each answers a different question: ``rows`` are the first rows of the file
that pass the mapping, typed as they would be written (before duplicate keys are settled);
``examples`` and ``counts`` come from the importer's own dry run against the server's target
(rows that would be inserted, updated, left unchanged, or rejected with their reason).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from decimal import Decimal
from typing import Any

import polars as pl

from conveyor.errors import ConveyorError
from conveyor.formats import read_source
from conveyor.importer import ImportJob, ImportRequest
from conveyor.mapping import MappingSpec, compile_mapping
from conveyor.schema import INTERNAL_COLUMNS, SEQ_COL, SHEET_COL
from conveyor.web.mappings import ChosenMapping
from conveyor.web.uploads import StoredUpload

__all__ = ["first_rows", "jsonable", "preview", "without_paths"]


def preview(
    upload: StoredUpload, chosen: ChosenMapping, target: str | None, limit: int
) -> dict[str, Any]:
    """The dry run's report and the first mapped rows, as JSON-ready values."""
    request = ImportRequest(path=upload.path, mapping=chosen.spec, target=target, dry_run=True)
    report = ImportJob(request).run()
    columns = list(chosen.spec.fields)
    rows: list[dict[str, Any]] = []
    error = report.error
    if report.status != "failed":
        try:
            rows = first_rows(upload, chosen.spec, limit)
        except ConveyorError as exc:
            error = str(exc)
    return {
        "upload_id": upload.id,
        "mapping": chosen.label,
        "table": chosen.spec.target.table,
        "status": report.status,
        "counts": dataclasses.asdict(report.counts),
        "columns": columns,
        "rows": rows,
        "examples": {kind: jsonable(found) for kind, found in report.examples.items()},
        "warnings": [without_paths(w, upload) for w in report.warnings],
        "error": without_paths(error, upload) if error else None,
    }


def first_rows(upload: StoredUpload, spec: MappingSpec, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of the file that pass ``spec``, in file order, as written."""
    compiled = compile_mapping(spec)
    source = read_source(upload.path, spec.source)
    found: list[pl.DataFrame] = []
    have, seq = 0, 0
    for batch in source.batches:
        frame = batch.data.with_columns(
            pl.int_range(seq, seq + batch.data.height, dtype=pl.Int64).alias(SEQ_COL)
        )
        if SHEET_COL not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(SHEET_COL))
        seq += batch.data.height
        good = compiled.apply(frame).good.drop(INTERNAL_COLUMNS, strict=False)
        found.append(good.head(limit - have))
        have += found[-1].height
        if have >= limit:
            break
    return jsonable([row for frame in found for row in frame.to_dicts()])


def jsonable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with dates as ISO text and decimals as their exact digits (JSON numbers would
    round them), NaN and infinities as text."""
    return [{str(k): _value(v) for k, v in row.items()} for row in rows]


def _value(value: object) -> object:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | dict | str | int | float | bool) or value is None:
        return value
    return str(value)


def without_paths(message: str, upload: StoredUpload) -> str:
    """A message for the client: the upload's path (or stored name) shown as its file name."""
    return message.replace(str(upload.path), upload.filename).replace(
        upload.path.name, upload.filename
    )
