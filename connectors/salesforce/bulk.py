"""Bulk API 2.0 through the connector's own calls: ingest jobs for large writes, query jobs for
large reads.

Not through simple-salesforce's ``bulk2``: it spends a call on job info after the poll that
already saw the job finish, and reads a query's whole result into memory; both matter here (the
issue's budget is 10 calls for a sync of 10,000 records; reads must stream). The calls still go
through simple-salesforce's session and error handling (``call_salesforce``), so they are
counted, limited and mapped like every other call.

Ingest: create, upload one CSV, close, poll (after a first wait, doubling to 30 s) until done;
then the successful results, and the failed and unprocessed ones only when the job's counts say
there are some: 5 calls for a job that finishes by its first poll. Values go as Bulk CSV wants
them: an empty cell leaves a field unchanged, so null is ``#N/A``; LF line endings. Results are
not an echo of the input (Salesforce keeps no row order and normalises values), so rows are
matched by their key column: the external id, compared without case as Salesforce does, or Id.

Query: create, poll, then the results page by page (``locator`` until ``Sforce-Locator`` is
``null``), each page parsed and handed on before the next is asked for.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from requests import Response

from connectors.salesforce.errors import record_error
from conveyor.errors import ConfigError, RecordError, TransientError

__all__ = ["BulkApi", "BulkOutcome"]

#: key value (as sent) -> the record id, or why the row was refused
BulkOutcome = dict[str, str | RecordError]
#: (method, path under /jobs/, requests keyword arguments) -> the response (errors raised)
Send = Callable[..., Response]
_FINAL = ("JobComplete", "Failed", "Aborted")
_MAX_POLL_WAIT = 30.0


class BulkApi:
    def __init__(
        self,
        send: Send,
        poll_seconds: float,
        timeout_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._send = send
        self._poll = poll_seconds
        self._timeout = timeout_seconds
        self._sleep = sleep

    # -- ingest ---------------------------------------------------------------------------

    def upsert(self, entity: str, key_field: str, rows: Sequence[Mapping[str, Any]]) -> BulkOutcome:
        """Upsert ``rows`` (each holding ``key_field``) in one ingest job; every key answered."""
        spec = {"operation": "upsert", "externalIdFieldName": key_field}
        return self._ingest(entity, spec, key_field, rows)

    def delete(self, entity: str, ids: Sequence[str]) -> BulkOutcome:
        """Delete (to the recycle bin) the records ``ids`` in one ingest job."""
        return self._ingest(entity, {"operation": "delete"}, "Id", [{"Id": i} for i in ids])

    def _ingest(
        self,
        entity: str,
        operation: Mapping[str, str],
        key_field: str,
        rows: Sequence[Mapping[str, Any]],
    ) -> BulkOutcome:
        spec = {
            "object": entity,
            **operation,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        job = self._send("POST", "ingest/", json=spec).json()["id"]
        self._send(
            "PUT",
            f"ingest/{job}/batches",
            data=_csv_text(rows).encode(),
            additional_headers={"Content-Type": "text/csv"},
        )
        self._send("PATCH", f"ingest/{job}/", json={"state": "UploadComplete"})
        info = self._wait(f"ingest/{job}/")
        return self._ingest_outcome(job, info, key_field, rows)

    def _ingest_outcome(
        self, job: str, info: Mapping[str, Any], key_field: str, rows: Sequence[Mapping[str, Any]]
    ) -> BulkOutcome:
        fold = key_field != "Id"  # external ids match without regard to case
        sent = {_key(str(row[key_field]), fold): str(row[key_field]) for row in rows}
        processed = int(info.get("numberRecordsProcessed", 0))
        failed = int(info.get("numberRecordsFailed", 0))
        outcome: BulkOutcome = {}
        if processed > failed:
            for line in self._results(f"ingest/{job}/successfulResults/"):
                outcome[_sent(line, key_field, sent, fold)] = line["sf__Id"]
        if failed:
            for line in self._results(f"ingest/{job}/failedResults/"):
                outcome[_sent(line, key_field, sent, fold)] = _error(line.get("sf__Error", ""))
        if processed < len(rows):
            for line in self._results(f"ingest/{job}/unprocessedrecords/"):
                reason = "not processed: the Bulk job stopped before this row"
                outcome[_sent(line, key_field, sent, fold)] = RecordError(reason)
        for value in sent.values():
            outcome.setdefault(value, RecordError("the Bulk job returned no result for this row"))
        return outcome

    def _results(self, path: str) -> list[dict[str, str]]:
        text = self._send("GET", path, additional_headers={"Accept": "text/csv"}).text
        return list(csv.DictReader(io.StringIO(text)))

    # -- query ----------------------------------------------------------------------------

    def query(
        self, soql: str, include_deleted: bool, page_size: int
    ) -> Iterator[list[dict[str, str]]]:
        """The query's rows, a page (at most ``page_size`` rows) at a time."""
        spec = {"operation": "queryAll" if include_deleted else "query", "query": soql}
        job = self._send("POST", "query/", json=spec).json()["id"]
        self._wait(f"query/{job}/")
        locator: str | None = None
        while True:
            params = {"maxRecords": str(page_size), **({"locator": locator} if locator else {})}
            answer = self._send(
                "GET",
                f"query/{job}/results",
                params=params,
                additional_headers={"Accept": "text/csv"},
            )
            yield list(csv.DictReader(io.StringIO(answer.text)))
            locator = answer.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                return

    # -- both -----------------------------------------------------------------------------

    def _wait(self, path: str) -> dict[str, Any]:
        """Poll until the job is done; a failed job raises (see :func:`_job_failed`)."""
        delay, waited = self._poll, 0.0
        while True:
            self._sleep(delay)
            waited += delay
            info: dict[str, Any] = self._send("GET", path).json()
            state = info.get("state")
            if state == "JobComplete":
                return info
            if state in _FINAL:
                raise _job_failed(info)
            if waited >= self._timeout:
                raise TransientError(
                    f"the Salesforce Bulk job {info.get('id')} is still {state} after "
                    f"{waited:.0f} s (bulk_timeout_seconds); the next run tries again"
                )
            delay = min(delay * 2, _MAX_POLL_WAIT)


def _job_failed(info: Mapping[str, Any]) -> ConfigError | TransientError:
    """A job refused as a whole for its request (a column Salesforce does not know) is the
    job's to fix; any other failure is sent again, which upserts make safe."""
    message = str(info.get("errorMessage") or info.get("state"))
    if message.startswith("InvalidBatch"):
        return ConfigError(f"Salesforce refused the Bulk job: {message}")
    return TransientError(f"a Salesforce Bulk job ended {info.get('state')}: {message}")


def _csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    header = list(dict.fromkeys(name for row in rows for name in row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row[name]) if name in row else "" for name in header])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return "#N/A"  # an empty cell would leave the field as it is
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _key(value: str, fold: bool) -> str:
    return value.casefold() if fold else value


def _sent(line: Mapping[str, str], key_field: str, sent: Mapping[str, str], fold: bool) -> str:
    value = line.get(key_field, "")
    return sent.get(_key(value, fold), value)


def _error(text: str) -> RecordError:
    """``sf__Error`` reads ``CODE:message:fields --``."""
    code, _, rest = text.partition(":")
    message, _, fields = rest.rpartition(":")
    names = [f for f in fields.replace("--", "").split(",") if f.strip()]
    if not message:
        message, names = rest, []
    return record_error([{"statusCode": code, "message": message.strip(), "fields": names}])
