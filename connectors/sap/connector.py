"""The SAP connector: an OData v2 service (S/4HANA's API_BUSINESS_PARTNER and the like).

pyodata, SAP's own client, reads the service's ``$metadata`` (types, keys, and the SAP
annotations ``sap:creatable``, ``sap:updatable``, ``sap:filterable``) through the connector's
requests session. Reads and writes are plain requests through that session, because pyodata
neither follows ``__next`` links nor fetches CSRF tokens nor builds ``$batch`` changesets.

- Reads: ``$filter`` on the change stamp (``LastChangeDate`` and ``LastChangeTime`` combined as
  ``date gt D or (date eq D and time ge T)``, in the system's local time), ``$select`` of the
  mapped properties, ordered by the stamp and the key; server pages followed through ``__next``,
  an empty page that still carries one included. Each entity's ETag is kept for the writes.
  An entity never changed has an empty change date and is read by its creation stamp
  (``created_date``/``created_time``) in the same query; OData cannot order by "the change,
  else the creation", so such entities come first in a read. That is safe: a run always reads
  to the end, and the engine's cursor is the newest moment of all it read.
- Writes: one ``$batch`` per ``batch_size`` changes, in changesets of ``changeset_size``
  (:mod:`connectors.sap.batch`). Creates POST, after looking our keys up in the external-id
  property (a retried create finds its entity), with empty values left out (SAP's defaults
  apply). Updates MERGE with ``If-Match``: the ETag read this run, else the version the engine
  kept from the last run, else ``*``. A failed changeset is rolled back by SAP as a whole, so
  its changes are sent again one by one to find the refused one. A 412 (the entity changed
  since it was read) is a :class:`~conveyor.errors.StaleRecordError` carrying the entity as it
  is now, read at once: the engine decides again by the job's conflict policy.
- CSRF: a token is fetched (``X-CSRF-Token: Fetch``) before the first modifying request and
  sent with the session's cookie; a 403 "CSRF token validation failed" fetches a new one once.
- Deletes: found by a key-only scan; an entity set marked ``sap:deletable="false"`` (as
  A_BusinessPartner is) refuses deletes, each with that reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import pyodata  # type: ignore[import-untyped]
from oauthlib.oauth2 import BackendApplicationClient  # type: ignore[import-untyped]
from requests import RequestException, Response, Session
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session  # type: ignore[import-untyped]

from connectors.sap.batch import Change, Done, send_batch
from connectors.sap.describe import ServiceSchema, describe_set
from connectors.sap.errors import call_error
from connectors.sap.settings import SapSettings
from connectors.sap.values import change_moment, datetime_literal, time_literal
from conveyor.connector import (
    Capabilities,
    ChangeBatch,
    EntityInfo,
    RemoteRecord,
    WriteRequest,
    WriteResult,
)
from conveyor.errors import ConfigError, RecordError, StaleRecordError, TransientError
from conveyor.transport import https_form, quiet_oauth_logs, session_for

__all__ = ["SapConnector"]

quiet_oauth_logs()

LOOKUP_BATCH = 40  # keys per lookup $filter (URL length)


class SapConnector:
    name: ClassVar[str] = "sap"

    def __init__(self, settings: SapSettings) -> None:
        self.settings = settings
        self.capabilities = Capabilities(
            bulk=False,
            page_size=settings.page_size,
            batch_size=settings.batch_size,
            delete_detection="key_scan",
            filter=True,
        )
        self.calls = 0
        self._session: Session | None = None
        self._csrf: str | None = None
        self._schema: ServiceSchema | None = None
        self._etags: dict[str, str] = {}  # entity key -> the ETag it was read with
        self._zone = ZoneInfo(settings.system_time_zone)

    # -- the contract ---------------------------------------------------------------------

    def check(self) -> None:
        self._get("", params={"$format": "json"})

    def describe(self, entity: str) -> EntityInfo:
        return describe_set(self._service(), entity, self.settings.changed_date)

    def read_changes(
        self,
        entity: str,
        since: dt.datetime | None,
        fields: Sequence[str],
        where: str | None = None,
    ) -> Iterator[ChangeBatch]:
        info = self.describe(entity)
        key = info.id_field
        s = self.settings
        stamps = [s.changed_date, *filter(None, [s.changed_time])]
        created = list(filter(None, [s.created_date, s.created_time]))
        known = [f.name for f in info.fields.values() if f.external_id]
        names = list(dict.fromkeys([key, *fields, *known, *stamps, *created]))
        params = {
            "$select": ",".join(names),
            "$orderby": ",".join([*stamps, key]),
            "$format": "json",
        }
        conditions = [c for c in (self._since_filter(since), where) if c]
        if conditions:
            params["$filter"] = " and ".join(f"({c})" for c in conditions)
        size = self.settings.page_size
        for rows in self._pages(entity, params):
            for start in range(0, len(rows), size):
                yield ChangeBatch([self._record(row, key) for row in rows[start : start + size]])

    def write(
        self, entity: str, requests: Sequence[WriteRequest], external_id_field: str
    ) -> list[WriteResult]:
        key = self.describe(entity).id_field
        refused = {r.ref: why for r in requests if (why := self._refusal(r))}
        sent = [r for r in requests if r.ref not in refused]
        creates = [r.ref for r in sent if r.remote_id is None]
        found = self._lookup(entity, key, external_id_field, creates) if creates else {}
        changes = [self._change(entity, r, external_id_field, found.get(r.ref)) for r in sent]
        outcomes: list[Done | RecordError] = []
        for start in range(0, len(changes), self.settings.batch_size):
            chunk = changes[start : start + self.settings.batch_size]
            outcomes += send_batch(self, chunk, self.settings.changeset_size)
        done = {
            r.ref: self._result(entity, r, c, o, key)
            for r, c, o in zip(sent, changes, outcomes, strict=True)
        }
        return [
            done.get(r.ref) or WriteResult(r.ref, None, RecordError(refused[r.ref]))
            for r in requests
        ]

    def _refusal(self, request: WriteRequest) -> str | None:
        """Why SAP would refuse the request's values, checked before sending (one refused
        change rolls its whole changeset back)."""
        schema, creating = self._service(), request.remote_id is None
        found = [schema.problem(v, n, creating) for n, v in request.values.items()]
        problems = [p for p in found if p]
        return "; ".join(problems) + " (checked against $metadata)" if problems else None

    def delete(self, entity: str, ids: Sequence[str]) -> list[WriteResult]:
        if not self._service().deletable(entity):
            why = RecordError(
                f"SAP refuses deletes of {entity} (sap:deletable=false): choose another delete "
                "policy for this job (ignore, or soft with a blocking flag)"
            )
            return [WriteResult(i, None, why) for i in ids]
        out = []
        for key in ids:
            try:
                etag = {"If-Match": self._etags.get(key, "*")}
                self._modify("DELETE", f"{entity}({_key_literal(key)})", headers=etag)
            except RecordError as error:
                out.append(WriteResult(key, None, error))
                continue
            out.append(WriteResult(key, RemoteRecord(key, {}, None, deleted=True)))
        return out

    def scan_ids(self, entity: str) -> Iterator[Sequence[str]]:
        key = self.describe(entity).id_field
        params = {"$select": key, "$orderby": key, "$format": "json"}
        for rows in self._pages(entity, params):
            yield [str(row[key]) for row in rows]

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def __repr__(self) -> str:
        return f"SapConnector({self.settings.auth_mode})"

    # -- reads ----------------------------------------------------------------------------

    def _since_filter(self, since: dt.datetime | None) -> str | None:
        """Changed since the cursor, or never changed (an empty change date) and created since."""
        if since is None:
            return None
        local = since.astimezone(self._zone).replace(tzinfo=None, microsecond=0)
        s = self.settings
        changed = _stamp_since(s.changed_date, s.changed_time, local)
        if s.created_date is None:
            return changed
        created = _stamp_since(s.created_date, s.created_time, local)
        return f"{changed} or ({s.changed_date} eq null and ({created}))"

    def _pages(self, entity: str, params: Mapping[str, str]) -> Iterator[list[dict[str, Any]]]:
        """Every server page, through ``__next`` (an empty page with one goes on)."""
        answer = self._get(entity, params=params)
        while True:
            yield list(answer.get("results") or [])
            link = answer.get("__next")
            if not link:
                return
            answer = self._get(https_form(urljoin(self._base() + "/", str(link))), absolute=True)

    def _record(self, row: Mapping[str, Any], key: str) -> RemoteRecord:
        meta = row.get("__metadata") or {}
        record_id = str(row[key])
        etag = str(meta["etag"]) if meta.get("etag") else None
        if etag:
            self._etags[record_id] = etag
        schema = self._service()
        values = {n: schema.value(row.get(n), n) for n in row if n != "__metadata"}
        return RemoteRecord(record_id, values, self._moment(row), version=etag)

    def _moment(self, row: Mapping[str, Any]) -> dt.datetime | None:
        """The last change, or the creation of an entity never changed."""
        s = self.settings
        for date, time in ((s.changed_date, s.changed_time), (s.created_date, s.created_time)):
            if date is not None and row.get(date):
                return change_moment(row[date], row.get(time) if time else None, self._zone)
        return None

    # -- writes ---------------------------------------------------------------------------

    def _lookup(self, entity: str, key: str, key_field: str, refs: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(refs), LOOKUP_BATCH):
            chunk = refs[start : start + LOOKUP_BATCH]
            clause = " or ".join(f"{key_field} eq {_string(r)}" for r in chunk)
            params = {"$filter": clause, "$select": f"{key},{key_field}", "$format": "json"}
            for rows in self._pages(entity, params):
                for row in rows:
                    found.setdefault(str(row.get(key_field)), str(row[key]))
        return found

    def _change(
        self, entity: str, request: WriteRequest, key_field: str, existing: str | None
    ) -> Change:
        schema = self._service()
        body = {n: schema.odata(v, n) for n, v in request.values.items()}
        target = request.remote_id or existing
        if target is None:  # an empty value is left out: SAP's default applies
            given = {n: v for n, v in body.items() if v is not None}
            return Change("POST", entity, {**given, key_field: request.ref}, None)
        etag = self._etags.get(target) or request.version or "*"
        return Change("MERGE", f"{entity}({_key_literal(target)})", body, etag, target)

    def _result(
        self,
        entity: str,
        request: WriteRequest,
        change: Change,
        outcome: Done | RecordError,
        key: str,
    ) -> WriteResult:
        if isinstance(outcome, StaleRecordError) and change.target is not None:
            return WriteResult(request.ref, None, outcome, self._current(entity, change.target))
        if isinstance(outcome, RecordError):
            return WriteResult(request.ref, None, outcome)
        record_id = change.target or str(outcome.entity.get(key) or "")
        if not record_id:
            return WriteResult(request.ref, None, RecordError("SAP answered a create with no key"))
        if outcome.etag:
            self._etags[record_id] = outcome.etag
        values = dict(request.values)
        if change.method == "POST":
            values.update({k: v for k, v in change.body.items() if k not in values})
        return WriteResult(request.ref, RemoteRecord(record_id, values, None, version=outcome.etag))

    def _current(self, entity: str, target: str) -> RemoteRecord | None:
        """The entity as SAP holds it now (after a 412), or None if it cannot be read."""
        answer = self._request(
            "GET", f"{entity}({_key_literal(target)})", params={"$format": "json"}
        )
        if answer.status_code != 200:
            return None
        return self._record(answer.json()["d"], self.describe(entity).id_field)

    # -- calls ----------------------------------------------------------------------------

    def _base(self) -> str:
        """The service root, always https (a loopback http URL's https twin: the session
        sends it as http; OAuth refuses to send a token over http)."""
        return https_form(self.settings.service_url).rstrip("/")

    def _request(self, method: str, path: str, absolute: bool = False, **kwargs: Any) -> Response:
        """One call; with OAuth, a token SAP no longer takes (401: expired) is replaced once by
        a new sign-in, in a new session (the CSRF token is bound to the old one's cookie)."""
        url = path if absolute else f"{self._base()}/{path}" if path else self._base() + "/"
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        answer = self._send(method, url, headers, kwargs)
        if answer.status_code == 401 and self.settings.auth_mode == "oauth_client":
            self.close()
            self._session, self._csrf = None, None
            headers.pop("X-CSRF-Token", None)  # _modify fetches a new one on the 403
            answer = self._send(method, url, headers, kwargs)
        return answer

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], kwargs: Mapping[str, Any]
    ) -> Response:
        try:
            answer = self._connect().request(
                method, url, headers=headers, timeout=self.settings.timeout_seconds, **kwargs
            )
        except RequestException as exc:
            raise TransientError(f"SAP cannot be reached: {type(exc).__name__}") from None
        self.calls += 1
        return answer

    def _get(self, path: str, absolute: bool = False, **kwargs: Any) -> dict[str, Any]:
        """A read's ``d`` object; an error answer raised as what it means (401: ConfigError,
        429/503: TransientError with its Retry-After)."""
        answer = self._request("GET", path, absolute=absolute, **kwargs)
        if answer.status_code >= 400:
            raise call_error(answer, record=False)
        try:
            body = answer.json()
        except ValueError:
            raise TransientError(f"SAP answered HTTP {answer.status_code} without JSON") from None
        data = body.get("d") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ConfigError("SAP's answer has no 'd' object: is service_url an OData v2 service?")
        return data

    def _modify(self, method: str, path: str, **kwargs: Any) -> Response:
        """A modifying request with the CSRF token, fetched first and renewed once."""
        for attempt in (1, 2):
            headers = {"X-CSRF-Token": self._token(), **kwargs.pop("headers", {})}
            answer = self._request(method, path, headers=headers, **kwargs)
            refused = answer.status_code == 403 and (
                answer.headers.get("x-csrf-token", "").lower() == "required"
            )
            if refused and attempt == 1:
                self._csrf = None
                kwargs["headers"] = {k: v for k, v in headers.items() if k != "X-CSRF-Token"}
                continue
            if refused:
                break
            if answer.status_code >= 400:
                raise call_error(answer, record=True)
            return answer
        raise ConfigError(
            "SAP refused the CSRF token again after fetching a new one: the token is bound to "
            "the session cookie, so check that nothing between (a proxy) drops cookies"
        )

    def _token(self) -> str:
        if self._csrf is None:
            answer = self._request("GET", "", headers={"X-CSRF-Token": "Fetch"})
            if answer.status_code >= 400:
                raise call_error(answer, record=False)
            self._csrf = answer.headers.get("x-csrf-token") or ""
        return self._csrf

    def _service(self) -> ServiceSchema:
        if self._schema is None:
            try:
                client = pyodata.Client(self._base(), self._connect())
            except RequestException as exc:
                raise TransientError(f"SAP cannot be reached: {type(exc).__name__}") from None
            except Exception as exc:  # pyodata's own errors: an unreadable $metadata
                raise ConfigError(f"SAP's $metadata cannot be read: {exc}") from None
            self.calls += 1
            self._schema = ServiceSchema(client.schema)
        return self._schema

    def _connect(self) -> Session:
        if self._session is None:
            self._session = self._open()
        return self._session

    def _open(self) -> Session:
        s = self.settings
        model = session_for(s.service_url, s.timeout_seconds)
        if s.auth_mode == "basic":
            model.auth = HTTPBasicAuth(str(s.username), _reveal(s.password) or "")
            return model
        oauth = OAuth2Session(client=BackendApplicationClient(client_id=s.client_id))
        for prefix, adapter in model.adapters.items():
            oauth.mount(prefix, adapter)
        oauth.trust_env = model.trust_env
        try:
            oauth.fetch_token(
                https_form(str(s.token_url)),
                client_id=s.client_id,
                client_secret=_reveal(s.client_secret),
                include_client_id=True,
                timeout=s.timeout_seconds,
            )
        except Exception as exc:  # oauthlib's errors: refused credentials
            raise ConfigError(f"SAP refused the OAuth sign-in: {type(exc).__name__}") from None
        signed_in: Session = oauth
        return signed_in


def _stamp_since(date: str, time: str | None, local: dt.datetime) -> str:
    """A stamp at or after ``local``: one property, or a date and a time combined."""
    if time is None:
        return f"{date} ge {datetime_literal(local)}"
    day = local.replace(hour=0, minute=0, second=0)
    at = time_literal(local - day)
    return (
        f"{date} gt {datetime_literal(day)} or "
        f"({date} eq {datetime_literal(day)} and {time} ge {at})"
    )


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _key_literal(key: str) -> str:
    return _string(key)


def _reveal(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())
