"""The fake's field catalogue: what ``GET field`` lists, what JQL names resolve to and what the
create screens offer.

System fields carry ``schema.system``; the two custom fields carry ``schema.custom`` and
``customId``: "Conveyor Key" (``customfield_10050``, a single-line text field, so JQL can only
word-search it with ``~``) and "Category" (``customfield_10051``, a select list). Each field has
a ``kind`` that decides how its values are written, rendered and compared in JQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conveyor.testing.fakes.jira.catalog import Site

__all__ = [
    "CATEGORY",
    "CONVEYOR_KEY",
    "FIELDS",
    "FieldDef",
    "by_clause",
    "by_id",
    "create_screen",
    "field_json",
    "field_meta_json",
    "option_json",
]

CONVEYOR_KEY = "customfield_10050"
CATEGORY = "customfield_10051"
_TEXTFIELD = "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
_SELECT = "com.atlassian.jira.plugin.system.customfieldtypes:select"


@dataclass(frozen=True)
class FieldDef:
    id: str
    name: str
    kind: str  # text, rich, labels, user, priority, status, issuetype, project, datetime,
    #            option, resolution, key, readonly
    # Jira's flags: orderable = may be put on a screen (not "sortable"); navigable = may be a
    # column of the issue navigator (and so sorted by); searchable = has a JQL clause.
    schema: dict[str, Any] | None
    clauses: tuple[str, ...]
    custom_label: str = ""  # Cloud's type-suffixed clause name: "Conveyor Key[Short text]"
    orderable: bool = True
    navigable: bool = True
    searchable: bool = True
    on_create: bool = False
    required: bool = False
    operations: tuple[str, ...] = ("set",)
    options: tuple[tuple[str, str], ...] = ()  # (id, value) of a select list

    @property
    def custom(self) -> bool:
        return self.id.startswith("customfield_")

    @property
    def custom_id(self) -> int | None:
        return int(self.id.split("_")[1]) if self.custom else None


def _system(id: str, type: str, items: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": type}
    if items:
        schema["items"] = items
    schema["system"] = id
    return schema


FIELDS = (
    FieldDef("issuekey", "Key", "key", None, ("id", "issue", "issuekey", "key"), orderable=False,
             searchable=False),
    FieldDef("summary", "Summary", "text", _system("summary", "string"), ("summary",),
             on_create=True, required=True),
    FieldDef("description", "Description", "rich", _system("description", "string"),
             ("description",), on_create=True),
    FieldDef("issuetype", "Issue Type", "issuetype", _system("issuetype", "issuetype"),
             ("issuetype", "type"), on_create=True, required=True, operations=()),
    FieldDef("project", "Project", "project", _system("project", "project"), ("project",),
             on_create=True, required=True),
    FieldDef("status", "Status", "status", _system("status", "status"), ("status",),
             orderable=False),
    FieldDef("priority", "Priority", "priority", _system("priority", "priority"), ("priority",),
             on_create=True),
    FieldDef("labels", "Labels", "labels", _system("labels", "array", "string"), ("labels",),
             on_create=True, operations=("add", "set", "remove")),
    FieldDef("assignee", "Assignee", "user", _system("assignee", "user"), ("assignee",),
             on_create=True),
    FieldDef("reporter", "Reporter", "user", _system("reporter", "user"), ("reporter",),
             on_create=True),
    FieldDef("creator", "Creator", "readonly", _system("creator", "user"), ("creator",),
             orderable=False),
    FieldDef("created", "Created", "datetime", _system("created", "datetime"),
             ("created", "createdDate"), orderable=False),
    FieldDef("updated", "Updated", "datetime", _system("updated", "datetime"),
             ("updated", "updatedDate"), orderable=False),
    FieldDef("resolution", "Resolution", "resolution", _system("resolution", "resolution"),
             ("resolution",)),
    FieldDef("resolutiondate", "Resolved", "datetime", _system("resolutiondate", "datetime"),
             ("resolutiondate", "resolved"), orderable=False),
    FieldDef("statuscategorychangedate", "Status Category Changed", "datetime",
             _system("statuscategorychangedate", "datetime"), ("statusCategoryChangedDate",),
             orderable=False),
    FieldDef("comment", "Comment", "readonly", _system("comment", "comments-page"),
             ("comment",), navigable=False),
    FieldDef("issuelinks", "Linked Issues", "readonly",
             _system("issuelinks", "array", "issuelinks"), ("issueLink",)),
    FieldDef("subtasks", "Sub-tasks", "readonly", _system("subtasks", "array", "issuelinks"),
             ("subtasks",), orderable=False),
    FieldDef("watches", "Watchers", "readonly", _system("watches", "watches"), ("watchers",),
             orderable=False),
    FieldDef("fixVersions", "Fix versions", "readonly",
             _system("fixVersions", "array", "version"), ("fixVersion",)),
    FieldDef("timespent", "Time Spent", "readonly", _system("timespent", "number"),
             ("timespent",), orderable=False),
    FieldDef(CONVEYOR_KEY, "Conveyor Key", "text",
             {"type": "string", "custom": _TEXTFIELD, "customId": 10050},
             ("cf[10050]", "Conveyor Key"), custom_label="Conveyor Key[Short text]",
             on_create=True),
    FieldDef(CATEGORY, "Category", "option",
             {"type": "option", "custom": _SELECT, "customId": 10051},
             ("cf[10051]", "Category"), custom_label="Category[Dropdown]", on_create=True,
             options=(("10100", "Hardware"), ("10101", "Software"), ("10102", "Other"))),
)  # fmt: skip

_BY_ID = {f.id: f for f in FIELDS}


def by_id(field_id: str) -> FieldDef | None:
    return _BY_ID.get(field_id)


def by_clause(name: str) -> FieldDef | None:
    """The field a JQL clause names: a clause name (any case), a custom field's name,
    ``cf[10050]`` or Cloud's ``Conveyor Key[Short text]``."""
    wanted = name.strip().lower()
    custom = re.fullmatch(r"cf\[(\d+)\]", wanted)
    if custom:
        return _BY_ID.get(f"customfield_{custom.group(1)}")
    for definition in FIELDS:
        names = [*definition.clauses, definition.custom_label]
        if any(wanted == n.lower() for n in names if n):
            return definition
    return None


