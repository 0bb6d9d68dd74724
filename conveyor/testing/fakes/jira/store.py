"""The fake Jira's issues: ids, keys, stamps, comments and the search index.

An issue is kept in one internal form (:class:`StoredIssue`): field values as plain Python
(names for status, priority and issue type; account ids for users; the description and comment
bodies as ADF; datetimes as UTC ``datetime`` to the millisecond). ``updated`` moves on every
change, comments included; a write that changes nothing leaves it alone. Comment entity
properties are kept with their comment and move no ``updated`` stamp.

Search reads an index, not the issues: by default every write reaches it at once; with
:attr:`Store.deferred` on, writes wait until :meth:`Store.flush`, as Jira Cloud's search lags its
writes, and only ``reconcileIssues`` read the latest state of the issues they name.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Collection, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from conveyor.testing.fakes.jira.catalog import DEFAULT_PRIORITY, PROJECTS
from conveyor.testing.fakes.jira.clock import Clock, stamp
from conveyor.testing.fakes.jira.workflow import INITIAL_STATUS, find_status

__all__ = ["Comment", "Store", "StoredIssue"]

_FIRST_ISSUE_ID = 10001
_FIRST_COMMENT_ID = 10000
_MISSING = object()


@dataclass
class Comment:
    id: str
    author: str  # account id
    body: dict[str, Any]  # ADF
    created: datetime
    updated: datetime
    #: Entity properties, key → JSON value, in the order they were first set.
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class StoredIssue:
    id: int
    key: str
    project: str
    fields: dict[str, Any]
    comments: list[Comment] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])

    def raw(self) -> dict[str, Any]:
        """The issue as the fake keeps it (a deep copy): ``{"id", "key", "fields",
        "comments"}`` with ``fields["project"]`` the project key."""
        return {
            "id": str(self.id),
            "key": self.key,
            "fields": {"project": self.project, **copy.deepcopy(self.fields)},
            "comments": [asdict(c) for c in self.comments],
        }


class Store:
    """Issues of the site, guarded by :attr:`lock` (held by the fake around each request)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._issues: dict[int, StoredIssue] = {}
        self._by_key: dict[str, int] = {}
        self._numbers: dict[str, int] = {p.key: 0 for p in PROJECTS}
        self._next_id = _FIRST_ISSUE_ID
        self._next_comment = _FIRST_COMMENT_ID
        self._index: dict[int, StoredIssue] = {}
        self._pending: set[int] = set()
        self._deferred = False

    def now(self) -> datetime:
        return stamp(self.clock)

    # -- reading ------------------------------------------------------------------------------

    def find(self, ref: str) -> StoredIssue | None:
        """An issue by key (any case) or numeric id."""
        if ref.isdigit():
            return self._issues.get(int(ref))
        issue_id = self._by_key.get(ref.upper())
        return self._issues.get(issue_id) if issue_id is not None else None

    def all(self) -> Iterator[StoredIssue]:
        return iter(sorted(self._issues.values(), key=lambda i: i.id))

    def find_comment(self, comment_id: str) -> tuple[StoredIssue, Comment] | None:
        """A comment by id, with its issue (comment ids are unique across the site)."""
        for issue in self._issues.values():
            for comment in issue.comments:
                if comment.id == comment_id:
                    return issue, comment
        return None

    # -- writing ------------------------------------------------------------------------------

    def preview(self, project: str, values: Mapping[str, Any]) -> StoredIssue:
        """The issue :meth:`create` would make, without making it."""
        now = self.now()
        issue = StoredIssue(
            self._next_id,
            f"{project}-{self._numbers[project] + 1}",
            project,
            {
                "summary": "",
                "description": None,
                "issuetype": "Task",
                "priority": DEFAULT_PRIORITY,
                "labels": [],
                "assignee": None,
                "reporter": None,
                "creator": None,
                "status": INITIAL_STATUS,
                "resolution": None,
                "resolutiondate": None,
                "created": now,
                "updated": now,
                "statuscategorychangedate": now,
            },
        )
        issue.fields.update(copy.deepcopy(dict(values)))
        return issue

    def create(self, project: str, values: Mapping[str, Any]) -> StoredIssue:
        """A new issue in ``project`` with ``values`` (already checked), status To Do."""
        issue = self.preview(project, values)
        self._numbers[project] += 1
        self._next_id += 1
        self._issues[issue.id] = issue
        self._by_key[issue.key] = issue.id
        self._reindex(issue.id)
        return issue

    def change(self, issue: StoredIssue, values: Mapping[str, Any]) -> bool:
        """Set ``values``; ``updated`` moves only when something changed."""
        changed = {k: v for k, v in values.items() if issue.fields.get(k) != v}
        if not changed:
            return False
        issue.fields.update(copy.deepcopy(changed))
        self._touch(issue)
        return True

    def move(self, issue: StoredIssue, status_name: str) -> None:
        """Put the issue in a status (the caller checked the transition)."""
        status = find_status(status_name)
        old = find_status(issue.fields["status"])
        if status is None or old is None:  # pragma: no cover - names come from the workflow
            raise KeyError(status_name)
        now = self.now()
        issue.fields["status"] = status.name
        if status.category != old.category:
            issue.fields["statuscategorychangedate"] = now
        done = status.category.key == "done"
        issue.fields["resolution"] = "Done" if done else None
        issue.fields["resolutiondate"] = now if done else None
        self._touch(issue, now)

    def add_comment(
        self,
        issue: StoredIssue,
        author: str,
        body: dict[str, Any],
        properties: Mapping[str, Any] | None = None,
    ) -> Comment:
        """A new comment (body as ADF, properties already checked); the issue's ``updated``
        moves to the comment's ``created``."""
        now = self.now()
        comment = Comment(
            str(self._next_comment),
            author,
            copy.deepcopy(body),
            now,
            now,
            copy.deepcopy(dict(properties or {})),
        )
        self._next_comment += 1
        issue.comments.append(comment)
        self._touch(issue, now)
        return comment

    def edit_comment(
        self,
        issue: StoredIssue,
        comment: Comment,
        body: dict[str, Any],
        properties: Mapping[str, Any] | None = None,
    ) -> bool:
        """Set a comment's body and the given properties (others are kept). The comment's and
        the issue's ``updated`` move only when the body changed, as properties are not part
        of the comment's content; returns whether it did."""
        self.set_properties(issue, comment, properties or {})
        if body == comment.body:
            return False
        now = self.now()
        comment.body, comment.updated = copy.deepcopy(body), now
        self._touch(issue, now)
        return True

    def set_properties(
        self, issue: StoredIssue, comment: Comment, properties: Mapping[str, Any]
    ) -> dict[str, bool]:
        """Create or replace comment properties (``updated`` stays); returns, per key, whether
        it was created."""
        created = {key: key not in comment.properties for key in properties}
        comment.properties.update(copy.deepcopy(dict(properties)))
        if properties:
            self._reindex(issue.id)
        return created

    def delete_property(self, issue: StoredIssue, comment: Comment, key: str) -> bool:
        """Remove a comment property; False when it was not there."""
        if comment.properties.pop(key, _MISSING) is _MISSING:
            return False
        self._reindex(issue.id)
        return True

    def delete_comment(self, issue: StoredIssue, comment: Comment) -> None:
        issue.comments.remove(comment)
        self._touch(issue)

    def delete(self, issue: StoredIssue) -> None:
        del self._issues[issue.id]
        del self._by_key[issue.key]
        self._reindex(issue.id)

    def _touch(self, issue: StoredIssue, now: datetime | None = None) -> None:
        issue.fields["updated"] = now or self.now()
        self._reindex(issue.id)

    # -- the search index ---------------------------------------------------------------------

    @property
    def deferred(self) -> bool:
        return self._deferred

    @deferred.setter
    def deferred(self, value: bool) -> None:
        self._deferred = value
        if not value:
            self.flush()

    def flush(self) -> None:
        """Bring every pending write into the search index."""
        for issue_id in sorted(self._pending):
            self._index_now(issue_id)
        self._pending.clear()

    def _reindex(self, issue_id: int) -> None:
        if self._deferred:
            self._pending.add(issue_id)
        else:
            self._index_now(issue_id)

    def _index_now(self, issue_id: int) -> None:
        issue = self._issues.get(issue_id)
        if issue is None:
            self._index.pop(issue_id, None)
        else:
            self._index[issue_id] = copy.deepcopy(issue)

    def searchable(self, reconcile: Collection[int] = ()) -> list[StoredIssue]:
        """What a search sees: the index, with the issues named in ``reconcile`` read
        fresh (created ones appear, deleted ones vanish)."""
        view = dict(self._index)
        for issue_id in reconcile:
            current = self._issues.get(issue_id)
            if current is None:
                view.pop(issue_id, None)
            else:
                view[issue_id] = current
        return list(view.values())
