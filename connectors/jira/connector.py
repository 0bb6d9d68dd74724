"""The Jira connector over the ``jira`` package: issues of one project, both ways.

- The client: ``jira.JIRA`` with its retries off (Conveyor retries, honouring Retry-After) and a
  timeout; Jira Cloud through REST v3 (rich text as Atlassian Document Format, converted by
  :mod:`connectors.jira.adf`), Data Center through v2. Calls go through the package's session,
  where every answer is counted.
- Reads: JQL on ``updated`` from the cursor's minute in the user's time zone
  (:mod:`connectors.jira.jql`), oldest first; Cloud pages with ``nextPageToken`` on
  ``search/jql``, Data Center with ``startAt`` on ``search``. Jira reports no deletes: they are
  found by a key-only scan (``delete_detection="key_scan"``).
- Writes: a create first looks our keys up (one search per batch; a text field's search is a
  word search, so only exact matches count), so a retried create finds its issue; then POST or
  PUT per issue. ``status`` is reached through the transition that leads to it from the issue's
  status; when none does, the issue is refused with the transitions it has.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jira import JIRA
from jira.exceptions import JIRAError
from requests import RequestException, Response

from connectors.jira.comments import CommentStream, is_comments
from connectors.jira.describe import LABEL_KEY, Catalogue, catalogue, entity_info
from connectors.jira.errors import call_error
from connectors.jira.jql import changes_jql, keys_jql, scan_jql
from connectors.jira.settings import JiraSettings
from connectors.jira.values import from_jira, to_jira
from conveyor.connector import (
    Capabilities,
    ChangeBatch,
    EntityInfo,
    RemoteRecord,
    WriteRequest,
    WriteResult,
)
from conveyor.errors import ConfigError, RecordError, TransientError

__all__ = ["JiraConnector"]

T = TypeVar("T")
LOOKUP_BATCH = 50  # keys per lookup search
_ISSUE_PATH = re.compile(
    r"^issue/([^/]+)(?:/|$)"
)  # a write to one issue (its comments, transitions)


class JiraConnector:
    name: ClassVar[str] = "jira"

    def __init__(self, settings: JiraSettings) -> None:
        self.settings = settings
        self.capabilities = Capabilities(
            bulk=False,
            page_size=settings.page_size,
            batch_size=LOOKUP_BATCH,
            delete_detection="key_scan",
            filter=True,
        )
        self.calls = 0
        self._client: JIRA | None = None
        self._cloud = False
        self._fields: Catalogue | None = None
        self._zone: ZoneInfo | None = None
        self._described: dict[str, EntityInfo] = {}
        self._created: dict[str, str] = {}  # our key -> the issue this connector created
        self._comment_stream = CommentStream(self)
        self._last_write: dict[str, float] = {}  # issue -> when it was last written
        self._sleep: Callable[[float], None] = time.sleep

    # -- the contract ---------------------------------------------------------------------

    def check(self) -> None:
        self._zone = None
        self.user_zone()  # GET myself: the credentials work, and the user's time zone

    def describe(self, entity: str) -> EntityInfo:
        if is_comments(entity):
            return self._comment_stream.describe(entity)
        if entity not in self._described:
            creatable = self._creatable(entity)
            self._described[entity] = entity_info(entity, self._catalogue(), creatable)
        return self._described[entity]

    def read_changes(
        self,
        entity: str,
        since: dt.datetime | None,
        fields: Sequence[str],
        where: str | None = None,
    ) -> Iterator[ChangeBatch]:
        if is_comments(entity):
            yield from self._comment_stream.read_changes(entity, since, fields, where)
            return
        names = list(dict.fromkeys([*fields, *self._key_fields(entity)]))
        jql = changes_jql(entity, since, self.user_zone(), where)
        for page in self.search(jql, self._field_ids(names), self.settings.page_size):
            yield ChangeBatch([self._record(issue, names) for issue in page])

    def write(
        self, entity: str, requests: Sequence[WriteRequest], external_id_field: str
    ) -> list[WriteResult]:
        if is_comments(entity):
            return self._comment_stream.write(entity, requests)
        creates = [r.ref for r in requests if r.remote_id is None]
        found = {ref: self._created[ref] for ref in creates if ref in self._created}
        unknown = [ref for ref in creates if ref not in found]
        if unknown:  # Jira's search lags its writes: our own creates are remembered instead
            found.update(self._lookup(entity, external_id_field, unknown))
        return [
            self._write_one(entity, request, external_id_field, found.get(request.ref))
            for request in requests
        ]

    def delete(self, entity: str, ids: Sequence[str]) -> list[WriteResult]:
        if is_comments(entity):
            return self._comment_stream.delete(ids)
        return [self._delete_one(issue_id) for issue_id in ids]

    def scan_ids(self, entity: str) -> Iterator[Sequence[str]]:
        if is_comments(entity):
            yield from self._comment_stream.scan_ids(entity)
            return
        for page in self.search(scan_jql(entity), ["key"], self.settings.scan_page_size):
            yield [str(issue["id"]) for issue in page]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"JiraConnector({self.settings.auth_mode})"

    # -- reads ----------------------------------------------------------------------------

    def search(self, jql: str, field_ids: Sequence[str], size: int) -> Iterator[list[Any]]:
        """Pages of issues: Cloud by ``nextPageToken``, Data Center by ``startAt``."""
        params: dict[str, Any] = {"jql": jql, "fields": ",".join(field_ids), "maxResults": size}
        if self._connected_cloud():
            while True:
                page = self.get("search/jql", params)
                yield list(page.get("issues") or [])
                token = page.get("nextPageToken")
                if not token:
                    return
                params["nextPageToken"] = token
        start = 0
        while True:
            page = self.get("search", {**params, "startAt": start})
            issues = list(page.get("issues") or [])
            yield issues
            start += len(issues)
            if not issues or start >= int(page.get("total") or 0):
                return

    def _key_fields(self, entity: str) -> list[str]:
        """The custom text fields that can hold our key (they link records), once described."""
        known = self._described.get(entity)
        if known is None:
            return []
        return [f.name for f in known.fields.values() if f.external_id and f.name != LABEL_KEY]

    def _record(self, issue: Mapping[str, Any], names: Sequence[str]) -> RemoteRecord:
        fields = issue.get("fields") or {}
        values: dict[str, Any] = {}
        for name in names:
            if name == LABEL_KEY:
                values[name] = self._our_label(fields.get("labels") or [])
            elif name == "key":
                values[name] = issue.get("key")
            else:
                schema = self._schema(name)
                value = from_jira(fields.get(schema.id), schema, self.settings.markdown)
                if schema.id == "labels" and value is not None:
                    value = [v for v in value if not v.startswith(self.settings.label_prefix)]
                values[name] = value
        stamp = fields.get("updated")
        modified = dt.datetime.fromisoformat(stamp) if stamp else None
        return RemoteRecord(str(issue["id"]), values, modified)

    def _our_label(self, labels: Sequence[str]) -> str | None:
        prefix = self.settings.label_prefix
        return next((label[len(prefix) :] for label in labels if label.startswith(prefix)), None)

    # -- writes ---------------------------------------------------------------------------

    def _lookup(self, project: str, key_field: str, refs: Sequence[str]) -> dict[str, str]:
        """Our keys already on an issue -> that issue's id (exact matches only)."""
        field_id = "labels" if key_field == LABEL_KEY else self._schema(key_field).id
        found: dict[str, str] = {}
        for start in range(0, len(refs), LOOKUP_BATCH):
            chunk = refs[start : start + LOOKUP_BATCH]
            wanted = [self._label(r) for r in chunk] if field_id == "labels" else list(chunk)
            jql = keys_jql(project, field_id, wanted)
            for page in self.search(jql, [field_id], self.settings.page_size):
                for issue in page:
                    held = (issue.get("fields") or {}).get(field_id)
                    for ref in self._held_keys(held, field_id):
                        if ref in chunk:
                            found.setdefault(ref, str(issue["id"]))
        return found

    def _held_keys(self, held: Any, field_id: str) -> list[str]:
        if field_id == "labels":
            prefix = self.settings.label_prefix
            return [v[len(prefix) :] for v in held or [] if v.startswith(prefix)]
        return [held] if isinstance(held, str) else []

    def _label(self, ref: str) -> str:
        if any(c.isspace() for c in ref):
            raise RecordError(f"a Jira label cannot hold the key {ref!r}: it has a space")
        return self.settings.label_prefix + ref

    def _write_one(
        self, project: str, request: WriteRequest, key_field: str, existing: str | None
    ) -> WriteResult:
        values = dict(request.values)
        status = values.pop("status", None)
        issue_id = request.remote_id or existing
        try:
            payload = self._payload(values, request.ref, key_field, create=issue_id is None)
            if issue_id is None:
                payload["project"] = {"key": project}
                payload["issuetype"] = {"name": self.settings.issue_type}
                issue_id = str(self.post("issue", {"fields": payload})["id"])
                self._created[request.ref] = issue_id
                self._last_write[issue_id] = time.monotonic()
            elif payload:
                self.put(f"issue/{issue_id}", {"fields": payload})
            if status is not None:
                self._transition(issue_id, str(status))
        except RecordError as error:
            return WriteResult(request.ref, None, error)
        written = dict(request.values)
        if request.remote_id is None:
            written[key_field] = request.ref
        return WriteResult(request.ref, RemoteRecord(issue_id, written, None))

    def _payload(
        self, values: Mapping[str, Any], ref: str, key_field: str, create: bool
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for name, value in values.items():
            if value is None and create:
                continue  # nothing to set: Jira applies the field's default
            schema = self._schema(name)
            payload[schema.id] = to_jira(value, schema, self._cloud, self.settings.markdown)
        if key_field == LABEL_KEY:
            if create or "labels" in payload:
                payload["labels"] = [*(payload.get("labels") or []), self._label(ref)]
        elif create:
            payload[self._schema(key_field).id] = ref
        return payload

    def _transition(self, issue_id: str, status: str) -> None:
        answer = self.get(f"issue/{issue_id}/transitions")
        transitions = answer.get("transitions") or []
        match = [t for t in transitions if (t.get("to") or {}).get("name") == status]
        if not match and self._status_of(issue_id) == status:
            return  # already there (a new issue in the workflow's first status)
        if not match:
            if any(t.get("name") == status for t in transitions):
                match = [t for t in transitions if t.get("name") == status]
            else:
                names = ", ".join(
                    f"{t.get('name')} -> {(t.get('to') or {}).get('name')}" for t in transitions
                )
                raise RecordError(
                    f"status {status!r} cannot be reached from this issue's status in one "
                    f"transition; its transitions: {names or 'none'}"
                )
        self.post(f"issue/{issue_id}/transitions", {"transition": {"id": match[0]["id"]}})

    def _status_of(self, issue_id: str) -> str | None:
        fields = self.get(f"issue/{issue_id}", {"fields": "status"}).get("fields") or {}
        return (fields.get("status") or {}).get("name")

    def _delete_one(self, issue_id: str) -> WriteResult:
        gone = WriteResult(issue_id, RemoteRecord(issue_id, {}, None, deleted=True))
        try:
            self.delete_path(f"issue/{issue_id}")
        except RecordError as error:  # 404 too: Jira cannot tell deleted from never there
            return WriteResult(issue_id, None, error)
        return gone

    # -- describe -------------------------------------------------------------------------

    def _catalogue(self) -> Catalogue:
        if self._fields is None:
            self._fields = catalogue(self.get("field"))
        return self._fields

    def _schema(self, name: str) -> Any:
        schema = self._catalogue().resolve(name)
        if schema is None:
            raise ConfigError(f"Jira has no field {name!r}")
        return schema

    def _field_ids(self, names: Sequence[str]) -> list[str]:
        ids = ["updated"]
        for name in names:
            if name == LABEL_KEY:
                ids.append("labels")
            elif name != "key":
                ids.append(self._schema(name).id)
        return list(dict.fromkeys(ids))

    def _creatable(self, project: str) -> set[str]:
        """The fields on the create screen of the connector's issue type in ``project``."""
        types = self.get(f"issue/createmeta/{project}/issuetypes")
        entries = types.get("issueTypes") or types.get("values") or []
        wanted = [t for t in entries if t.get("name") == self.settings.issue_type]
        if not wanted:
            names = ", ".join(str(t.get("name")) for t in entries) or "none"
            raise ConfigError(
                f"Jira project {project} has no issue type {self.settings.issue_type!r} "
                f"(issue_type in the connection settings); it has: {names}"
            )
        meta = self.get(f"issue/createmeta/{project}/issuetypes/{wanted[0]['id']}")
        entries = meta.get("fields") or meta.get("values") or []
        return {str(f.get("fieldId") or f.get("key")) for f in entries}

    def user_zone(self) -> ZoneInfo:
        if self._zone is None:
            name = str(self.get("myself").get("timeZone") or "UTC")
            try:
                self._zone = ZoneInfo(name)
            except ZoneInfoNotFoundError:
                raise ConfigError(f"Jira's user time zone {name!r} is not known here") from None
        return self._zone

    # -- calls ----------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._call(lambda c: c._session.get(c._get_url(path), params=params)).json()

    def _pace(self, path: str) -> None:
        """Jira Cloud limits writes to one issue (RateLimit-Reason jira-per-issue-on-write):
        writes to the same issue are spread at least ``issue_write_interval`` apart."""
        match = _ISSUE_PATH.match(path)
        if match is None or self.settings.issue_write_interval <= 0:
            return
        issue = match.group(1)
        last = self._last_write.get(issue)
        now = time.monotonic()
        if last is not None and now - last < self.settings.issue_write_interval:
            self._sleep(self.settings.issue_write_interval - (now - last))
        self._last_write[issue] = time.monotonic()

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        self._pace(path)
        answer = self._call(
            lambda c: c._session.post(c._get_url(path), data=json.dumps(body)), True
        )
        return answer.json() if answer.content else {}

    def put(self, path: str, body: Mapping[str, Any]) -> None:
        self._pace(path)
        self._call(lambda c: c._session.put(c._get_url(path), data=json.dumps(body)), True)

    def delete_path(self, path: str) -> None:
        self._pace(path)
        self._call(lambda c: c._session.delete(c._get_url(path)), True)

    # -- what the comment stream uses (connectors.jira.comments) ----------------------------

    def field_id(self, name: str) -> str:
        return str(self._schema(name).id)

    def issue_by_our_key(self, project: str, field: str, keys: Sequence[str]) -> dict[str, str]:
        return self._lookup(project, field, keys)

    @property
    def cloud(self) -> bool:
        return self._connected_cloud()

    @property
    def markdown(self) -> bool:
        return self.settings.markdown

    def _call(self, action: Callable[[JIRA], Response], record: bool = False) -> Response:
        try:
            return action(self._connect())
        except JIRAError as exc:
            raise call_error(exc, record) from None
        except RequestException as exc:
            raise TransientError(f"Jira cannot be reached: {type(exc).__name__}") from None

    def _connected_cloud(self) -> bool:
        self._connect()
        return self._cloud

    def _connect(self) -> JIRA:
        if self._client is None:
            self._client = self._open()
        return self._client

    def _open(self) -> JIRA:
        s = self.settings
        auth: dict[str, Any] = {}
        if s.auth_mode == "cloud":
            auth["basic_auth"] = (s.email, _reveal(s.api_token))
        elif s.auth_mode == "basic":
            auth["basic_auth"] = (s.username, _reveal(s.password))
        else:
            auth["token_auth"] = _reveal(s.token)
        try:
            client = JIRA(
                server=s.url,
                options={"check_update": False},
                get_server_info=False,  # asked below, once the session counts calls
                max_retries=0,  # Conveyor retries, honouring Retry-After
                timeout=s.timeout_seconds,
                **auth,
            )
        except JIRAError as exc:
            raise call_error(exc) from None
        client._session.hooks["response"].append(self._count)
        self._learn_deployment(client)
        return client

    def _learn_deployment(self, client: JIRA) -> None:
        """Cloud or Data Center, from serverInfo; Cloud is spoken to through REST v3."""
        try:
            info = client.server_info()
        except JIRAError as exc:
            raise call_error(exc) from None
        except RequestException as exc:
            raise TransientError(f"Jira cannot be reached: {type(exc).__name__}") from None
        client.deploymentType = info.get("deploymentType")
        client._version = tuple(info.get("versionNumbers") or (0, 0, 0))
        self._cloud = client.deploymentType == "Cloud"
        # the package reads the version for every URL from its options
        client._options["rest_api_version"] = "3" if self._cloud else "2"

    def _count(self, response: Response, *args: Any, **kwargs: Any) -> None:
        self.calls += 1


def _reveal(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())
