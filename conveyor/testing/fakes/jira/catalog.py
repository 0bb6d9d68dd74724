"""The fake Jira site's fixed configuration: projects, issue types, priorities, users, the
resolution, and how each renders in REST JSON.

Two projects (``TIC`` "Tickets" and ``OPS`` "Operations"), issue types Task and Bug, priorities
Highest to Lowest (Medium the default) and three users addressed by accountId on Cloud and by
user name on Data Center. Renderers take a :class:`Site`: the base URL, the REST version asked
and the deployment, so ``self`` links and user shapes follow the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_PRIORITY",
    "ISSUE_TYPES",
    "PRIORITIES",
    "PROJECTS",
    "IssueType",
    "Priority",
    "Project",
    "Site",
    "User",
    "issuetype_json",
    "priority_json",
    "project_json",
    "resolution_json",
    "site_users",
    "user_json",
]


@dataclass(frozen=True)
class Site:
    """What a rendering depends on besides the data."""

    base: str
    version: int
    cloud: bool
    zone: ZoneInfo

    def rest(self, path: str) -> str:
        return f"{self.base}/rest/api/{self.version}/{path}"


@dataclass(frozen=True)
class User:
    account_id: str
    name: str  # the Data Center user name
    key: str  # the Data Center user key
    display_name: str
    email: str
    active: bool = True


@dataclass(frozen=True)
class Project:
    id: str
    key: str
    name: str
    description: str


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    description: str
    avatar_id: int


@dataclass(frozen=True)
class Priority:
    id: str
    name: str
    color: str
    description: str


PROJECTS = (
    Project("10000", "TIC", "Tickets", "Tickets synchronised by Conveyor"),
    Project("10001", "OPS", "Operations", "Operations work"),
)
ISSUE_TYPES = (
    IssueType("10001", "Task", "A small, distinct piece of work.", 10318),
    IssueType("10002", "Bug", "A problem or error.", 10303),
)
PRIORITIES = (
    Priority("1", "Highest", "#d04437", "This problem will block progress."),
    Priority("2", "High", "#f15C75", "Serious problem that could block progress."),
    Priority("3", "Medium", "#f79232", "Has the potential to affect progress."),
    Priority("4", "Low", "#707070", "Minor problem or easily worked around."),
    Priority("5", "Lowest", "#999999", "Trivial problem with little or no impact on progress."),
)
DEFAULT_PRIORITY = "Medium"


def site_users(email: str) -> tuple[User, ...]:
    """The site's users; the first is the one the fake's credentials sign in as."""
    return (
        User("5fb82376aca10c006949f35a", "admin", "JIRAUSER10000", "Conveyor Admin", email),
        User(
            "5fb82376aca10c006949f35b",
            "alice",
            "JIRAUSER10100",
            "Alice Example",
            "alice@example.com",
        ),
        User("5fb82376aca10c006949f35c", "bob", "JIRAUSER10101", "Bob Example", "bob@example.com"),
    )


def _avatars(base: str, kind: str, ident: str) -> dict[str, str]:
    return {
        size: f"{base}/secure/useravatar?size={name}&{kind}={ident}"
        for size, name in (
            ("48x48", "large"),
            ("24x24", "small"),
            ("16x16", "xsmall"),
            ("32x32", "medium"),
        )
    }


def user_json(user: User, site: Site, time_zone: str) -> dict[str, Any]:
    """A user as Jira renders one: by accountId on Cloud (no user name there), by name and key
    on Data Center."""
    if site.cloud:
        return {
            "self": site.rest(f"user?accountId={user.account_id}"),
            "accountId": user.account_id,
            "emailAddress": user.email,
            "avatarUrls": _avatars(site.base, "ownerId", user.account_id),
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": time_zone,
            "accountType": "atlassian",
        }
    return {
        "self": site.rest(f"user?username={user.name}"),
        "key": user.key,
        "name": user.name,
        "emailAddress": user.email,
        "avatarUrls": _avatars(site.base, "ownerId", user.key),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": time_zone,
    }


def issuetype_json(issue_type: IssueType, site: Site) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "self": site.rest(f"issuetype/{issue_type.id}"),
        "id": issue_type.id,
        "description": issue_type.description,
        "iconUrl": f"{site.base}/secure/viewavatar?size=medium&avatarId={issue_type.avatar_id}"
        "&avatarType=issuetype",
        "name": issue_type.name,
        "subtask": False,
        "avatarId": issue_type.avatar_id,
    }
    if site.cloud:
        payload["hierarchyLevel"] = 0
    return payload


def priority_json(priority: Priority, site: Site) -> dict[str, Any]:
    return {
        "self": site.rest(f"priority/{priority.id}"),
        "statusColor": priority.color,
        "description": priority.description,
        "iconUrl": f"{site.base}/images/icons/priorities/{priority.name.lower()}.svg",
        "name": priority.name,
        "id": priority.id,
    }


def resolution_json(site: Site) -> dict[str, Any]:
    """The one resolution, set when an issue reaches Done."""
    return {
        "self": site.rest("resolution/10000"),
        "id": "10000",
        "description": "Work has been completed on this issue.",
        "name": "Done",
    }


def project_json(
    project: Project,
    site: Site,
    lead: dict[str, Any] | None = None,
    expand: frozenset[str] | None = None,
) -> dict[str, Any]:
    """A project as ``GET project`` lists it (``expand`` adds ``description``, ``lead`` and
    ``issueTypes``); with ``lead`` and no ``expand``, as ``GET project/{key}`` answers."""
    payload: dict[str, Any] = {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": site.rest(f"project/{project.id}"),
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "avatarUrls": _avatars(site.base, "pid", project.id),
        "projectTypeKey": "software",
    }
    if site.cloud:
        payload.update(simplified=False, style="classic", isPrivate=False, properties={})
    else:
        payload["archived"] = False
    full = expand is None and lead is not None
    wanted = expand or frozenset()
    if full or "description" in wanted:
        payload["description"] = project.description
    if lead is not None and (full or "lead" in wanted):
        payload["lead"] = lead
    if full:
        payload.update(components=[], assigneeType="UNASSIGNED", versions=[], roles={})
    if full or "issueTypes" in wanted:
        payload["issueTypes"] = [issuetype_json(t, site) for t in ISSUE_TYPES]
    return payload
