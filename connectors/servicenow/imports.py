"""Large writes through the Import Set API: rows into a staging table, a transform map moves
them into the target, coalescing on the job's external-id (correlation) field.

``insertMultiple`` answers at once with the import set's id (it runs asynchronously), so each
row's outcome is read back from the staging table (``sys_import_state``): ``inserted``,
``updated`` and ``ignored`` (nothing changed) are written; ``error`` and ``skipped`` park the
record with the transform's comment, although the call itself answered 201. The staging columns
are the target's names with a ``u_`` prefix (a custom column keeps its own name), as ServiceNow's
"auto map matching fields" pairs them by label; ``insertMultiple`` itself takes each row's
columns by label, so rows are sent keyed by the staging columns' labels (from sys_dictionary).
An empty staging value leaves the target's value alone, so a null cannot be written this way:
such a record goes through the Table API instead.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from requests import Response

from conveyor.connector import RemoteRecord, WriteRequest, WriteResult
from conveyor.errors import RecordError, TransientError

__all__ = ["import_rows", "staging_name"]

_DONE = ("inserted", "updated", "ignored")
_FAILED = ("error", "skipped")


class Api(Protocol):
    settings: Any

    def _call(self, method: str, path: str, record: bool = False, **kwargs: Any) -> Response: ...

    def _rows(self, table: str, query: str, fields: str) -> list[dict[str, Any]]: ...


def staging_name(column: str) -> str:
    return column if column.startswith("u_") else f"u_{column}"


def import_rows(
    api: Api, staging: str, requests: Sequence[WriteRequest], key_field: str
) -> list[WriteResult]:
    labels = _labels(api, staging)
    rows = [
        {
            labels.get(staging_name(k), staging_name(k)): v
            for k, v in {**r.values, key_field: r.ref}.items()
            if v is not None
        }
        for r in requests
    ]
    answer = api._call("POST", f"import/{staging}/insertMultiple", json={"records": rows})
    import_set = str(answer.json().get("import_set_id") or "")
    if not import_set:
        raise TransientError("ServiceNow's Import Set API answered without an import set id")
    outcome = _outcome(api, staging, import_set, staging_name(key_field), len(rows))
    return [_result(r, outcome, key_field) for r in requests]


def _labels(api: Api, staging: str) -> dict[str, str]:
    """The staging table's column -> its label: ``insertMultiple`` maps columns by label."""
    query = f"name={staging}^elementISNOTEMPTY"
    rows = api._rows("sys_dictionary", query, "element,column_label")
    return {_text(r.get("element")): _text(r.get("column_label")) for r in rows}


def _text(cell: Any) -> str:
    return str(cell.get("value") if isinstance(cell, Mapping) else cell or "")


def _outcome(
    api: Api, staging: str, import_set: str, key_column: str, expected: int
) -> dict[str, Mapping[str, Any]]:
    """Our key -> its staging row, once every row of the import set is processed."""
    wait, waited = float(api.settings.import_poll_seconds), 0.0
    fields = f"{key_column},sys_import_state,sys_import_state_comment,sys_target_sys_id"
    while True:
        params = {
            "sysparm_query": f"sys_import_set={import_set}",
            "sysparm_fields": fields,
            "sysparm_limit": expected + 10,
            "sysparm_exclude_reference_link": "true",
        }
        rows = api._call("GET", f"table/{staging}", params=params).json().get("result") or []
        states = [str(r.get("sys_import_state") or "") for r in rows]
        if len(rows) >= expected and all(s in _DONE + _FAILED for s in states):
            return {str(r.get(key_column)).casefold(): r for r in rows}
        if waited >= api.settings.timeout_seconds * 10:
            raise TransientError(f"ServiceNow's import set {import_set} is still being processed")
        time.sleep(wait)
        waited += wait
        wait = min(wait * 2, 30.0)


def _result(
    request: WriteRequest, outcome: Mapping[str, Mapping[str, Any]], key_field: str
) -> WriteResult:
    row = outcome.get(request.ref.casefold())
    if row is None:
        return WriteResult(request.ref, None, RecordError("the import set has no row for it"))
    state = str(row.get("sys_import_state") or "")
    if state in _FAILED:
        comment = str(row.get("sys_import_state_comment") or "no comment")
        return WriteResult(request.ref, None, RecordError(f"import set row {state}: {comment}"))
    target = row.get("sys_target_sys_id")
    sys_id = str(target.get("value") if isinstance(target, Mapping) else target or "")
    values = {**request.values, key_field: request.ref}
    return WriteResult(request.ref, RemoteRecord(sys_id or str(request.remote_id), values, None))
