"""Issues and comments as Jira's REST API answers them.

- ``fields`` selects what an issue shows: ``*all``, ``*navigable``, field ids, ``-id`` to leave
  one out; ``id`` alone gives ``{"id": ...}`` only (the default of Cloud's ``search/jql``), and
  ``key`` adds ``key`` and ``self``.
- v3 renders the description and comment bodies as ADF, v2 as text.
- Datetimes carry the user's offset: ``2024-01-31T14:05:12.345+0100``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.testing.fakes.jira.adf import adf_to_text
from conveyor.testing.fakes.jira.catalog import (
    ISSUE_TYPES,
    PRIORITIES,
    PROJECTS,
    Site,
    User,
    issuetype_json,
    priority_json,
    resolution_json,
    user_json,
)
from conveyor.testing.fakes.jira.clock import format_datetime
from conveyor.testing.fakes.jira.describe import FIELDS, by_id, option_json
from conveyor.testing.fakes.jira.properties import properties_json
from conveyor.testing.fakes.jira.store import Comment, StoredIssue
from conveyor.testing.fakes.jira.workflow import status_json

__all__ = ["ISSUE_EXPAND", "Renderer", "Selection", "select"]

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
_ENVELOPE = frozenset({"id", "key"})
_ALL = tuple(f.id for f in FIELDS if f.id != "issuekey")
_NAVIGABLE = tuple(f.id for f in FIELDS if f.navigable and f.id != "issuekey")


@dataclass(frozen=True)
class Selection:
    """The fields an answer shows, in catalogue order, and whether the envelope
    (``expand``, ``self``, ``key``) is shown besides ``id``."""

    fields: tuple[str, ...]
    envelope: bool


def select(requested: Sequence[str], default: str) -> Selection:
    """Jira's ``fields`` parameter: ``*all``, ``*navigable``, ids, ``-id`` exclusions;
    unknown ids are ignored, as Jira ignores them. ``default`` applies when nothing is asked."""
    tokens = list(requested)
    if all(t.startswith("-") for t in tokens):  # nothing asked, or only exclusions
        tokens.insert(0, default)
    wanted: list[str] = []
    for token in tokens:
        if token == "*all":
            wanted += _ALL
        elif token == "*navigable":
            wanted += _NAVIGABLE
        elif not token.startswith("-"):
            wanted.append(token)
    excluded = {t[1:] for t in tokens if t.startswith("-")}
    chosen = [f for f in _ALL if f in wanted and f not in excluded]
    envelope = bool(chosen) or any(t in wanted for t in ("key", "issuekey", "*all"))
    return Selection(tuple(chosen), envelope)


class Renderer:
    """Renders for one request: the site (base URL, REST version, deployment), the user's
    time zone and the site's users."""

    def __init__(self, site: Site, time_zone: str, users: Iterable[User]) -> None:
        self.site = site
        self.time_zone = time_zone
        self._users = {u.account_id: u for u in users}

    def user(self, account_id: str | None) -> dict[str, Any] | None:
        user = self._users.get(account_id or "")
        return user_json(user, self.site, self.time_zone) if user is not None else None

    def when(self, value: Any) -> str | None:
        return format_datetime(value, self.site.zone) if value is not None else None

    def issue(self, issue: StoredIssue, selection: Selection) -> dict[str, Any]:
        if not selection.envelope:
            return {"id": str(issue.id)}
        payload: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": self.site.rest(f"issue/{issue.id}"),
            "key": issue.key,
        }
        if selection.fields:
            payload["fields"] = {f: self.field(issue, f) for f in selection.fields}
        return payload

    def field(self, issue: StoredIssue, field_id: str) -> Any:
        special = self._special().get(field_id)
        if special is not None:
            return special(issue)
        value = issue.fields.get(field_id)
        definition = by_id(field_id)
        if definition is None or value is None:
            return value
        if definition.kind == "user":
            return self.user(value)
        if definition.kind == "datetime":
            return self.when(value)
        if definition.kind == "rich":
            return value if self.site.version == 3 else adf_to_text(value)
        if definition.kind == "option":
            option_id = next(i for i, v in definition.options if v == value)
            return option_json(definition, option_id, value, self.site)
        return value

    def _special(self) -> dict[str, Callable[[StoredIssue], Any]]:
        return {
            "project": self._project,
            "issuetype": lambda i: issuetype_json(
                _named(ISSUE_TYPES, i.fields["issuetype"]), self.site
            ),
            "priority": lambda i: priority_json(
                _named(PRIORITIES, i.fields["priority"]), self.site
            ),
            "status": lambda i: status_json(i.fields["status"], self.site),
            "resolution": lambda i: resolution_json(self.site) if i.fields["resolution"] else None,
            "creator": lambda i: self.user(i.fields.get("creator")),
            "comment": self.comment_page,
            "watches": lambda i: {
                "self": self.site.rest(f"issue/{i.key}/watchers"),
                "watchCount": 1,
                "isWatching": True,
            },
            "issuelinks": lambda i: [],
            "subtasks": lambda i: [],
            "fixVersions": lambda i: [],
            "timespent": lambda i: None,
        }

    def _project(self, issue: StoredIssue) -> dict[str, Any]:
        project = next(p for p in PROJECTS if p.key == issue.project)
        payload: dict[str, Any] = {
            "self": self.site.rest(f"project/{project.id}"),
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
        }
        if self.site.cloud:
            payload["simplified"] = False
        payload["avatarUrls"] = {
            size: f"{self.site.base}/secure/projectavatar?size={size}&pid={project.id}"
            for size in ("48x48", "24x24", "16x16", "32x32")
        }
        return payload

    def comment_page(
        self,
        issue: StoredIssue,
        start: int = 0,
        limit: int | None = None,
        *,
        newest_first: bool = False,
        properties: bool = False,
    ) -> dict[str, Any]:
        """An issue's comments as ``GET issue/{key}/comment`` pages them, ordered by
        ``created`` (and as the issue's ``comment`` field shows them all); ``properties``
        is ``expand=properties``."""
        ordered = sorted(issue.comments, key=lambda c: (c.created, int(c.id)))
        if newest_first:
            ordered.reverse()
        total = len(ordered)
        size = total if limit is None else limit
        return {
            "comments": [
                self.comment(issue, c, properties=properties) for c in ordered[start : start + size]
            ],
            "self": self.site.rest(f"issue/{issue.id}/comment"),
            "maxResults": size,
            "total": total,
            "startAt": start,
        }

    def comment(
        self, issue: StoredIssue, comment: Comment, *, properties: bool = False
    ) -> dict[str, Any]:
        """A comment; with ``properties`` (``expand=properties``) its entity properties as
        ``"properties": [{"key", "value"}]`` (an empty list when it has none)."""
        payload: dict[str, Any] = {
            "self": self.site.rest(f"issue/{issue.id}/comment/{comment.id}"),
            "id": comment.id,
            "author": self.user(comment.author),
            "body": comment.body if self.site.version == 3 else adf_to_text(comment.body),
            "updateAuthor": self.user(comment.author),
            "created": self.when(comment.created),
            "updated": self.when(comment.updated),
        }
        if self.site.cloud:
            payload["jsdPublic"] = True
        if properties:
            payload["properties"] = properties_json(comment.properties)
        return payload


def _named(items: Iterable[Any], name: str) -> Any:
    return next(item for item in items if item.name == name)
