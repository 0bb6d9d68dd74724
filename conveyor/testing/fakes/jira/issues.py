"""The issue resources: create, read, edit, delete, transitions and the assignee (comments are
in :mod:`~conveyor.testing.fakes.jira.comments`).

- ``POST issue`` answers 201 ``{"id", "key", "self"}``; ``PUT`` and ``DELETE`` answer 204.
- ``GET issue/{key}/transitions`` lists only the transitions the issue's status offers;
  posting another answers 400 "Transition id 'N' is not valid for this issue.".
- Creates and edits pass :meth:`Faults.reject_issues` with the issue they would leave.
"""

from __future__ import annotations

from typing import Any

from conveyor.testing.fakes.jira.env import Env
from conveyor.testing.fakes.jira.render import select
from conveyor.testing.fakes.jira.routing import (
    Request,
    Response,
    Router,
    api_version,
    arg,
    args,
    bad_request,
    json_object,
)
from conveyor.testing.fakes.jira.store import StoredIssue
from conveyor.testing.fakes.jira.values import Edit
from conveyor.testing.fakes.jira.workflow import transition_json, transitions_from

__all__ = ["IssueApi"]

_ISSUE = "/rest/api/{version}/issue/{issueIdOrKey}"


class IssueApi:
    def __init__(self, env: Env) -> None:
        self.env = env

    def register(self, router: Router) -> None:
        router.add("POST", "/rest/api/{version}/issue", self.create)
        router.add("GET", _ISSUE, self.get)
        router.add("PUT", _ISSUE, self.edit)
        router.add("DELETE", _ISSUE, self.delete)
        router.add("GET", _ISSUE + "/transitions", self.transitions)
        router.add("POST", _ISSUE + "/transitions", self.transition)
        router.add("PUT", _ISSUE + "/assignee", self.assign)

    def _issue(self, request: Request) -> StoredIssue:
        return self.env.issue(request.params["issueIdOrKey"])

    # -- issues -------------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        env = self.env
        project, edit = env.writer.create(json_object(request), api_version(request))
        values = {"reporter": env.me.account_id, "creator": env.me.account_id, **edit.values}
        rejection = env.faults.rejection_for("create", env.store.preview(project, values).raw())
        if rejection is not None:
            raise rejection
        issue = env.store.create(project, values)
        for body in edit.comments:
            env.store.add_comment(issue, env.me.account_id, body)
        site = env.site(request)
        return Response.json(
            201, {"id": str(issue.id), "key": issue.key, "self": site.rest(f"issue/{issue.id}")}
        )

    def get(self, request: Request) -> Response:
        issue = self._issue(request)
        selection = select(args(request, "fields"), "*all")
        return Response.json(200, self.env.renderer(request).issue(issue, selection))

    def edit(self, request: Request) -> Response:
        issue = self._issue(request)
        edit = self.env.writer.update(issue.fields, json_object(request), api_version(request))
        self._apply(issue, edit, "update")
        return Response.empty()

    def _apply(self, issue: StoredIssue, edit: Edit, operation: str) -> None:
        env = self.env
        if edit.values:
            preview = issue.raw()
            preview["fields"].update(edit.values)
            rejection = env.faults.rejection_for(operation, preview)
            if rejection is not None:
                raise rejection
        env.store.change(issue, edit.values)
        for body in edit.comments:
            env.store.add_comment(issue, env.me.account_id, body)

    def delete(self, request: Request) -> Response:
        self.env.store.delete(self._issue(request))
        return Response.empty()

    # -- transitions --------------------------------------------------------------------------

    def transitions(self, request: Request) -> Response:
        issue = self._issue(request)
        site = self.env.site(request)
        offered = transitions_from(issue.fields["status"])
        wanted = arg(request, "transitionId")
        if wanted is not None:
            offered = [t for t in offered if t.id == wanted]
        return Response.json(
            200,
            {"expand": "transitions", "transitions": [transition_json(t, site) for t in offered]},
        )

    def transition(self, request: Request) -> Response:
        issue = self._issue(request)
        body = json_object(request)
        chosen = body.get("transition")
        wanted = chosen.get("id") if isinstance(chosen, dict) else None
        if wanted is None:
            raise bad_request("Missing 'transition' identifier")
        offered = {t.id: t for t in transitions_from(issue.fields["status"])}
        transition = offered.get(str(wanted))
        if transition is None:
            raise bad_request(f"Transition id '{wanted}' is not valid for this issue.")
        rest: dict[str, Any] = {k: body[k] for k in ("fields", "update") if k in body}
        edit = self.env.writer.update(issue.fields, rest, api_version(request))
        self._apply(issue, edit, "transition")
        self.env.store.move(issue, transition.target)
        return Response.empty()

    # -- assignee -----------------------------------------------------------------------------

    def assign(self, request: Request) -> Response:
        issue = self._issue(request)
        body: dict[str, Any] = json_object(request)
        unassign = all(v in (None, "-1") for v in body.values())
        account = None if unassign else self.env.writer.user_field("assignee", body)
        self.env.store.change(issue, {"assignee": account})
        return Response.empty()
