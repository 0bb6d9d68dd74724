"""``FakeJira``: a stateful Jira (Cloud or Data Center) on 127.0.0.1 that tests start, seed,
inspect and break, and that the ``jira`` package talks to unmodified.

Calls are counted in total and per route (method and path template, e.g.
``"GET /rest/api/{version}/search/jql"``), so tests can hold a connector to an API budget.
"""

from __future__ import annotations

import copy
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from typing import Any, Literal, TypeVar

from conveyor.testing.fakes.jira.auth import Authenticator, Credentials
from conveyor.testing.fakes.jira.catalog import User, site_users
from conveyor.testing.fakes.jira.clock import Clock, system_clock
from conveyor.testing.fakes.jira.comments import CommentApi
from conveyor.testing.fakes.jira.env import Env
from conveyor.testing.fakes.jira.faults import Faults
from conveyor.testing.fakes.jira.issues import IssueApi
from conveyor.testing.fakes.jira.meta import MetaApi
from conveyor.testing.fakes.jira.properties import checked_mapping
from conveyor.testing.fakes.jira.routing import (
    JiraError,
    Request,
    Response,
    Router,
    unknown_resource,
)
from conveyor.testing.fakes.jira.search import SearchApi
from conveyor.testing.fakes.jira.store import Store, StoredIssue
from conveyor.testing.fakes.jira.workflow import find_status
from conveyor.testing.fakes.salesforce.server import HttpServer
from conveyor.testing.fakes.served import PasswordAccess, ServedFake

__all__ = ["Deployment", "FakeJira"]

Deployment = Literal["Cloud", "Server"]
T = TypeVar("T")


