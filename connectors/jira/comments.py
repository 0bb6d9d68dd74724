"""Issue comments as a child stream: the entity ``<PROJECT>/comments``.

A comment record's id is ``<issue id>/<comment id>`` (Jira edits and deletes a comment through
its issue). Its fields:

- ``body``: the text (Markdown or plain, as the connection's ``markdown`` says; ADF on Cloud);
- ``issue``: the issue's key; ``issue.<field>``: the issue by our key in one of its custom text
  fields (``issue.Conveyor Key``), so a local comments table can point at the local ticket;
  either sets the issue of a new comment (a comment never moves);
- ``author`` and ``created``, read only;
- ``conveyor_key``: our key, kept in the comment's entity property ``conveyor`` and written with
  the comment in one call, so a retried create finds its comment (looked up on its issue).

Reads: the issues updated since the cursor (a comment moves its issue's ``updated``), then each
issue's comments with their properties, those updated since the cursor kept, oldest first.
Deletes are found by a key scan over every issue's comments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from connectors.jira.adf import from_adf, to_adf
from connectors.jira.jql import changes_jql, scan_jql
from conveyor.connector import (
    ChangeBatch,
    EntityInfo,
    FieldInfo,
    RemoteRecord,
    WriteRequest,
    WriteResult,
)
from conveyor.errors import ConfigError, RecordError

__all__ = ["COMMENTS", "KEY_PROPERTY", "OUR_KEY", "CommentStream", "is_comments"]

COMMENTS = "/comments"
OUR_KEY = "conveyor_key"
KEY_PROPERTY = "conveyor"
PAGE = 100  # comments per page of an issue's comment list


def is_comments(entity: str) -> bool:
    return entity.endswith(COMMENTS)


class Jira(Protocol):
    """What the stream needs of the connector."""

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any: ...

    def post(self, path: str, body: Mapping[str, Any]) -> Any: ...

    def put(self, path: str, body: Mapping[str, Any]) -> None: ...

    def delete_path(self, path: str) -> None: ...

    def search(self, jql: str, field_ids: Sequence[str], size: int) -> Iterator[list[Any]]: ...

    def field_id(self, name: str) -> str: ...

    def issue_by_our_key(self, project: str, field: str, keys: Sequence[str]) -> dict[str, str]: ...

    def user_zone(self) -> Any: ...

    @property
    def cloud(self) -> bool: ...

    @property
    def markdown(self) -> bool: ...


class CommentStream:
    def __init__(self, jira: Jira) -> None:
        self.jira = jira

    def describe(self, entity: str) -> EntityInfo:
        fields = {
            "body": FieldInfo("body", "string", writable=True, required=True),
            "issue": FieldInfo("issue", "string", writable=True),
            "author": FieldInfo("author", "string", writable=False),
            "created": FieldInfo("created", "datetime", writable=False),
            OUR_KEY: FieldInfo(OUR_KEY, "string", writable=True, external_id=True),
        }
        return EntityInfo(entity, "id", "updated", _ParentPaths(fields, self.jira.field_id))

    # -- reads ----------------------------------------------------------------------------

    def read_changes(
        self, entity: str, since: dt.datetime | None, fields: Sequence[str], where: str | None
    ) -> Iterator[ChangeBatch]:
        project = _project(entity)
        parents = [n.partition(".")[2] for n in fields if n.startswith("issue.")]
        ids = ["updated", *(self.jira.field_id(p) for p in parents)]
        floor = since.replace(second=0, microsecond=0) if since else None
        found: list[RemoteRecord] = []
        jql = changes_jql(project, since, self.jira.user_zone(), where)
        for page in self.jira.search(jql, ids, PAGE):
            for issue in page:
                for comment in self._comments(str(issue["id"])):
                    record = self._record(issue, comment, parents)
                    if floor is None or (record.modified_at and record.modified_at >= floor):
                        found.append(record)
        found.sort(key=lambda r: (r.modified_at or dt.datetime.min.replace(tzinfo=dt.UTC), r.id))
        for start in range(0, len(found), PAGE):
            yield ChangeBatch(found[start : start + PAGE])

    def _comments(self, issue_id: str) -> Iterator[Mapping[str, Any]]:
        start = 0
        while True:
            params = {"startAt": start, "maxResults": PAGE, "expand": "properties"}
            page = self.jira.get(f"issue/{issue_id}/comment", params)
            comments = list(page.get("comments") or [])
            yield from comments
            start += len(comments)
            if not comments or start >= int(page.get("total") or 0):
                return

    def _record(
        self, issue: Mapping[str, Any], comment: Mapping[str, Any], parents: Sequence[str]
    ) -> RemoteRecord:
        body = comment.get("body")
        text = from_adf(body, self.jira.markdown) if isinstance(body, Mapping) else body
        author = comment.get("author") or {}
        values: dict[str, Any] = {
            "body": text,
            "issue": issue.get("key"),
            "author": author.get("accountId") or author.get("name"),
            "created": comment.get("created"),
            OUR_KEY: _our_key(comment),
        }
        issue_fields = issue.get("fields") or {}
        for parent in parents:
            values[f"issue.{parent}"] = issue_fields.get(self.jira.field_id(parent))
        stamp = comment.get("updated") or comment.get("created")
        modified = dt.datetime.fromisoformat(stamp) if stamp else None
        return RemoteRecord(f"{issue['id']}/{comment['id']}", values, modified)

    # -- writes ---------------------------------------------------------------------------

    def write(self, entity: str, requests: Sequence[WriteRequest]) -> list[WriteResult]:
        parents = self._parents(_project(entity), requests)
        return [self._write_one(r, parents) for r in requests]

    def _parents(self, project: str, requests: Sequence[WriteRequest]) -> dict[str, str]:
        """Our issue keys named by new comments (``issue.<field>``) -> the issues' ids."""
        wanted: dict[str, list[str]] = {}
        for request in requests:
            for name, value in request.values.items():
                if name.startswith("issue.") and request.remote_id is None and value:
                    wanted.setdefault(name.partition(".")[2], []).append(str(value))
        found: dict[str, str] = {}
        for field, keys in wanted.items():
            found.update(self.jira.issue_by_our_key(project, field, sorted(set(keys))))
        return found

    def _write_one(self, request: WriteRequest, parents: Mapping[str, str]) -> WriteResult:
        try:
            if request.remote_id is None:
                record_id = self._create(request, parents)
            else:
                record_id = request.remote_id
                self._edit(record_id, request.values)
        except RecordError as error:
            return WriteResult(request.ref, None, error)
        values = {**request.values, OUR_KEY: request.ref}
        return WriteResult(request.ref, RemoteRecord(record_id, values, None))

    def _create(self, request: WriteRequest, parents: Mapping[str, str]) -> str:
        issue = self._issue_of(request.values, parents)
        for comment in self._comments(issue):  # a retried create finds its comment
            if _our_key(comment) == request.ref:
                record_id = f"{issue}/{comment['id']}"
                self._edit(record_id, request.values)
                return record_id
        body = {
            "body": self._body(request.values.get("body")),
            "properties": [{"key": KEY_PROPERTY, "value": {"key": request.ref}}],
        }
        made = self.jira.post(f"issue/{issue}/comment", body)
        return f"{issue}/{made['id']}"

    def _issue_of(self, values: Mapping[str, Any], parents: Mapping[str, str]) -> str:
        if values.get("issue"):
            return str(values["issue"])
        for name, value in values.items():
            if name.startswith("issue.") and value:
                if str(value) not in parents:
                    raise RecordError(f"no issue has {name.partition('.')[2]} = {value!r}")
                return parents[str(value)]
        raise RecordError("a new comment needs its issue: give issue or issue.<field>")

    def _edit(self, record_id: str, values: Mapping[str, Any]) -> None:
        if "body" in values:
            issue, _, comment = record_id.partition("/")
            body = {"body": self._body(values.get("body"))}
            self.jira.put(f"issue/{issue}/comment/{comment}", body)

    def _body(self, text: Any) -> Any:
        if text is None or text == "":
            raise RecordError("Jira keeps no empty comment: give it a body")
        return to_adf(str(text), self.jira.markdown) if self.jira.cloud else str(text)

    def delete(self, ids: Sequence[str]) -> list[WriteResult]:
        out: list[WriteResult] = []
        for record_id in ids:
            issue, _, comment = record_id.partition("/")
            try:
                self.jira.delete_path(f"issue/{issue}/comment/{comment}")
            except RecordError as error:
                out.append(WriteResult(record_id, None, error))
                continue
            out.append(WriteResult(record_id, RemoteRecord(record_id, {}, None, deleted=True)))
        return out

    def scan_ids(self, entity: str) -> Iterator[Sequence[str]]:
        for page in self.jira.search(scan_jql(_project(entity)), ["key"], 1000):
            for issue in page:
                yield [f"{issue['id']}/{c['id']}" for c in self._comments(str(issue["id"]))]


class _ParentPaths(Mapping[str, FieldInfo]):
    """The stream's fields, and ``issue.<field>`` for any custom text field of the issue."""

    def __init__(self, own: dict[str, FieldInfo], field_id: Callable[[str], str]) -> None:
        self._own = own
        self._field_id = field_id

    def __getitem__(self, name: str) -> FieldInfo:
        if name in self._own:
            return self._own[name]
        head, _, field = name.partition(".")
        if head != "issue" or not field:
            raise KeyError(name)
        try:
            self._field_id(field)
        except ConfigError:
            raise KeyError(name) from None
        return FieldInfo(name, "string", writable=True)

    def __iter__(self) -> Iterator[str]:
        return iter(self._own)

    def __len__(self) -> int:
        return len(self._own)


def _project(entity: str) -> str:
    return entity.removesuffix(COMMENTS)


def _our_key(comment: Mapping[str, Any]) -> str | None:
    for prop in comment.get("properties") or []:
        if prop.get("key") == KEY_PROPERTY and isinstance(prop.get("value"), Mapping):
            key = prop["value"].get("key")
            return str(key) if key is not None else None
    return None
