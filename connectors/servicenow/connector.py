"""The ServiceNow connector: the Table API (and the Import Set API for large writes).

Plain REST through requests (requests-oauthlib for OAuth), not pysnc, ServiceNow's own client:
its GlideRecord pages by offset, which skips rows while the table changes (reads here are
keyset-paged, :mod:`connectors.servicenow.query`); it asks for one display-value mode for a whole
query where a job wants it per field; it has no Import Set API; and its OAuth flows open their
own sessions, which cannot carry the connector's timeout. Sign-in: basic auth, or OAuth's
password grant (its refresh token renews the access token) or client-credentials grant (a new
token when one expires).

- Reads: ``sys_updated_on>=cursor`` (one-second resolution, ties by sys_id), ``sysparm_fields``
  limited to the mapped fields. A field named ``name:display`` reads ``name``'s display value
  (``sysparm_display_value=all``), read only; ``name`` itself is the raw value (a reference's
  sys_id, a choice's value, a UTC date-time).
- Deletes come from ``sys_audit_delete`` as tombstones (``deletes: audit``, the default) or are
  found by a key-only scan (``deletes: key_scan``, for tables that do not audit deletes).
- Writes: creates look our keys up in the job's external-id (correlation) field first, so a
  retried create finds its record; then POST, or PATCH by sys_id. Above ``import_threshold``
  records, with an ``import_table``, rows go to the Import Set API (``insertMultiple``) and each
  row's outcome is read back from the staging table: ``error`` and ``skipped`` park the record
  with the transform's comment, even though the call answered 201.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from oauthlib.oauth2 import (  # type: ignore[import-untyped]
    BackendApplicationClient,
    LegacyApplicationClient,
    OAuth2Error,
    TokenExpiredError,
)
from requests import RequestException, Response, Session
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session  # type: ignore[import-untyped]

from connectors.servicenow.describe import TableSchema, table_schema
from connectors.servicenow.errors import call_error
from connectors.servicenow.imports import import_rows
from connectors.servicenow.query import STAMP, after_query, changes_query, name
from connectors.servicenow.settings import ServiceNowSettings
from conveyor.connector import (
    Capabilities,
    ChangeBatch,
    EntityInfo,
    RemoteRecord,
    WriteRequest,
    WriteResult,
)
from conveyor.errors import ConfigError, RecordError, TransientError
from conveyor.transport import https_form, quiet_oauth_logs, session_for

__all__ = ["ServiceNowConnector"]

quiet_oauth_logs()

DISPLAY = ":display"
LOOKUP_BATCH = 100


class ServiceNowConnector:
    name: ClassVar[str] = "servicenow"

    def __init__(self, settings: ServiceNowSettings) -> None:
        self.settings = settings
        bulk = settings.import_table is not None
        self.capabilities = Capabilities(
            bulk=bulk,
            page_size=settings.page_size,
            batch_size=LOOKUP_BATCH,
            bulk_batch_size=10_000 if bulk else 0,
            delete_detection="tombstones" if settings.deletes == "audit" else "key_scan",
            filter=True,
        )
        self.calls = 0
        self._client: Session | None = None
        self._renewed = False  # an expired OAuth token was just renewed
        self._schemas: dict[str, TableSchema] = {}
        self._read_names: dict[str, list[str]] = {}  # per table: what the job reads

    # -- the contract ---------------------------------------------------------------------

    def check(self) -> None:
        self._get("table/sys_user", {"sysparm_limit": 1, "sysparm_fields": "sys_id"})

    def describe(self, entity: str) -> EntityInfo:
        return self._schema(entity).info

    def read_changes(
        self,
        entity: str,
        since: dt.datetime | None,
        fields: Sequence[str],
        where: str | None = None,
    ) -> Iterator[ChangeBatch]:
        table = name(entity)
        known = self._schemas.get(table)  # external ids too (they link records), once described
        keys = [f.name for f in known.info.fields.values() if f.external_id] if known else []
        names = list(dict.fromkeys([*fields, *keys]))
        self._read_names[table] = names
        raw, display = _columns(names)
        query, read, total = changes_query(since, where), 0, None
        while True:
            rows, count = self._page(table, query, raw, display)
            total = count if total is None else total  # X-Total-Count of the first page
            read += len(rows)
            yield ChangeBatch([self._record(row, names, display) for row in rows])
            if len(rows) < self.settings.page_size or (total is not None and read >= total):
                break
            last = rows[-1]
            query = after_query(since, _raw(last[STAMP]), _raw(last["sys_id"]), where)
        if self.settings.deletes == "audit":
            yield from self._tombstones(table, since)

    def write(
        self, entity: str, requests: Sequence[WriteRequest], external_id_field: str
    ) -> list[WriteResult]:
        table = name(entity)
        if self.settings.import_table and len(requests) > self.settings.import_threshold:
            # only creates: an import coalesces on our key, which a record made in ServiceNow
            # does not hold (it would be duplicated), and cannot write a null
            imported = [
                r for r in requests if r.remote_id is None and None not in r.values.values()
            ]
            if len(imported) > self.settings.import_threshold:
                done = import_rows(self, self.settings.import_table, imported, external_id_field)
                chosen = {id(r) for r in imported}
                rest = [r for r in requests if id(r) not in chosen]
                by_ref = {w.ref: w for w in [*done, *self.write(entity, rest, external_id_field)]}
                return [by_ref[r.ref] for r in requests]
        creates = [r.ref for r in requests if r.remote_id is None]
        found = self._lookup(table, external_id_field, creates) if creates else {}
        return [self._write_one(table, r, external_id_field, found.get(r.ref)) for r in requests]

    def delete(self, entity: str, ids: Sequence[str]) -> list[WriteResult]:
        table = name(entity)
        out: list[WriteResult] = []
        for sys_id in ids:
            try:
                self._call("DELETE", f"table/{table}/{name_id(sys_id)}", record=True)
            except RecordError as error:
                out.append(WriteResult(sys_id, None, error))
                continue
            out.append(WriteResult(sys_id, RemoteRecord(sys_id, {}, None, deleted=True)))
        return out

    def scan_ids(self, entity: str) -> Iterator[Sequence[str]]:
        table = name(entity)
        query = "ORDERBYsys_id"
        while True:
            params = {
                "sysparm_query": query,
                "sysparm_fields": "sys_id",
                "sysparm_limit": self.settings.page_size,
            }
            rows = self._get(f"table/{table}", params).json().get("result") or []
            ids = [str(r["sys_id"]) for r in rows]
            yield ids
            if len(ids) < self.settings.page_size:
                return
            query = f"sys_id>{ids[-1]}^ORDERBYsys_id"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __repr__(self) -> str:
        return f"ServiceNowConnector({self.settings.auth_mode})"

    # -- reads ----------------------------------------------------------------------------

    def _page(
        self, table: str, query: str, fields: Sequence[str], display: bool
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of rows, and X-Total-Count: how many the query matches."""
        params = {
            "sysparm_query": query,
            "sysparm_fields": ",".join(fields),
            "sysparm_limit": self.settings.page_size,
            "sysparm_display_value": "all" if display else "false",
            "sysparm_exclude_reference_link": "true",
        }
        answer = self._get(f"table/{table}", params)
        count = answer.headers.get("X-Total-Count", "")
        rows = list(answer.json().get("result") or [])
        return rows, int(count) if count.isdigit() else None

    def _record(self, row: Mapping[str, Any], names: Sequence[str], display: bool) -> RemoteRecord:
        values: dict[str, Any] = {}
        for field in names:
            base = field.removesuffix(DISPLAY)
            cell = row.get(base)
            if isinstance(cell, Mapping):
                cell = cell.get("display_value" if field.endswith(DISPLAY) else "value")
            values[field] = None if cell == "" else cell
        stamp = _raw(row.get(STAMP))
        return RemoteRecord(_raw(row["sys_id"]), values, _utc(stamp))

    def _tombstones(self, table: str, since: dt.datetime | None) -> Iterator[ChangeBatch]:
        """Deletes from ``sys_audit_delete``, keyset-paged like the changes."""
        base = f"tablename={table}"
        if since is not None:
            base += f"^sys_created_on>={since.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}"
        query = f"{base}^ORDERBYsys_created_on^ORDERBYsys_id"
        while True:
            params = {
                "sysparm_query": query,
                "sysparm_fields": "sys_id,documentkey,sys_created_on",
                "sysparm_limit": self.settings.page_size,
                "sysparm_exclude_reference_link": "true",
            }
            rows = self._get("table/sys_audit_delete", params).json().get("result") or []
            if rows:
                yield ChangeBatch([_tombstone(r) for r in rows])
            if len(rows) < self.settings.page_size:
                return
            stamp, last = str(rows[-1]["sys_created_on"]), str(rows[-1]["sys_id"])
            query = (
                f"{base}^sys_created_on>{stamp}^NQ{base}^sys_created_on={stamp}^sys_id>{last}"
                "^ORDERBYsys_created_on^ORDERBYsys_id"
            )

    # -- writes ---------------------------------------------------------------------------

    def _lookup(self, table: str, key_field: str, refs: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(refs), LOOKUP_BATCH):
            chunk = refs[start : start + LOOKUP_BATCH]
            if any("," in r or "^" in r for r in chunk):
                continue  # cannot be written in an IN list: those are created, not matched
            params = {
                "sysparm_query": f"{name(key_field)}IN{','.join(chunk)}",
                "sysparm_fields": f"sys_id,{key_field}",
                "sysparm_limit": len(chunk) * 2,
            }
            for row in self._get(f"table/{table}", params).json().get("result") or []:
                found.setdefault(str(row.get(key_field)), str(row["sys_id"]))
        return found

    def _write_one(
        self, table: str, request: WriteRequest, key_field: str, existing: str | None
    ) -> WriteResult:
        sys_id = request.remote_id or existing
        body = {k: ("" if v is None else v) for k, v in request.values.items()}
        names = self._read_names.get(table)
        params = self._answer_params(names)
        try:
            if sys_id is None:
                body[key_field] = request.ref
                answer = self._call("POST", f"table/{table}", json=body, params=params, record=True)
            else:
                path = f"table/{table}/{name_id(sys_id)}"
                answer = self._call("PATCH", path, json=body, params=params, record=True)
        except RecordError as error:
            return WriteResult(request.ref, None, error)
        row = answer.json().get("result") or {}
        sys_id = sys_id or _raw(row["sys_id"])
        values = dict(request.values)
        if request.remote_id is None:
            values[key_field] = request.ref
        if names and row:  # the record as the job reads it: computed fields come at once
            values.update(self._record(row, names, _columns(names)[1]).values)
        return WriteResult(request.ref, RemoteRecord(sys_id, values, None))

    def _answer_params(self, names: Sequence[str] | None) -> dict[str, str]:
        """A write's answer in the shape of the job's reads (the instance's computed fields,
        a number or a display value, included), when the job has read this table."""
        if not names:
            return {}
        raw, display = _columns(names)
        return {
            "sysparm_fields": ",".join(raw),
            "sysparm_display_value": "all" if display else "false",
            "sysparm_exclude_reference_link": "true",
        }

    # -- describe -------------------------------------------------------------------------

    def _schema(self, table: str) -> TableSchema:
        if table not in self._schemas:
            self._schemas[table] = table_schema(name(table), self._rows)
        return self._schemas[table]

    def _rows(self, table: str, query: str, fields: str) -> list[dict[str, Any]]:
        params = {"sysparm_query": query, "sysparm_fields": fields, "sysparm_limit": 10_000}
        return list(self._get(f"table/{table}", params).json().get("result") or [])

    # -- calls ----------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, Any]) -> Response:
        return self._call("GET", path, params=params)

    def _call(self, method: str, path: str, record: bool = False, **kwargs: Any) -> Response:
        url = f"{self._instance()}/api/now/{path}"
        headers = {"Accept": "application/json"}
        try:
            answer = self._connect().request(
                method, url, headers=headers, timeout=self.settings.timeout_seconds, **kwargs
            )
        except TokenExpiredError:
            if self._renewed:  # a token fresh from the sign-in is already expired: clock skew
                raise ConfigError(
                    "ServiceNow's new OAuth token is already expired: check this machine's clock"
                ) from None
            self._renewed = True
            self._client = None  # client credentials have no refresh token: sign in again
            return self._call(method, path, record, **kwargs)
        except RequestException as exc:
            raise TransientError(f"ServiceNow cannot be reached: {type(exc).__name__}") from None
        self.calls += 1
        if answer.status_code == 401 and self._renew():
            return self._call(method, path, record, **kwargs)
        if answer.status_code >= 400:
            raise call_error(answer, record)
        self._renewed = False
        return answer

    def _renew(self) -> bool:
        """An OAuth token the instance no longer takes: renewed once (the refresh token of
        the password grant, else a new sign-in), then the call is made again."""
        if self.settings.auth_mode == "basic" or self._renewed or self._client is None:
            return False
        self._renewed = True
        client, s = self._client, self.settings
        refresh = getattr(client, "token", {}).get("refresh_token")
        if refresh and isinstance(client, OAuth2Session):
            try:
                client.refresh_token(
                    f"{self._instance()}/oauth_token.do",
                    client_id=s.client_id,
                    client_secret=_reveal(s.client_secret),
                    timeout=s.timeout_seconds,
                )
                return True
            except (OAuth2Error, ValueError, RequestException):
                pass  # the refresh token is gone too: sign in again
        self._client = None
        return True

    def _instance(self) -> str:
        return https_form(self.settings.instance_url).rstrip("/")

    def _connect(self) -> Session:
        if self._client is None:
            self._client = self._open()
        return self._client

    def _open(self) -> Session:
        s = self.settings
        token_url = f"{self._instance()}/oauth_token.do"
        if s.auth_mode == "basic":
            session = session_for(s.instance_url, s.timeout_seconds)
            session.auth = HTTPBasicAuth(str(s.username), _reveal(s.password) or "")
            return session
        secret = _reveal(s.client_secret)
        if s.auth_mode == "oauth_password":
            oauth = OAuth2Session(
                client=LegacyApplicationClient(client_id=s.client_id),
                auto_refresh_url=token_url,
                auto_refresh_kwargs={"client_id": s.client_id, "client_secret": secret},
                token_updater=lambda token: None,
            )
            grant: dict[str, Any] = {"username": s.username, "password": _reveal(s.password)}
        else:
            oauth = OAuth2Session(client=BackendApplicationClient(client_id=s.client_id))
            grant = {}
        _mount(oauth, session_for(s.instance_url, s.timeout_seconds))
        try:
            oauth.fetch_token(
                token_url,
                client_id=s.client_id,
                client_secret=secret,
                include_client_id=True,
                timeout=s.timeout_seconds,
                **grant,
            )
        except (OAuth2Error, ValueError) as exc:
            raise ConfigError(
                f"ServiceNow refused the OAuth sign-in: {type(exc).__name__}"
            ) from None
        signed_in: Session = oauth
        return signed_in


def _mount(session: Session, model: Session) -> None:
    for prefix, adapter in model.adapters.items():
        session.mount(prefix, adapter)  # the timeout, and plain http for a loopback URL
    session.trust_env = model.trust_env


def _tombstone(row: Mapping[str, Any]) -> RemoteRecord:
    return RemoteRecord(str(row["documentkey"]), {}, _utc(str(row["sys_created_on"])), deleted=True)


def name_id(sys_id: str) -> str:
    if not sys_id.isalnum():
        raise RecordError(f"{sys_id!r} is not a sys_id")
    return sys_id


def _raw(cell: Any) -> str:
    if isinstance(cell, Mapping):
        return str(cell.get("value") or "")
    return str(cell or "")


def _utc(stamp: str) -> dt.datetime | None:
    if not stamp:
        return None
    return dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.UTC)


def _reveal(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def _columns(names: Sequence[str]) -> tuple[list[str], bool]:
    """The columns to ask for the job's field names (``name:display`` reads ``name``), and
    whether any display value is wanted."""
    raw = sorted({n.removesuffix(DISPLAY) for n in names} | {"sys_id", STAMP})
    return raw, any(n.endswith(DISPLAY) for n in names)