class FakeJira(PasswordAccess, ServedFake):
    """A fake Jira site served over HTTP; use it as a context manager.

    ``deployment`` is ``"Cloud"`` or ``"Server"`` (Data Center); ``time_zone`` is the signed-in
    user's profile zone, in which JQL dates are read and datetimes written.
    """

    def __init__(
        self,
        deployment: Deployment = "Cloud",
        time_zone: str = "Europe/Berlin",
        port: int = 0,
        clock: Clock | None = None,
        *,
        credentials: Credentials | None = None,
    ) -> None:
        if deployment not in ("Cloud", "Server"):
            raise ValueError(f"deployment must be 'Cloud' or 'Server', not {deployment!r}")
        self.deployment: Deployment = deployment
        self.credentials: Credentials = credentials or Credentials()
        self.internal_errors: list[str] = []
        self._init_counters()
        cloud = deployment == "Cloud"
        self._auth = Authenticator(self.credentials, cloud, lambda: self.url)
        store = Store(clock or system_clock)
        self.faults = Faults(clock=lambda: store.clock(), unauthorized=self._auth.unauthorized)
        self._env = Env(
            store,
            cloud,
            time_zone,
            site_users(self.credentials.email),
            self.faults,
            lambda: self.url,
        )
        self._router = Router()
        MetaApi(self._env).register(self._router)  # before issue/{key}: issue/createmeta
        SearchApi(self._env).register(self._router)
        IssueApi(self._env).register(self._router)
        CommentApi(self._env).register(self._router)
        self._server = HttpServer(self._handle, port)

    # -- lifecycle ----------------------------------------------------------------------------

    # -- credentials and site settings --------------------------------------------------------

    @property
    def email(self) -> str:
        """Cloud basic auth user (with :attr:`api_token`)."""
        return self.credentials.email

    @property
    def api_token(self) -> str:
        return self.credentials.api_token.get_secret_value()

    @property
    def pat(self) -> str:
        """Data Center personal access token (``Authorization: Bearer``)."""
        return self.credentials.pat.get_secret_value()

    @property
    def time_zone(self) -> str:
        return self._env.time_zone

    @property
    def users(self) -> tuple[User, ...]:
        """The site's users; the first is the one the credentials sign in as."""
        return self._env.users

    @property
    def page_limit(self) -> int:
        """Cloud ``search/jql``: the most issues a page holds when fields are asked (100)."""
        return self._env.page_limit

    @page_limit.setter
    def page_limit(self, value: int) -> None:
        self._env.page_limit = value

    @property
    def id_page_limit(self) -> int:
        """Cloud ``search/jql``: the most issues a page holds when only ids/keys are asked."""
        return self._env.id_page_limit

    @id_page_limit.setter
    def id_page_limit(self, value: int) -> None:
        self._env.id_page_limit = value

    @property
    def server_page_limit(self) -> int:
        """Data Center ``search``: the most ``maxResults`` may be (1000)."""
        return self._env.server_page_limit

    @server_page_limit.setter
    def server_page_limit(self, value: int) -> None:
        self._env.server_page_limit = value

    # -- the issues ---------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self._env.store.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._env.store.clock = clock

    def create_issue(self, project: str, fields: Mapping[str, Any], issuetype: str = "Task") -> str:
        """Create an issue as a remote user would (same checks as REST; the description may be
        text or ADF); returns its key. Its status is To Do."""
        env = self._env
        body = {"fields": {"project": {"key": project}, "issuetype": {"name": issuetype}, **fields}}
        with env.store.lock:
            project_key, edit = self._checked(lambda: env.writer.create(body, None))
            values = {"reporter": env.me.account_id, "creator": env.me.account_id, **edit.values}
            return env.store.create(project_key, values).key

    def update_issue(self, key: str, fields: Mapping[str, Any]) -> None:
        """Edit an issue's fields as a remote user would (``updated`` moves if they change)."""
        env = self._env
        with env.store.lock:
            issue = self._find(key)
            edit = self._checked(lambda: env.writer.update(issue.fields, {"fields": fields}, None))
            env.store.change(issue, edit.values)

    def delete_issue(self, key: str) -> None:
        with self._env.store.lock:
            self._env.store.delete(self._find(key))

    def set_status(self, key: str, status: str) -> None:
        """Put an issue in ``status`` directly (as a user would, in as many transitions as it
        takes); reaching Done sets the resolution."""
        if find_status(status) is None:
            raise ValueError(
                f"no status {status!r}; the workflow has To Do, In Progress, In Review and Done"
            )
        with self._env.store.lock:
            self._env.store.move(self._find(key), status)

    def add_comment(
        self,
        key: str,
        body: str | Mapping[str, Any],
        properties: Mapping[str, Any] | None = None,
    ) -> str:
        """Comment on an issue (text or ADF) as the site's user, with entity ``properties``
        (key → JSON value) as REST's ``"properties"`` sets them; returns the comment id."""
        env = self._env
        with env.store.lock:
            issue = self._find(key)
            adf = self._checked(lambda: env.writer.comment_body(body, None))
            checked = self._checked(lambda: checked_mapping(properties))
            return env.store.add_comment(issue, env.me.account_id, adf, checked).id

    def comments(self, key: str) -> list[dict[str, Any]]:
        """An issue's stored comments ordered by ``created``, as deep copies: ``{"id", "body"
        (ADF), "author" (account id), "created", "updated" (UTC datetimes), "properties"
        (key → value)}``."""
        with self._env.store.lock:
            issue = self._find(key)
            ordered = sorted(issue.comments, key=lambda c: (c.created, int(c.id)))
            return [copy.deepcopy(asdict(c)) for c in ordered]

    def issue(self, key: str) -> dict[str, Any] | None:
        """The stored issue (see :meth:`StoredIssue.raw`), or None."""
        with self._env.store.lock:
            found = self._env.store.find(key)
            return found.raw() if found is not None else None

    def issues(self, project: str | None = None) -> list[dict[str, Any]]:
        """Stored issues in creation order, optionally of one project."""
        with self._env.store.lock:
            return [i.raw() for i in self._env.store.all() if project in (None, i.project)]

    @property
    def defer_indexing(self) -> bool:
        """While on, writes reach search only at :meth:`flush_index` (or when turned off), as
        Jira Cloud's search lags its writes; ``reconcileIssues`` read named issues fresh."""
        return self._env.store.deferred

    @defer_indexing.setter
    def defer_indexing(self, value: bool) -> None:
        with self._env.store.lock:
            self._env.store.deferred = value

    def flush_index(self) -> None:
        with self._env.store.lock:
            self._env.store.flush()

    def _find(self, key: str) -> StoredIssue:
        found = self._env.store.find(key)
        if found is None:
            raise KeyError(f"no issue {key!r} in the fake Jira")
        return found

    @staticmethod
    def _checked(action: Callable[[], T]) -> T:
        """Run a write check; Jira's refusal becomes a ValueError with Jira's body."""
        try:
            return action()
        except JiraError as error:
            raise ValueError(f"Jira refused the write: {error.payload()}") from None

    # -- counters -----------------------------------------------------------------------------

    # -- request pipeline ---------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        url = self.url + request.path
        try:
            route, params = self._router.match(request.method, request.path, url)
        except JiraError as error:
            self._count(f"{request.method} (no route)")
            return error.response()
        self._count(route.key)
        delay = self.faults.delay_for(route.key)
        if delay:
            time.sleep(delay)
        try:
            if params.get("version") == "3" and not self._env.cloud:
                raise unknown_resource(url)  # Data Center has no REST v3
            self._auth.check(request, required=route.authenticated)
            injected = self.faults.error_for(route.key)
            if injected is not None:
                raise injected
            with self._env.store.lock:
                return route.handler(replace(request, params=params))
        except JiraError as error:
            return error.response()
        except Exception as exc:  # a bug in the fake must show, not hang the client
            self.internal_errors.append(traceback.format_exc())
            return JiraError(500, (f"fake bug: {exc!r}",)).response()
