"""The Salesforce connector over simple-salesforce: REST and Bulk API 2.0.

- Reads: SOQL through ``queryAll`` (deleted records come back with ``IsDeleted``, so deletes
  are tombstones), changed at or after the cursor by ``modified_field`` (``SystemModstamp``),
  ties ordered by Id, page by page through ``nextRecordsUrl`` followed exactly as given.
- Writes: sObject Collections, at most 200 records a call, ``allOrNone`` false: creates are
  upserts on the job's external-id field (a retried create finds its record), updates go by
  Id. A failed item's ``errors`` become that record's RecordError.
- Every response's ``Sforce-Limit-Info`` is read: ``api_usage`` holds the org's use, and a run
  stops (TransientError: the cursor stays, the next run continues) before ``max_api_share`` of
  the daily allowance is spent. ``calls`` counts the calls made.
- INVALID_SESSION_ID re-authenticates once (a new client), then is a ConfigError.
- Bulk API 2.0 (:mod:`connectors.salesforce.bulk`): writes of more than ``bulk_threshold``
  records go through ingest jobs; a read whose first REST page says more than ``bulk_threshold``
  records changed continues as a query job, streamed page by page.
- A parent is read and written by its external id through a path such as
  ``Account.Conveyor_Key__c`` (:mod:`connectors.salesforce.records`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from requests import RequestException, Response, Session
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.util import call_salesforce

from connectors.salesforce.bulk import BulkApi
from connectors.salesforce.describe import entity_info
from connectors.salesforce.errors import error_for_code, record_error
from connectors.salesforce.records import from_csv, from_rest, to_csv, to_rest
from connectors.salesforce.settings import SalesforceSettings, parse_limit_info
from connectors.salesforce.soql import changes_query, ids_query
from conveyor.connector import (
    Capabilities,
    ChangeBatch,
    EntityInfo,
    RemoteRecord,
    WriteRequest,
    WriteResult,
)
from conveyor.errors import ConfigError, RecordError, TransientError
from conveyor.retry import parse_retry_after
from conveyor.transport import session_for

__all__ = ["SalesforceConnector"]

T = TypeVar("T")
COLLECTION_LIMIT = 200


class SalesforceConnector:
    name: ClassVar[str] = "salesforce"

    def __init__(self, settings: SalesforceSettings, session: Session | None = None) -> None:
        self.settings = settings
        self.capabilities = Capabilities(
            bulk=True,
            page_size=settings.page_size,
            batch_size=COLLECTION_LIMIT,
            bulk_batch_size=settings.bulk_batch_size,
            delete_detection="tombstones",
            filter=True,
        )
        self.calls = 0
        self.api_usage: tuple[int, int] | None = None
        self._retry_after: float | None = None
        self.session = session or session_for(settings.instance_url, settings.timeout_seconds)
        self.session.hooks["response"].append(self._observe)
        self._sf: Salesforce | None = None
        self._described: dict[str, EntityInfo] = {}  # per connection: describe once
        self._relations: dict[str, dict[str, str]] = {}  # entity -> relationship -> lookup

    # -- the contract ---------------------------------------------------------------------

    def check(self) -> None:
        self._call(lambda sf: sf.limits())

    def describe(self, entity: str) -> EntityInfo:
        if entity not in self._described:
            body = self._rest("GET", f"sobjects/{entity}/describe/")
            info, relations = entity_info(entity, body, self.settings.modified_field, self.describe)
            self._described[entity] = info
            self._relations[entity] = {r.name: r.field for r in relations.values()}
        return self._described[entity]

    def read_changes(
        self,
        entity: str,
        since: dt.datetime | None,
        fields: Sequence[str],
        where: str | None = None,
    ) -> Iterator[ChangeBatch]:
        """REST pages, oldest first; when the first page says more than ``bulk_threshold``
        records changed, a Bulk query instead (unordered: ORDER BY would stop Salesforce
        splitting the job, and the engine needs no order within a run)."""
        # external ids too (they link records), when describe has run: the engine's first call
        known = self._described.get(entity)
        keys = [f.name for f in known.fields.values() if f.external_id] if known else []
        names = list(dict.fromkeys([*fields, *keys, "IsDeleted"]))
        stamp = self.settings.modified_field
        page = self._query(changes_query(entity, names, stamp, since, where), True)
        if not page.get("done", True) and page["totalSize"] > self.settings.bulk_threshold:
            soql = changes_query(entity, names, stamp, since, where, ordered=False)
            for rows in self._bulk().query(soql, True, self.settings.bulk_page_size):
                yield ChangeBatch([from_csv(row, stamp) for row in rows])
            return
        while True:
            yield ChangeBatch([from_rest(r, names, stamp) for r in page["records"]])
            if page.get("done", True):
                return
            page = self._more(page["nextRecordsUrl"])  # as given: queryAll's points at /query/

    def write(
        self, entity: str, requests: Sequence[WriteRequest], external_id_field: str
    ) -> list[WriteResult]:
        if len(requests) > self.settings.bulk_threshold:
            return self._bulk_write(entity, requests, external_id_field)
        results: dict[int, WriteResult] = {}
        creates = [(i, r) for i, r in enumerate(requests) if r.remote_id is None]
        updates = [(i, r) for i, r in enumerate(requests) if r.remote_id is not None]
        for chunk in _chunks(creates, COLLECTION_LIMIT):
            rows = [
                self._rest_values(entity, {**r.values, external_id_field: r.ref}) for _, r in chunk
            ]
            body = _collection(entity, rows)
            path = f"composite/sobjects/{entity}/{external_id_field}"
            answer = self._rest("PATCH", path, json=body)
            results.update(_results(chunk, answer, entity, external_id_field))
        for chunk in _chunks(updates, COLLECTION_LIMIT):
            rows = [self._rest_values(entity, {**r.values, "Id": r.remote_id}) for _, r in chunk]
            body = _collection(entity, rows)
            answer = self._rest("PATCH", "composite/sobjects", json=body)
            results.update(_results(chunk, answer, entity, external_id_field))
        return [results[i] for i in range(len(requests))]

    def _bulk_write(
        self, entity: str, requests: Sequence[WriteRequest], external_id_field: str
    ) -> list[WriteResult]:
        """Above the bulk threshold: an ingest job for the creates (an upsert on the external
        id) and one for the updates (an upsert on Id)."""
        relations = self._relations.get(entity, {})
        creates = [r for r in requests if r.remote_id is None]
        updates = [r for r in requests if r.remote_id is not None]
        done: dict[tuple[str, str], str | RecordError] = {}
        if creates:
            rows = [to_csv({**r.values, external_id_field: r.ref}, relations) for r in creates]
            outcome = self._bulk().upsert(entity, external_id_field, rows)
            done.update((("create", k), v) for k, v in outcome.items())
        if updates:
            rows = [to_csv({**r.values, "Id": r.remote_id}, relations) for r in updates]
            outcome = self._bulk().upsert(entity, "Id", rows)
            done.update((("update", k), v) for k, v in outcome.items())
        return [_bulk_result(r, done, external_id_field) for r in requests]

    def delete(self, entity: str, ids: Sequence[str]) -> list[WriteResult]:
        """To the recycle bin (where ``queryAll`` still sees them), 200 a call, or in a Bulk
        job above the threshold. A record already deleted counts as deleted."""
        if len(ids) > self.settings.bulk_threshold:
            outcome = self._bulk().delete(entity, ids)
            return [_deleted(i, outcome[i]) for i in ids]
        out: list[WriteResult] = []
        for chunk in _chunks(list(ids), COLLECTION_LIMIT):
            params = {"ids": ",".join(chunk), "allOrNone": "false"}
            answer = self._rest("DELETE", "composite/sobjects", params=params)
            for record_id, item in zip(chunk, answer or [], strict=False):  # in the order sent
                error = None if item.get("success") else record_error(item.get("errors", []))
                out.append(_deleted(record_id, error or record_id))
        return out

    def scan_ids(self, entity: str) -> Iterator[Sequence[str]]:
        page = self._query(ids_query(entity), include_deleted=False)
        while True:
            yield [r["Id"] for r in page["records"]]
            if page.get("done", True):
                return
            page = self._more(page["nextRecordsUrl"])

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"SalesforceConnector({self.settings.auth_mode}, v{self.settings.api_version})"

    # -- calls ----------------------------------------------------------------------------

    def _rest_values(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return to_rest(values, self._relations.get(entity, {}))

    def _bulk(self) -> BulkApi:
        return BulkApi(self._jobs, self.settings.poll_seconds, self.settings.bulk_timeout_seconds)

    def _jobs(self, method: str, path: str, **kwargs: Any) -> Response:
        """One Bulk API 2.0 call (``path`` under ``/jobs/``), errors raised as for REST."""

        def send(sf: Salesforce) -> Response:
            return call_salesforce(
                sf.bulk2_url + path, method, sf.session, dict(sf.headers), **kwargs
            )

        return self._call(send)

    def _rest(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._call(lambda sf: sf.restful(path, method=method, **kwargs))

    def _query(self, soql: str, include_deleted: bool) -> Any:
        headers = self._page_header()
        return self._call(lambda sf: sf.query(soql, include_deleted, headers=headers))

    def _more(self, url: str) -> Any:
        headers = self._page_header()
        return self._call(lambda sf: sf.query_more(url, identifier_is_url=True, headers=headers))

    def _page_header(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.settings.page_size}"}

    def _call(self, action: Callable[[Salesforce], T]) -> T:
        """One call, errors mapped; an expired session is renewed once."""
        for attempt in (1, 2):
            try:
                return action(self._client())
            except SalesforceError as exc:
                error = error_for_code(exc.status, exc.content, self._retry_after)
                expired = _code(exc.content) == "INVALID_SESSION_ID"
                if expired and attempt == 1 and self.settings.auth_mode != "session":
                    self._sf = None  # log in again and retry this call once
                    continue
                raise error from None
            except RequestException as exc:
                raise TransientError(
                    f"Salesforce cannot be reached: {type(exc).__name__}"
                ) from None
        raise ConfigError("Salesforce: the session expired again after logging in again")

    def _client(self) -> Salesforce:
        if self._sf is None:
            self._sf = _login(self.settings, self.session)
        return self._sf

    def _observe(self, response: Response, *args: Any, **kwargs: Any) -> None:
        """Every response: count it, note the org's API use and any Retry-After."""
        self.calls += 1
        self._retry_after = parse_retry_after(response.headers.get("Retry-After"))
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            self.api_usage = usage
            used, limit = usage
            if limit and used >= self.settings.max_api_share * limit:
                response.close()  # not read: hand its connection back before stopping
                raise TransientError(
                    f"Salesforce: {used:,} of the org's {limit:,} daily API calls are used, "
                    f"past the {self.settings.max_api_share:.0%} this job may spend; the next "
                    "run continues from here",
                    retry_after=3600,
                )


