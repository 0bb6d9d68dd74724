"""Bulk API 2.0 ingest for large writes: one upsert job, results matched back by key.

Values go as Bulk CSV wants them: an empty cell would leave the field unchanged, so null is
written ``#N/A``; booleans ``true``/``false``; nothing is trimmed; LF line endings (what
simple-salesforce writes and declares). Results are not an echo of the input - Salesforce keeps
no row order and normalises values - so each row is matched by its key column (the external id,
compared without case as Salesforce does, or ``Id``), and a record's values are the ones sent.
Calls: create, upload, close, poll until done, job info, then the successful results, and the
failed and unprocessed ones only when the job says there are some. A job that fails part way is
a TransientError: the batch is sent again, which upserts make safe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any, cast

from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Type
from simple_salesforce.exceptions import SalesforceOperationError

from connectors.salesforce.errors import record_error
from conveyor.errors import RecordError, TransientError

__all__ = ["BulkOutcome", "bulk_upsert"]

#: key value (as sent) -> the record id, or why the row was refused
BulkOutcome = dict[str, str | RecordError]


def bulk_upsert(
    sf: Salesforce, entity: str, key_field: str, rows: Sequence[Mapping[str, Any]], wait: int
) -> BulkOutcome:
    """Upsert ``rows`` (each holding ``key_field``) through ingest jobs; every key answered."""
    handler = cast(SFBulk2Type, getattr(sf.bulk2, entity))
    try:
        jobs = handler.upsert(
            records=[_csv_row(row) for row in rows], external_id_field=key_field, wait=wait
        )
    except SalesforceOperationError as exc:
        # simple-salesforce does not say which job failed, so its rows cannot be told apart:
        # the whole batch is sent again, and being upserts, nothing is doubled
        raise TransientError(f"a Salesforce Bulk job failed part way: {exc}") from None
    outcome: BulkOutcome = {}
    fold = key_field != "Id"  # external ids match without regard to case
    sent = {_key(str(row[key_field]), fold): str(row[key_field]) for row in rows}
    for job in jobs:
        job_id = str(job["job_id"])
        if int(job.get("numberRecordsProcessed", 0)) > int(job.get("numberRecordsFailed", 0)):
            for line in _rows(handler.get_successful_records(job_id)):
                outcome[_sent(line, key_field, sent, fold)] = line["sf__Id"]
        if int(job.get("numberRecordsFailed", 0)):
            for line in _rows(handler.get_failed_records(job_id)):
                outcome[_sent(line, key_field, sent, fold)] = _error(line.get("sf__Error", ""))
        if int(job.get("numberRecordsProcessed", 0)) < int(job.get("numberRecordsTotal", 0)):
            for line in _rows(handler.get_unprocessed_records(job_id)):
                reason = "not processed: the Bulk job stopped before this row"
                outcome[_sent(line, key_field, sent, fold)] = RecordError(reason)
    for value in sent.values():
        outcome.setdefault(value, RecordError("the Bulk job returned no result for this row"))
    return outcome


def _csv_row(row: Mapping[str, Any]) -> dict[str, str]:
    return {name: _cell(value) for name, value in row.items()}


def _cell(value: Any) -> str:
    if value is None:
        return "#N/A"  # an empty cell would leave the field as it is
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


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
