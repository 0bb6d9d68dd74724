"""Issue search.

- Cloud: ``GET``/``POST search/jql`` with ``jql``, ``fields`` (only ``id`` comes back without
  them), ``maxResults`` (at most :attr:`Env.page_limit` issues a page with fields, up to
  :attr:`Env.id_page_limit` when only ``id``/``key`` are asked: a page may hold fewer than
  asked), ``nextPageToken`` (absent on the last page) and ``reconcileIssues`` (up to 50 ids read
  fresh while the index lags). A query with no restriction is refused. The old ``search``
  answers 410.
- Data Center: ``GET``/``POST search`` with ``startAt``, ``maxResults`` (at most
  :attr:`Env.server_page_limit`) and ``total``; ``search/jql`` does not exist there (404).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.testing.fakes.jira.env import Env
from conveyor.testing.fakes.jira.jql import parse
from conveyor.testing.fakes.jira.query import Context, compile_query
from conveyor.testing.fakes.jira.render import select
from conveyor.testing.fakes.jira.routing import (
    JiraError,
    Request,
    Response,
    Router,
    args,
    bad_request,
    json_object,
    unknown_resource,
)
from conveyor.testing.fakes.jira.store import StoredIssue

__all__ = ["REMOVED", "SearchApi"]

REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
_BAD_TOKEN = "The provided next page token is invalid or expired."
_MAX_RECONCILE = 50


@dataclass(frozen=True)
class Params:
    jql: str
    fields: list[str]
    max_results: int
    next_token: str | None
    start_at: int
    reconcile: list[int]


def _int(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"The '{name}' parameter must be a number, not '{value}'.") from None


def _from_query(request: Request) -> Params:
    first = {k: v[0] for k, v in request.query.items() if v}
    return Params(
        jql=first.get("jql", ""),
        fields=args(request, "fields"),
        max_results=_int(first.get("maxResults"), "maxResults", 50),
        next_token=first.get("nextPageToken") or None,
        start_at=_int(first.get("startAt"), "startAt", 0),
        reconcile=[_int(v, "reconcileIssues", 0) for v in args(request, "reconcileIssues")],
    )


def _from_body(body: Mapping[str, Any]) -> Params:
    fields = body.get("fields") or []
    if isinstance(fields, str):
        fields = fields.split(",")
    return Params(
        jql=str(body.get("jql") or ""),
        fields=[str(f).strip() for f in fields if str(f).strip()],
        max_results=_int(body.get("maxResults"), "maxResults", 50),
        next_token=body.get("nextPageToken") or None,
        start_at=_int(body.get("startAt"), "startAt", 0),
        reconcile=[_int(v, "reconcileIssues", 0) for v in body.get("reconcileIssues") or []],
    )


class SearchApi:
    def __init__(self, env: Env) -> None:
        self.env = env

    def register(self, router: Router) -> None:
        router.add("GET", "/rest/api/{version}/search/jql", self.jql_get)
        router.add("POST", "/rest/api/{version}/search/jql", self.jql_post)
        router.add("GET", "/rest/api/{version}/search", self.search_get)
        router.add("POST", "/rest/api/{version}/search", self.search_post)

    def jql_get(self, request: Request) -> Response:
        return self._jql(request, _from_query(request))

    def jql_post(self, request: Request) -> Response:
        return self._jql(request, _from_body(json_object(request)))

    def search_get(self, request: Request) -> Response:
        return self._search(request, _from_query(request))

    def search_post(self, request: Request) -> Response:
        return self._search(request, _from_body(json_object(request)))

    # -- Cloud: search/jql --------------------------------------------------------------------

    def _jql(self, request: Request, params: Params) -> Response:
        env = self.env
        if not env.cloud:
            raise unknown_resource(env.base_url() + request.path)
        if len(params.reconcile) > _MAX_RECONCILE:
            raise bad_request(f"reconcileIssues accepts at most {_MAX_RECONCILE} issue ids.")
        found = self._matching(params.jql, params.reconcile, bounded=True)
        only_ids = all(f in ("id", "key") for f in params.fields)
        limit = env.id_page_limit if only_ids else env.page_limit
        size = max(1, min(params.max_results or 50, limit))
        offset = self._offset(params)
        page = found[offset : offset + size]
        renderer = env.renderer(request)
        selection = select(params.fields, "id")
        answer: dict[str, Any] = {"issues": [renderer.issue(i, selection) for i in page]}
        last = offset + size >= len(found)
        if not last:
            answer["nextPageToken"] = _token(offset + size, params)
        answer["isLast"] = last
        return Response.json(200, answer)

    def _offset(self, params: Params) -> int:
        if params.next_token is None:
            return 0
        try:
            offset, fingerprint = (
                base64.urlsafe_b64decode(params.next_token.encode()).decode().split(":", 1)
            )
            if fingerprint != _fingerprint(params):
                raise ValueError(fingerprint)
            return int(offset)
        except (ValueError, UnicodeDecodeError):
            raise bad_request(_BAD_TOKEN) from None

    # -- Data Center: search ------------------------------------------------------------------

    def _search(self, request: Request, params: Params) -> Response:
        env = self.env
        if env.cloud:
            raise JiraError(410, (REMOVED,))
        found = self._matching(params.jql, (), bounded=False)
        size = max(0, min(params.max_results, env.server_page_limit))
        start = max(0, params.start_at)
        renderer = env.renderer(request)
        selection = select(params.fields, "*navigable")
        return Response.json(
            200,
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": size,
                "total": len(found),
                "issues": [renderer.issue(i, selection) for i in found[start : start + size]],
            },
        )

    # -- shared -------------------------------------------------------------------------------

    def _matching(self, jql: str, reconcile: Any, bounded: bool) -> list[StoredIssue]:
        env = self.env
        store = env.store

        def key_of(ref: str) -> str | None:
            issue = store.find(ref)
            return issue.key if issue is not None else None

        context = Context(env.zone, store.now(), env.cloud, env.users, env.me, key_of)
        search = compile_query(parse(jql), context)
        if bounded and not search.bounded:
            raise bad_request(UNBOUNDED)
        return search.order([i for i in store.searchable(reconcile) if search.matches(i)])


def _fingerprint(params: Params) -> str:
    text = params.jql + "\x00" + ",".join(params.fields)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]


def _token(offset: int, params: Params) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{_fingerprint(params)}".encode()).decode()
