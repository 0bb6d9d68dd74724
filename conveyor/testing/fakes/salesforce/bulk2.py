"""Bulk API 2.0 resources: ingest jobs (create, one CSV upload, close, poll, results) and query
jobs (create, poll, results paged by locator).

A job reaches its final state on the N-th status poll (``polls_to_complete``, default 1; earlier
polls answer ``InProgress``), so clients must really poll, and results asked for before that are
refused. Query results page with ``locator`` and ``maxRecords``; the last page carries
``Sforce-Locator: null``; results must be fetched with the API version that created the job
(otherwise 409). Error codes the documentation does not name (INVALIDJOB, INVALIDJOBSTATE,
INVALIDLOCATOR) are the fake's choice.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable
from typing import Any

from conveyor.testing.fakes.salesforce.api_errors import ApiError, not_found
from conveyor.testing.fakes.salesforce.bulk_jobs import (
    FINAL_STATES,
    IngestJob,
    QueryJob,
    process_ingest,
)
from conveyor.testing.fakes.salesforce.csvio import DELIMITERS, LINE_ENDINGS, write
from conveyor.testing.fakes.salesforce.dml import Dml
from conveyor.testing.fakes.salesforce.faults import Faults
from conveyor.testing.fakes.salesforce.ids import JOB_PREFIX
from conveyor.testing.fakes.salesforce.query import Executor
from conveyor.testing.fakes.salesforce.routing import Request, Response, Router
from conveyor.testing.fakes.salesforce.store import Org

__all__ = ["Bulk2Api"]

_JOBS = "/services/data/{version}/jobs"
_INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
_RESULTS = {
    "successfulresults": "successful",
    "failedresults": "failed",
    "unprocessedrecords": "unprocessed",
}


class Bulk2Api:
    """The Bulk API 2.0 job resources (callers hold the org's lock)."""

    def __init__(
        self,
        org: Org,
        dml: Dml,
        executor: Executor,
        faults: Faults,
        polls_to_complete: Callable[[], int],
        page_size: Callable[[], int],
    ) -> None:
        self.org = org
        self.dml = dml
        self.executor = executor
        self.faults = faults
        self._polls = polls_to_complete
        self._page_size = page_size
        self.ingest_jobs: dict[str, IngestJob] = {}
        self.query_jobs: dict[str, QueryJob] = {}
        self._lock = threading.RLock()

    def register(self, router: Router) -> None:
        ingest, query = f"{_JOBS}/ingest", f"{_JOBS}/query"
        router.add("POST", ingest, self.create_ingest)
        router.add("GET", ingest, lambda r: _listing(self.ingest_jobs.values()))
        router.add("PUT", ingest + "/{job}/batches", self.upload)
        router.add("GET", ingest + "/{job}", self.get_ingest)
        router.add("PATCH", ingest + "/{job}", self.patch_ingest)
        router.add("DELETE", ingest + "/{job}", lambda r: self._delete(self.ingest_jobs, r))
        router.add("GET", ingest + "/{job}/{results}", self.ingest_results)
        router.add("POST", query, self.create_query)
        router.add("GET", query, lambda r: _listing(self.query_jobs.values()))
        router.add("GET", query + "/{job}", self.get_query)
        router.add("PATCH", query + "/{job}", self.patch_query)
        router.add("DELETE", query + "/{job}", lambda r: self._delete(self.query_jobs, r))
        router.add("GET", query + "/{job}/results", self.query_results)

    # -- ingest -------------------------------------------------------------------------------

    def create_ingest(self, request: Request) -> Response:
        body = request.json_object()
        operation = str(body.get("operation", ""))
        if operation not in _INGEST_OPERATIONS:
            raise _invalid_job(f"operation must be one of {', '.join(_INGEST_OPERATIONS)}")
        obj = self.org.schema.get(str(body.get("object", "")))
        if obj is None:
            raise _invalid_job(f"sObject type '{body.get('object')}' is not supported")
        external_id = None
        if operation == "upsert":
            name = body.get("externalIdFieldName")
            if not name:
                raise _invalid_job("externalIdFieldName is required for upsert")
            external_id = self.dml.upsert_key(obj, str(name)).name
        job = IngestJob(
            external_id=external_id,
            **self._job_fields(request, body, operation, obj.name, "Open"),
        )
        self.ingest_jobs[job.id] = job
        return Response.json(200, job.info(created=True))

    def upload(self, request: Request) -> Response:
        job = self._find(self.ingest_jobs, request)
        if job.state != "Open" or job.data is not None:
            raise ApiError(
                409,
                "INVALIDJOBSTATE",
                "Only one data upload is allowed per job, while it is Open; this job is "
                f"{job.state}" + (" and already has its data" if job.data is not None else ""),
            )
        job.data = request.text()
        return Response.empty(201)

    def patch_ingest(self, request: Request) -> Response:
        job = self._find(self.ingest_jobs, request)
        state = request.json_object().get("state")
        if state == "UploadComplete" and job.state == "Open":
            job.state = "UploadComplete"
        elif state == "Aborted" and job.state not in FINAL_STATES:
            job.state = "Aborted"
            job.unprocessed = []
        else:
            raise ApiError(
                409, "INVALIDJOBSTATE", f"Cannot change the job from {job.state} to {state}"
            )
        job.modstamp = self.org.now()
        return Response.json(200, job.info())

    def get_ingest(self, request: Request) -> Response:
        job = self._find(self.ingest_jobs, request)
        if job.state in ("UploadComplete", "InProgress") and self._poll(job):
            obj = self.org.schema.require(job.object)
            process_ingest(job, obj, self.dml, self.faults.next_bulk_failure())
            job.modstamp = self.org.now()
        return Response.json(200, job.info())

    def ingest_results(self, request: Request) -> Response:
        job = self._find(self.ingest_jobs, request)
        kind = _RESULTS.get(request.params["results"].lower())
        if kind is None:
            raise not_found()
        if job.state not in FINAL_STATES:
            raise ApiError(
                400, "INVALIDJOBSTATE", f"Results are not available while the job is {job.state}"
            )
        header = {
            "successful": ["sf__Id", "sf__Created"],
            "failed": ["sf__Id", "sf__Error"],
            "unprocessed": [],
        }[kind] + job.header
        rows: list[list[str]] = getattr(job, kind)
        return Response.csv(write(header, rows, job.delimiter_char, job.line_ending))

    # -- query --------------------------------------------------------------------------------

    def create_query(self, request: Request) -> Response:
        body = request.json_object()
        operation = str(body.get("operation", "query"))
        if operation not in ("query", "queryAll"):
            raise _invalid_job("operation must be query or queryAll")
        text = str(body.get("query") or "")
        result = self.executor.run(text, include_deleted=operation == "queryAll")
        if result.count_only:
            raise _invalid_job("Bulk API 2.0 query jobs do not support COUNT()")
        job = QueryJob(
            query=text,
            **self._job_fields(request, body, operation, result.obj.name, "UploadComplete"),
        )
        self.query_jobs[job.id] = job
        return Response.json(200, job.info(created=True))

    def get_query(self, request: Request) -> Response:
        job = self._find(self.query_jobs, request)
        if job.state in ("UploadComplete", "InProgress") and self._poll(job):
            result = self.executor.run(job.query, include_deleted=job.operation == "queryAll")
            job.header = [c.header for c in result.columns]
            job.rows = [self.executor.csv_row(result, r) for r in result.rows]
            job.state = "JobComplete"
            job.modstamp = self.org.now()
        return Response.json(200, job.info())

    def patch_query(self, request: Request) -> Response:
        job = self._find(self.query_jobs, request)
        if request.json_object().get("state") != "Aborted" or job.state in FINAL_STATES:
            raise ApiError(409, "INVALIDJOBSTATE", f"Cannot abort a job that is {job.state}")
        job.state = "Aborted"
        return Response.json(200, job.info())

    def query_results(self, request: Request) -> Response:
        job = self._find(self.query_jobs, request)
        if request.version != job.api_version:
            raise ApiError(
                409,
                "INVALIDJOBSTATE",
                f"Get the results with API version {job.api_version}, the version that created "
                "the job",
            )
        if job.state != "JobComplete":
            raise ApiError(
                400, "INVALIDJOBSTATE", f"Results are not available while the job is {job.state}"
            )
        offset = _decode_locator(request.arg("locator"))
        size_text = request.arg("maxRecords")
        size = int(size_text) if size_text and size_text.isdigit() else self._page_size()
        chunk = job.rows[offset : offset + max(1, size)]
        end = offset + len(chunk)
        headers = {
            "Sforce-Locator": _encode_locator(end) if end < len(job.rows) else "null",
            "Sforce-NumberOfRecords": str(len(chunk)),
        }
        text = write(job.header, chunk, job.delimiter_char, job.line_ending, quote_all=True)
        return Response.csv(text, headers)

    # -- helpers ------------------------------------------------------------------------------

    def _job_fields(
        self, request: Request, body: dict[str, Any], operation: str, name: str, state: str
    ) -> dict[str, Any]:
        line_ending = str(body.get("lineEnding") or "LF")
        delimiter = str(body.get("columnDelimiter") or "COMMA")
        if line_ending not in LINE_ENDINGS or delimiter not in DELIMITERS:
            raise _invalid_job(
                f"lineEnding must be one of {sorted(LINE_ENDINGS)} and columnDelimiter one of "
                f"{sorted(DELIMITERS)}"
            )
        return {
            "id": self.org.ids.new(JOB_PREFIX),
            "operation": operation,
            "object": name,
            "api_version": request.version,
            "line_ending": line_ending,
            "delimiter": delimiter,
            "created": self.org.now(),
            "created_by": self.org.user_id,
            "state": state,
        }

    def _poll(self, job: IngestJob | QueryJob) -> bool:
        """Count a status poll; True when this poll completes the job."""
        job.polls += 1
        if job.polls >= self._polls():
            return True
        job.state = "InProgress"
        return False

    def _find(self, jobs: dict[str, Any], request: Request) -> Any:
        job = jobs.get(request.params["job"])
        if job is None:
            raise not_found()
        return job

    def _delete(self, jobs: dict[str, Any], request: Request) -> Response:
        job = self._find(jobs, request)
        if job.state not in FINAL_STATES:
            raise ApiError(409, "INVALIDJOBSTATE", f"Cannot delete a job that is {job.state}")
        del jobs[job.id]
        return Response.empty()


def _invalid_job(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOB", message)


def _listing(jobs: Any) -> Response:
    return Response.json(
        200, {"done": True, "records": [j.info() for j in jobs], "nextRecordsUrl": None}
    )


def _encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_locator(locator: str | None) -> int:
    if not locator or locator == "null":
        return 0
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if not text.isdigit():
        raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
    return int(text)
