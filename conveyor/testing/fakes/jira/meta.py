"""The site's metadata resources: serverInfo, myself, fields, projects, issue types, priorities,
statuses, resolutions, create metadata and users.

Create metadata comes in three shapes: the old ``issue/createmeta?projectKeys=..&expand=
projects.issuetypes.fields``; on Cloud the paginated ``issue/createmeta/{project}/issuetypes``
answering ``{"issueTypes": [...]}`` and ``.../issuetypes/{id}`` answering ``{"fields": [...]}``;
on Data Center 9 the same paths answering ``{"values": [...], "isLast"}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conveyor.testing.fakes.jira.catalog import (
    DEFAULT_PRIORITY,
    ISSUE_TYPES,
    PRIORITIES,
    PROJECTS,
    IssueType,
    Project,
    Site,
    issuetype_json,
    priority_json,
    project_json,
    resolution_json,
    user_json,
)
from conveyor.testing.fakes.jira.clock import format_datetime
from conveyor.testing.fakes.jira.describe import FIELDS, create_screen, field_json, field_meta_json
from conveyor.testing.fakes.jira.env import Env
from conveyor.testing.fakes.jira.routing import (
    Request,
    Response,
    Router,
    arg,
    args,
    int_arg,
    not_found,
)
from conveyor.testing.fakes.jira.workflow import STATUSES, category_json, find_status, status_json

__all__ = ["MetaApi"]

_V = "/rest/api/{version}"
_BUILT = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)


class MetaApi:
    def __init__(self, env: Env) -> None:
        self.env = env

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", f"{_V}/serverInfo", self.server_info, auth=False)
        add("GET", f"{_V}/myself", self.myself)
        add("GET", f"{_V}/field", self.fields)
        add("GET", f"{_V}/project", self.projects)
        add("GET", f"{_V}/project/{{projectIdOrKey}}", self.project)
        add("GET", f"{_V}/issuetype", self.issue_types)
        add("GET", f"{_V}/issuetype/{{id}}", self.issue_type)
        add("GET", f"{_V}/priority", self.priorities)
        add("GET", f"{_V}/priority/{{id}}", self.priority)
        add("GET", f"{_V}/status", self.statuses)
        add("GET", f"{_V}/status/{{idOrName}}", self.status)
        add("GET", f"{_V}/statuscategory", self.categories)
        add("GET", f"{_V}/resolution", self.resolutions)
        add("GET", f"{_V}/issue/createmeta", self.createmeta)
        add("GET", f"{_V}/issue/createmeta/{{projectIdOrKey}}/issuetypes", self.createmeta_types)
        add(
            "GET",
            f"{_V}/issue/createmeta/{{projectIdOrKey}}/issuetypes/{{issueTypeId}}",
            self.createmeta_fields,
        )
        add("GET", f"{_V}/user/search", self.user_search)
        add("GET", f"{_V}/user", self.user)

    # -- the site and the user ----------------------------------------------------------------

    def server_info(self, request: Request) -> Response:
        env, site = self.env, self.env.site(request)
        cloud = env.cloud
        version = [1001, 0, 0] if cloud else [9, 12, 15]
        payload: dict[str, Any] = {
            "baseUrl": site.base,
            "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.15",
            "versionNumbers": version,
            "deploymentType": env.deployment,
            "buildNumber": 100289 if cloud else 9120015,
            "buildDate": format_datetime(_BUILT, env.zone),
            "serverTime": format_datetime(env.store.now(), env.zone),
            "scmInfo": "5e4ca5b2f1c0d7a3b9e8f6a1c2d3e4f5a6b7c8d9",
            "serverTitle": "Jira",
        }
        if cloud:
            payload["defaultLocale"] = {"locale": "en_US"}
        else:
            payload["databaseBuildNumber"] = 9120015
        return Response.json(200, payload)

    def myself(self, request: Request) -> Response:
        payload = user_json(self.env.me, self.env.site(request), self.env.time_zone)
        payload.update(
            locale="en_US",
            groups={"size": 1, "items": []},
            applicationRoles={"size": 1, "items": []},
            expand="groups,applicationRoles",
        )
        return Response.json(200, payload)

    def fields(self, request: Request) -> Response:
        return Response.json(200, [field_json(f, self.env.cloud) for f in FIELDS])

    # -- projects and their configuration -----------------------------------------------------

    def _project(self, ref: str) -> Project:
        for project in PROJECTS:
            if ref in (project.id, project.key) or ref.upper() == project.key:
                return project
        raise not_found(f"No project could be found with key '{ref}'.")

    def projects(self, request: Request) -> Response:
        site = self.env.site(request)
        expand = frozenset(args(request, "expand"))
        lead = user_json(self.env.me, site, self.env.time_zone)
        return Response.json(200, [project_json(p, site, lead, expand) for p in PROJECTS])

    def project(self, request: Request) -> Response:
        site = self.env.site(request)
        project = self._project(request.params["projectIdOrKey"])
        lead = user_json(self.env.me, site, self.env.time_zone)
        return Response.json(200, project_json(project, site, lead))

    def issue_types(self, request: Request) -> Response:
        site = self.env.site(request)
        return Response.json(200, [issuetype_json(t, site) for t in ISSUE_TYPES])

    def _issue_type(self, ref: str) -> IssueType:
        for issue_type in ISSUE_TYPES:
            if ref in (issue_type.id, issue_type.name):
                return issue_type
        raise not_found(f"The issue type with id '{ref}' does not exist")

    def issue_type(self, request: Request) -> Response:
        issue_type = self._issue_type(request.params["id"])
        return Response.json(200, issuetype_json(issue_type, self.env.site(request)))

    def priorities(self, request: Request) -> Response:
        site = self.env.site(request)
        return Response.json(200, [priority_json(p, site) for p in PRIORITIES])

    def priority(self, request: Request) -> Response:
        wanted = request.params["id"]
        for priority in PRIORITIES:
            if priority.id == wanted:
                return Response.json(200, priority_json(priority, self.env.site(request)))
        raise not_found(f"Priority with id {wanted} does not exist.")

    def statuses(self, request: Request) -> Response:
        site = self.env.site(request)
        return Response.json(200, [status_json(s.name, site) for s in STATUSES])

    def status(self, request: Request) -> Response:
        status = find_status(request.params["idOrName"])
        if status is None:
            raise not_found(
                f"The status with id or name '{request.params['idOrName']}' does not exist."
            )
        return Response.json(200, status_json(status.name, self.env.site(request)))

    def categories(self, request: Request) -> Response:
        site = self.env.site(request)
        unique = {s.category.id: s.category for s in STATUSES}
        return Response.json(200, [category_json(c, site) for c in unique.values()])

    def resolutions(self, request: Request) -> Response:
        return Response.json(200, [resolution_json(self.env.site(request))])

    # -- create metadata ----------------------------------------------------------------------

    def _field_metas(
        self, project: Project, issue_type: IssueType, site: Site, keyed: bool
    ) -> list[dict[str, Any]]:
        metas = []
        for definition in create_screen():
            meta = field_meta_json(definition, site, keyed)
            if definition.id == "project":
                meta["allowedValues"] = [project_json(project, site)]
            elif definition.id == "issuetype":
                meta["allowedValues"] = [issuetype_json(issue_type, site)]
            elif definition.id == "priority":
                meta["allowedValues"] = [priority_json(p, site) for p in PRIORITIES]
                default = next(p for p in PRIORITIES if p.name == DEFAULT_PRIORITY)
                meta["defaultValue"] = priority_json(default, site)
            metas.append(meta)
        return metas

    def createmeta(self, request: Request) -> Response:
        site = self.env.site(request)
        keys, ids = args(request, "projectKeys"), args(request, "projectIds")
        type_ids, type_names = args(request, "issuetypeIds"), args(request, "issuetypeNames")
        with_fields = "projects.issuetypes.fields" in (arg(request, "expand") or "")
        projects = []
        for project in PROJECTS:
            if (keys or ids) and project.key not in keys and project.id not in ids:
                continue
            types = []
            for issue_type in ISSUE_TYPES:
                if (
                    (type_ids or type_names)
                    and issue_type.id not in type_ids
                    and (issue_type.name not in type_names)
                ):
                    continue
                entry = issuetype_json(issue_type, site)
                entry["expand"] = "fields"
                if with_fields:
                    metas = self._field_metas(project, issue_type, site, keyed=True)
                    entry["fields"] = {m["key"]: m for m in metas}
                types.append(entry)
            listed = project_json(project, site)
            projects.append(
                {
                    "expand": "issuetypes",
                    "self": listed["self"],
                    "id": project.id,
                    "key": project.key,
                    "name": project.name,
                    "avatarUrls": listed["avatarUrls"],
                    "issuetypes": types,
                }
            )
        return Response.json(200, {"expand": "projects", "projects": projects})

    def _page(self, request: Request, items: list[dict[str, Any]], cloud_key: str) -> Response:
        start = max(0, int_arg(request, "startAt", 0))
        size = max(1, min(int_arg(request, "maxResults", 50), 200))
        page = items[start : start + size]
        if self.env.cloud:
            body = {cloud_key: page, "maxResults": size, "startAt": start, "total": len(items)}
        else:
            last = start + size >= len(items)
            body = {
                "maxResults": size,
                "startAt": start,
                "total": len(items),
                "isLast": last,
                "values": page,
            }
        return Response.json(200, body)

    def createmeta_types(self, request: Request) -> Response:
        self._project(request.params["projectIdOrKey"])
        site = self.env.site(request)
        return self._page(request, [issuetype_json(t, site) for t in ISSUE_TYPES], "issueTypes")

    def createmeta_fields(self, request: Request) -> Response:
        project = self._project(request.params["projectIdOrKey"])
        issue_type = self._issue_type(request.params["issueTypeId"])
        site = self.env.site(request)
        metas = self._field_metas(project, issue_type, site, keyed=False)
        return self._page(request, metas, "fields")

    # -- users --------------------------------------------------------------------------------

    def user_search(self, request: Request) -> Response:
        env, site = self.env, self.env.site(request)
        term = (arg(request, "query") or arg(request, "username") or "").lower()
        found = [
            u
            for u in env.users
            if term
            and (
                term in u.display_name.lower()
                or term in u.email.lower()
                or term == u.account_id
                or (not env.cloud and term in u.name)
            )
        ]
        start = max(0, int_arg(request, "startAt", 0))
        size = max(1, int_arg(request, "maxResults", 50))
        page = found[start : start + size]
        return Response.json(200, [user_json(u, site, env.time_zone) for u in page])

    def user(self, request: Request) -> Response:
        env, site = self.env, self.env.site(request)
        wanted = arg(request, "accountId") if env.cloud else arg(request, "username")
        for user in env.users:
            if wanted in (user.account_id, user.name if not env.cloud else None):
                return Response.json(200, user_json(user, site, env.time_zone))
        raise not_found(
            f"The user with {'accountId' if env.cloud else 'username'} '{wanted}' does not exist"
        )
