"""An issue's comments and their entity properties.

- ``GET issue/{key}/comment`` pages the comments ordered by ``created`` (``orderBy`` takes
  ``created``, ``+created`` or ``-created``; anything else is a 400), ``{"comments", "maxResults",
  "total", "startAt"}``; ``maxResults`` defaults to 5000 on Cloud (as documented) and to
  1048576 on Data Center (what it answers, JRASERVER-74572, though its docs say 50).
- ``POST issue/{key}/comment`` (201) and ``PUT issue/{key}/comment/{id}`` take ``"properties":
  [{"key", "value"}]`` besides the body; ``expand=properties`` on any comment read or write
  shows them as ``"properties": [{"key", "value"}]``. An update's ``updated`` moves only when
  the body changes.
- ``comment/{commentId}/properties`` lists the keys, ``{"keys": [{"self", "key"}]}``;
  ``.../properties/{propertyKey}``: GET ``{"key", "value"}`` (404 when missing), PUT the value
  as the body (201 created, 200 updated, no body), DELETE (204; 404 when missing).
"""

from __future__ import annotations

import json
from typing import Any

from conveyor.testing.fakes.jira.env import Env
from conveyor.testing.fakes.jira.properties import (
    checked_key,
    checked_properties,
    checked_value,
    keys_json,
    property_json,
    property_not_found,
)
from conveyor.testing.fakes.jira.routing import (
    JiraError,
    Request,
    Response,
    Router,
    api_version,
    arg,
    args,
    bad_request,
    int_arg,
    json_object,
    not_found,
)
from conveyor.testing.fakes.jira.store import Comment, StoredIssue

__all__ = ["CommentApi"]

_ISSUE_COMMENT = "/rest/api/{version}/issue/{issueIdOrKey}/comment"
_PROPERTIES = "/rest/api/{version}/comment/{commentId}/properties"
#: What Cloud documents as ``maxResults``'s default, and what Data Center answers without one.
CLOUD_PAGE = 5000
SERVER_PAGE = 1024 * 1024
_ORDERS = {"created": False, "+created": False, "-created": True}


def _comment_missing(comment_id: str) -> JiraError:
    return not_found(f"Can not find a comment for the id: {comment_id}.")


class CommentApi:
    def __init__(self, env: Env) -> None:
        self.env = env

    def register(self, router: Router) -> None:
        router.add("GET", _ISSUE_COMMENT, self.comments)
        router.add("POST", _ISSUE_COMMENT, self.add_comment)
        router.add("GET", _ISSUE_COMMENT + "/{id}", self.comment)
        router.add("PUT", _ISSUE_COMMENT + "/{id}", self.edit_comment)
        router.add("DELETE", _ISSUE_COMMENT + "/{id}", self.delete_comment)
        router.add("GET", _PROPERTIES, self.property_keys)
        router.add("GET", _PROPERTIES + "/{propertyKey}", self.get_property)
        router.add("PUT", _PROPERTIES + "/{propertyKey}", self.set_property)
        router.add("DELETE", _PROPERTIES + "/{propertyKey}", self.delete_property)

    # -- an issue's comments ------------------------------------------------------------------

    def comments(self, request: Request) -> Response:
        issue = self.env.issue(request.params["issueIdOrKey"])
        order = arg(request, "orderBy") or "created"
        if order not in _ORDERS:
            raise bad_request(
                f"Ordering by '{order}' is not supported: use 'created', '+created' or '-created'."
            )
        start = int_arg(request, "startAt", 0)
        limit = int_arg(request, "maxResults", CLOUD_PAGE if self.env.cloud else SERVER_PAGE)
        page = self.env.renderer(request).comment_page(
            issue,
            start,
            limit,
            newest_first=_ORDERS[order],
            properties=_expands_properties(request),
        )
        del page["self"]
        return Response.json(200, page)

    def add_comment(self, request: Request) -> Response:
        issue = self.env.issue(request.params["issueIdOrKey"])
        body, properties = self._written(request)
        comment = self.env.store.add_comment(issue, self.env.me.account_id, body, properties)
        return self._rendered(201, request, issue, comment)

    def _issue_comment(self, request: Request) -> tuple[StoredIssue, Comment]:
        issue = self.env.issue(request.params["issueIdOrKey"])
        wanted = request.params["id"]
        for comment in issue.comments:
            if comment.id == wanted:
                return issue, comment
        raise _comment_missing(wanted)

    def comment(self, request: Request) -> Response:
        issue, comment = self._issue_comment(request)
        return self._rendered(200, request, issue, comment)

    def edit_comment(self, request: Request) -> Response:
        issue, comment = self._issue_comment(request)
        body, properties = self._written(request)
        self.env.store.edit_comment(issue, comment, body, properties)
        return self._rendered(200, request, issue, comment)

    def delete_comment(self, request: Request) -> Response:
        issue, comment = self._issue_comment(request)
        self.env.store.delete_comment(issue, comment)
        return Response.empty()

    def _written(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        """A create's or update's body (ADF) and properties, checked."""
        payload = json_object(request)
        body = self.env.writer.comment_body(payload.get("body"), api_version(request))
        return body, checked_properties(payload.get("properties"))

    def _rendered(
        self, status: int, request: Request, issue: StoredIssue, comment: Comment
    ) -> Response:
        renderer = self.env.renderer(request)
        payload = renderer.comment(issue, comment, properties=_expands_properties(request))
        return Response.json(status, payload)

    # -- comment properties -------------------------------------------------------------------

    def _found(self, request: Request) -> tuple[StoredIssue, Comment]:
        comment_id = request.params["commentId"]
        if not comment_id.isdigit():
            raise bad_request(f"The comment ID '{comment_id}' is not valid.")
        found = self.env.store.find_comment(comment_id)
        if found is None:
            raise _comment_missing(comment_id)
        return found

    def property_keys(self, request: Request) -> Response:
        _, comment = self._found(request)
        site = self.env.site(request)
        return Response.json(200, keys_json(site, comment.id, comment.properties))

    def get_property(self, request: Request) -> Response:
        _, comment = self._found(request)
        key = request.params["propertyKey"]
        if key not in comment.properties:
            raise property_not_found(key)
        return Response.json(200, property_json(key, comment.properties[key]))

    def set_property(self, request: Request) -> Response:
        issue, comment = self._found(request)
        key = checked_key(request.params["propertyKey"])
        value = checked_value(_json_value(request))
        created = self.env.store.set_properties(issue, comment, {key: value})[key]
        return Response.empty(201 if created else 200)

    def delete_property(self, request: Request) -> Response:
        issue, comment = self._found(request)
        key = request.params["propertyKey"]
        if not self.env.store.delete_property(issue, comment, key):
            raise property_not_found(key)
        return Response.empty()


def _expands_properties(request: Request) -> bool:
    return "properties" in args(request, "expand")


def _json_value(request: Request) -> Any:
    """A property value: the whole body, any JSON (a string, a number, an object...)."""
    try:
        text = request.body.decode("utf-8")
        return json.loads(text) if text.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad_request("The property value must be a valid, non-empty JSON.") from None