def create_screen() -> list[FieldDef]:
    """The fields on the create screen of every issue type (both projects share one)."""
    return [f for f in FIELDS if f.on_create]


def field_json(definition: FieldDef, cloud: bool) -> dict[str, Any]:
    """A field as ``GET field`` lists it."""
    clauses = list(definition.clauses)
    if cloud and definition.custom_label:
        clauses.append(definition.custom_label)
    payload: dict[str, Any] = {"id": definition.id, "key": definition.id, "name": definition.name}
    if cloud and definition.custom:
        payload["untranslatedName"] = definition.name
    payload.update(
        custom=definition.custom,
        orderable=definition.orderable,
        navigable=definition.navigable,
        searchable=definition.searchable,
        clauseNames=clauses,
    )
    if definition.schema is not None:
        payload["schema"] = dict(definition.schema)
    return payload


def option_json(definition: FieldDef, option_id: str, value: str, site: Site) -> dict[str, Any]:
    return {"self": site.rest(f"customFieldOption/{option_id}"), "value": value, "id": option_id}


def field_meta_json(definition: FieldDef, site: Site, keyed: bool) -> dict[str, Any]:
    """A create-screen field as createmeta describes it; ``keyed`` for the old createmeta
    (fields keyed by id), else with ``fieldId`` as the paginated createmeta lists them."""
    payload: dict[str, Any] = {
        "required": definition.required,
        "schema": dict(definition.schema or {}),
        "name": definition.name,
        "key": definition.id,
    }
    if not keyed:
        payload["fieldId"] = definition.id
    if definition.kind == "user":
        payload["autoCompleteUrl"] = site.rest("user/search?query=")
    payload.update(
        hasDefaultValue=definition.id == "priority", operations=list(definition.operations)
    )
    if definition.kind == "option":
        payload["allowedValues"] = [
            option_json(definition, i, v, site) for i, v in definition.options
        ]
    return payload
