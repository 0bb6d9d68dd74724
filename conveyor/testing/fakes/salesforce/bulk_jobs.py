"""Bulk API 2.0 jobs: their state, their info bodies, and how an ingest job processes its CSV.

An ingest job applies every row with the same rules as REST (:mod:`.dml`), reading values the Bulk
way (empty leaves the field unchanged, ``#N/A`` sets null, nothing is trimmed). Its results are not
an echo of the upload: rows come back in another order and numbers in Salesforce's notation
(``1.5E7``), so clients must match them by ``sf__Id`` or external id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from conveyor.testing.fakes.salesforce.api_errors import RecordError
from conveyor.testing.fakes.salesforce.clock import format_rest
from conveyor.testing.fakes.salesforce.csvio import DELIMITERS, CsvFormatError, parse
from conveyor.testing.fakes.salesforce.describe import ObjectSchema
from conveyor.testing.fakes.salesforce.dml import Dml, Outcome, batch_outcome
from conveyor.testing.fakes.salesforce.faults import BulkJobFailure
from conveyor.testing.fakes.salesforce.values import from_csv, to_csv

__all__ = ["FINAL_STATES", "IngestJob", "QueryJob", "process_ingest"]

FINAL_STATES = frozenset(("JobComplete", "Failed", "Aborted"))


@dataclass
class _Job:
    id: str
    operation: str
    object: str
    api_version: str
    line_ending: str
    delimiter: str
    created: datetime
    created_by: str
    state: str
    polls: int = 0
    modstamp: datetime | None = None
    error_message: str | None = None

    def _base(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": format_rest(self.created),
            "systemModstamp": format_rest(self.modstamp or self.created),
            "state": self.state,
        }

    @property
    def delimiter_char(self) -> str:
        return DELIMITERS[self.delimiter]


@dataclass
class IngestJob(_Job):
    external_id: str | None = None
    data: str | None = None
    header: list[str] = field(default_factory=list)
    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)

    def info(self, created: bool = False) -> dict[str, Any]:
        body = self._base()
        if self.external_id:
            body["externalIdFieldName"] = self.external_id
        body.update(
            concurrencyMode="Parallel", contentType="CSV", apiVersion=float(self.api_version)
        )
        if created:
            url = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
            body.update(contentUrl=url, lineEnding=self.line_ending, columnDelimiter=self.delimiter)
            return body
        body.update(
            jobType="V2Ingest",
            lineEnding=self.line_ending,
            columnDelimiter=self.delimiter,
            numberRecordsProcessed=len(self.successful) + len(self.failed),
            numberRecordsFailed=len(self.failed),
            retries=0,
            totalProcessingTime=0,
            apiActiveProcessingTime=0,
            apexProcessingTime=0,
        )
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


@dataclass
class QueryJob(_Job):
    query: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    def info(self, created: bool = False) -> dict[str, Any]:
        body = self._base()
        body.update(
            concurrencyMode="Parallel", contentType="CSV", apiVersion=float(self.api_version)
        )
        if not created:
            body["jobType"] = "V2Query"
        body.update(lineEnding=self.line_ending, columnDelimiter=self.delimiter)
        if not created:
            body.update(numberRecordsProcessed=len(self.rows), retries=0, totalProcessingTime=0)
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


def process_ingest(
    job: IngestJob, obj: ObjectSchema, dml: Dml, failure: BulkJobFailure | None
) -> None:
    """Apply the job's upload row by row and fill its results and final state."""
    try:
        records = parse(job.data or "", job.delimiter_char, job.line_ending)
    except CsvFormatError as exc:
        _fail(job, str(exc))
        return
    if not records:
        _fail(job, "InvalidBatch : the job has no data")
        return
    header = [records[0][0].lstrip("\ufeff"), *records[0][1:]]
    job.header, rows = header, records[1:]
    problem = _header_problem(job, obj, header)
    if problem is not None:
        job.unprocessed = rows
        _fail(job, problem)
        return
    for number, row in enumerate(rows):
        if failure is not None and number >= failure.after_rows + failure.failed_rows:
            job.unprocessed.append(row)
        elif failure is not None and number >= failure.after_rows:
            job.failed.append(["", failure.error.bulk_text(), *row])
        else:
            _apply_row(job, obj, dml, header, row)
    order = random.Random(job.id)
    order.shuffle(job.successful)
    order.shuffle(job.failed)
    if failure is not None:
        _fail(job, failure.job_message)
    else:
        job.state = "JobComplete"


def _fail(job: IngestJob, message: str) -> None:
    job.state = "Failed"
    job.error_message = message


def _header_problem(job: IngestJob, obj: ObjectSchema, header: list[str]) -> str | None:
    lowered = [h.lower() for h in header]
    needed = {"update": "Id", "delete": "Id", "hardDelete": "Id", "upsert": job.external_id}
    required = needed.get(job.operation)
    if required and required.lower() not in lowered:
        return f"InvalidBatch : Field name not found : {required}"
    for column in header:
        relation, _, ext = column.partition(".")
        ref = obj.relationship(relation) if ext else None
        if obj.field(column) is None and ref is None:
            return f"InvalidBatch : Field name not found : {column}"
    return None


def _apply_row(
    job: IngestJob, obj: ObjectSchema, dml: Dml, header: list[str], row: list[str]
) -> None:
    if len(row) != len(header):
        error = RecordError(
            "INVALID_FIELD", f"The row has {len(row)} columns; the header has {len(header)}"
        )
        job.failed.append(["", error.bulk_text(), *row])
        return
    payload = dict(zip(header, row, strict=True))
    outcome = batch_outcome(_write(job, obj, dml, payload))
    if outcome.error is not None:
        job.failed.append([outcome.id or "", outcome.error.bulk_text(), *row])
    else:
        created = "true" if outcome.created else "false"
        job.successful.append([outcome.id or "", created, *_echo(obj, header, row)])


def _write(job: IngestJob, obj: ObjectSchema, dml: Dml, payload: dict[str, str]) -> Outcome:
    def column(name: str) -> str:
        return next((v for k, v in payload.items() if k.lower() == name.lower()), "")

    label = f"{obj.label} ID"
    if job.operation == "insert":
        return dml.create(obj, payload, "csv")
    if job.operation == "update":
        return dml.update(obj, column("Id"), payload, "csv", id_label=label)
    if job.operation == "upsert":
        key = dml.upsert_key(obj, job.external_id or "Id")
        return dml.upsert(obj, key, column(key.name), payload, "csv")
    return dml.delete(obj, column("Id"), hard=job.operation == "hardDelete", id_label=label)


def _echo(obj: ObjectSchema, header: list[str], row: list[str]) -> list[str]:
    """The row as Salesforce reports it back: typed values in Salesforce's notation."""
    echoed = []
    for column, raw in zip(header, row, strict=True):
        spec = obj.field(column)
        if spec is None or raw in ("", "#N/A"):
            echoed.append(raw)
            continue
        try:
            echoed.append(to_csv(spec, from_csv(spec, raw)))
        except ValueError:
            echoed.append(raw)
    return echoed