def _login(settings: SalesforceSettings, session: Session) -> Salesforce:
    secret = _reveal
    common: dict[str, Any] = {"version": settings.api_version, "session": session}
    if settings.auth_mode == "session":
        return Salesforce(
            instance_url=settings.instance_url,
            session_id=secret(settings.access_token),
            **common,
        )
    if settings.auth_mode == "client_credentials":
        domain = (
            (settings.instance_url or "").removeprefix("https://").removesuffix(".salesforce.com")
        )
        return Salesforce(
            consumer_key=settings.client_id,
            consumer_secret=secret(settings.client_secret),
            domain=domain,
            **common,
        )
    return Salesforce(
        username=settings.username,
        password=secret(settings.password),
        security_token=secret(settings.security_token) or "",
        domain="test" if settings.sandbox else "login",
        **common,
    )


def _reveal(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def _collection(entity: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    records = [{"attributes": {"type": entity}, **row} for row in rows]
    return {"allOrNone": False, "records": records}


def _results(
    chunk: list[tuple[int, WriteRequest]], answer: Any, entity: str, external_id_field: str
) -> dict[int, WriteResult]:
    """Collection items answer in the order sent (HTTP 200 even when all failed)."""
    out: dict[int, WriteResult] = {}
    for (index, request), item in zip(chunk, answer or [], strict=False):
        if not item.get("success"):
            out[index] = WriteResult(request.ref, None, record_error(item.get("errors", [])))
            continue
        values = dict(request.values)
        if request.remote_id is None:  # a create: the upsert wrote our key too
            values[external_id_field] = request.ref
        out[index] = WriteResult(request.ref, RemoteRecord(str(item["id"]), values, None))
    for index, request in chunk:
        out.setdefault(index, WriteResult(request.ref, None, RecordError("no result returned")))
    return out


def _bulk_result(
    request: WriteRequest, done: Mapping[tuple[str, str], str | RecordError], ext: str
) -> WriteResult:
    key = ("create", request.ref) if request.remote_id is None else ("update", request.remote_id)
    answer = done.get(key, RecordError("the Bulk job returned no result for this row"))
    if isinstance(answer, RecordError):
        return WriteResult(request.ref, None, answer)
    values = dict(request.values)
    if request.remote_id is None:
        values[ext] = request.ref
    return WriteResult(request.ref, RemoteRecord(answer, values, None))


def _deleted(record_id: str, answer: str | RecordError) -> WriteResult:
    if isinstance(answer, RecordError) and not str(answer).startswith("ENTITY_IS_DELETED"):
        return WriteResult(record_id, None, answer)
    return WriteResult(record_id, RemoteRecord(record_id, {}, None, deleted=True))


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _code(content: Any) -> str | None:
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        return content[0].get("errorCode")
    return None
