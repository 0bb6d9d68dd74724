"""What the fake Jira's request handlers share: the store, the deployment, the user's time zone,
the site's users, the faults and the search page limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from conveyor.testing.fakes.jira.catalog import Site, User
from conveyor.testing.fakes.jira.faults import Faults
from conveyor.testing.fakes.jira.render import Renderer
from conveyor.testing.fakes.jira.routing import Request, api_version, not_found
from conveyor.testing.fakes.jira.store import Store, StoredIssue
from conveyor.testing.fakes.jira.values import FieldWriter

__all__ = ["ISSUE_NOT_FOUND", "Env"]

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


@dataclass
class Env:
    store: Store
    cloud: bool
    time_zone: str
    users: tuple[User, ...]
    faults: Faults
    base_url: Callable[[], str]
    #: Cloud ``search/jql``: issues per page when fields are asked for, and when only ids/keys.
    page_limit: int = 100
    id_page_limit: int = 5000
    #: Data Center ``search``: the most ``maxResults`` may be.
    server_page_limit: int = 1000
    zone: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.time_zone)
        self.writer = FieldWriter(self.users, self.cloud)

    @property
    def me(self) -> User:
        """The user the fake's credentials sign in as."""
        return self.users[0]

    @property
    def deployment(self) -> str:
        return "Cloud" if self.cloud else "Server"

    def site(self, request: Request, version: int | None = None) -> Site:
        return Site(self.base_url(), version or api_version(request), self.cloud, self.zone)

    def renderer(self, request: Request, version: int | None = None) -> Renderer:
        return Renderer(self.site(request, version), self.time_zone, self.users)

    def issue(self, ref: str) -> StoredIssue:
        issue = self.store.find(ref)
        if issue is None:
            raise not_found(ISSUE_NOT_FOUND)
        return issue
