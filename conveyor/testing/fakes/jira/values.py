"""Field values written to the fake Jira: a create's or an edit's ``fields`` and ``update``
checked and turned into the store's internal values, or refused with Jira's per-field errors.

Jira checks every field and answers all problems at once, ``{"errorMessages": [],
"errors": {"summary": "...", "priority": "..."}}``. Rules held here:

- v3 rich text (the description) must be Atlassian Document Format; v2 takes a string.
- Users are addressed by ``accountId`` on Cloud (a ``name`` is refused) and by ``name`` (or
  ``key``) on Data Center.
- ``status`` cannot be set by an edit (only by a transition); unknown fields are refused.
- ``update`` takes ``set`` for every field and ``add``/``remove`` for labels; ``comment`` takes
  ``add``; one field may not be in both ``fields`` and ``update``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.testing.fakes.jira.adf import NOT_ADF, is_adf, text_to_adf
from conveyor.testing.fakes.jira.catalog import ISSUE_TYPES, PRIORITIES, PROJECTS, User
from conveyor.testing.fakes.jira.describe import FieldDef, by_id
from conveyor.testing.fakes.jira.routing import JiraError, field_errors

__all__ = ["NOT_ON_SCREEN", "Edit", "FieldWriter"]

NOT_ON_SCREEN = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown."
_NOT_STRING = "Operation value must be a string"
_WRITABLE = frozenset(
    {"text", "rich", "labels", "user", "priority", "issuetype", "option", "project"}
)


@dataclass
class Edit:
    """A checked write: new field values and comment bodies (ADF) to add."""

    values: dict[str, Any] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FieldWriter:
    """Checks writes for one deployment; ``version`` is the REST version of the request (None
    for the fake's own in-process API, which takes a description as text or ADF)."""

    def __init__(self, users: Sequence[User], cloud: bool) -> None:
        self.users = users
        self.cloud = cloud

    def create(self, body: Mapping[str, Any], version: int | None) -> tuple[str, Edit]:
        """A create's project key and values (project and issue type required)."""
        fields = _mapping(body.get("fields"), "fields")
        errors: dict[str, str] = {}
        edit = self._edit(fields, _mapping(body.get("update"), "update"), version, {}, errors)
        project = edit.values.pop("project", None)
        if project is None and "project" not in errors:
            errors["project"] = "Specify a valid project ID or key"
        if "issuetype" not in edit.values and "issuetype" not in errors:
            errors["issuetype"] = "Specify an issue type"
        if not edit.values.get("summary") and "summary" not in errors:
            errors["summary"] = "You must specify a summary of the issue."
        if errors:
            raise field_errors(errors)
        return str(project), edit

    def update(
        self, current: Mapping[str, Any], body: Mapping[str, Any], version: int | None
    ) -> Edit:
        fields = _mapping(body.get("fields"), "fields")
        errors: dict[str, str] = {}
        edit = self._edit(fields, _mapping(body.get("update"), "update"), version, current, errors)
        if "project" in edit.values:
            errors["project"] = NOT_ON_SCREEN.format("project")
        if errors:
            raise field_errors(errors)
        return edit

    # -- one write ----------------------------------------------------------------------------

    def _edit(
        self,
        fields: Mapping[str, Any],
        update: Mapping[str, Any],
        version: int | None,
        current: Mapping[str, Any],
        errors: dict[str, str],
    ) -> Edit:
        edit = Edit()
        for field_id, raw in fields.items():
            self._set(edit, field_id, raw, version, errors)
        for field_id, operations in update.items():
            if field_id in fields:
                errors[field_id] = f"Field '{field_id}' cannot be set in both 'fields' and 'update'"
            elif field_id == "comment":
                self._comments(edit, operations, version, errors)
            else:
                self._operations(edit, field_id, operations, version, current, errors)
        return edit

    def _set(
        self, edit: Edit, field_id: str, raw: Any, version: int | None, errors: dict[str, str]
    ) -> None:
        definition = by_id(field_id)
        if definition is None or definition.kind not in _WRITABLE:
            errors[field_id] = NOT_ON_SCREEN.format(field_id)
            return
        try:
            edit.values[field_id] = self.value(definition, raw, version)
        except _Invalid as invalid:
            errors[field_id] = invalid.message

    def _operations(
        self,
        edit: Edit,
        field_id: str,
        operations: Any,
        version: int | None,
        current: Mapping[str, Any],
        errors: dict[str, str],
    ) -> None:
        definition = by_id(field_id)
        if definition is None or definition.kind not in _WRITABLE:
            errors[field_id] = NOT_ON_SCREEN.format(field_id)
            return
        if not isinstance(operations, list):
            errors[field_id] = "Operations must be a list of {operation: value} objects"
            return
        labels = list(edit.values.get(field_id, current.get(field_id)) or [])
        for operation in operations:
            verb, value = next(iter(operation.items())) if isinstance(operation, dict) else ("", 0)
            if verb not in definition.operations:
                supported = ", ".join(f"'{o}'" for o in definition.operations)
                errors[field_id] = (
                    f"Field '{field_id}' does not support operation '{verb}' "
                    f"Supported operation(s) are: {supported}"
                )
                return
            if verb == "set":
                self._set(edit, field_id, value, version, errors)
                labels = list(edit.values.get(field_id) or [])
            elif not isinstance(value, str):
                errors[field_id] = _NOT_STRING
                return
            elif verb == "add" and value not in labels:
                labels.append(value)
            elif verb == "remove" and value in labels:
                labels.remove(value)
            if verb != "set":
                edit.values[field_id] = labels

    def _comments(
        self, edit: Edit, operations: Any, version: int | None, errors: dict[str, str]
    ) -> None:
        for operation in operations if isinstance(operations, list) else [None]:
            add = operation.get("add") if isinstance(operation, dict) else None
            if not isinstance(add, dict):
                errors["comment"] = "Field 'comment' supports only the operation 'add'"
                return
            try:
                edit.comments.append(self.comment_body(add.get("body"), version))
            except JiraError as error:
                errors.update(error.errors)
                return

    # -- values -------------------------------------------------------------------------------

    def comment_body(self, raw: Any, version: int | None) -> dict[str, Any]:
        """A comment body as ADF, checked as the request's REST version wants it."""
        try:
            body = self._rich(raw, version)
        except _Invalid as invalid:
            raise field_errors({"comment": invalid.message}) from None
        if body is None:
            raise field_errors({"comment": "Comment body can not be empty!"})
        return body

    def value(self, definition: FieldDef, raw: Any, version: int | None) -> Any:
        kind = definition.kind
        if kind == "text":
            return self._text(definition, raw)
        if kind == "rich":
            return self._rich(raw, version)
        if kind == "labels":
            return _labels(raw)
        if kind == "user":
            return self._user(definition, raw)
        if kind == "option":
            return _option(definition, raw)
        return _named(kind, raw)

    def user_field(self, field_id: str, raw: Any) -> str | None:
        """A user field's value (an account id), or the field's 400."""
        definition = by_id(field_id)
        if definition is None or definition.kind != "user":
            raise ValueError(f"{field_id} is not a user field")
        try:
            return self._user(definition, raw)
        except _Invalid as invalid:
            raise field_errors({field_id: invalid.message}) from None

    def _text(self, definition: FieldDef, raw: Any) -> str | None:
        if raw is None and definition.id != "summary":
            return None
        if not isinstance(raw, str):
            raise _Invalid(_NOT_STRING)
        if definition.id == "summary":
            if "\n" in raw or "\r" in raw:
                raise _Invalid("The summary is invalid because it contains newline characters.")
            if len(raw) > 255:
                raise _Invalid("Summary must be less than 255 characters.")
        elif len(raw) > 255:
            raise _Invalid(
                "The entered text is too long. It exceeds the allowed limit of 255 characters."
            )
        return raw or None

    def _rich(self, raw: Any, version: int | None) -> dict[str, Any] | None:
        if raw is None:
            return None
        if version == 3 or (version is None and not isinstance(raw, str)):
            if not is_adf(raw):
                raise _Invalid(NOT_ADF)
            return dict(raw) if raw.get("content") else None
        if not isinstance(raw, str):
            raise _Invalid(_NOT_STRING)
        return text_to_adf(raw)

    def _user(self, definition: FieldDef, raw: Any) -> str | None:
        if raw is None and definition.id == "assignee":
            return None
        if not isinstance(raw, dict):
            raise _Invalid(f"Specify a valid value for {definition.id}")
        if self.cloud:
            if "name" in raw or "key" in raw:
                raise _Invalid(
                    "Users are addressed by 'accountId' on Jira Cloud; 'name' and 'key' are "
                    "not supported (GDPR strict mode)"
                )
            wanted = raw.get("accountId", raw.get("id"))
            found = [u for u in self.users if u.account_id == wanted]
        else:
            wanted = raw.get("name", raw.get("key"))
            found = [u for u in self.users if wanted in (u.name, u.key)]
        if not found:
            raise _Invalid(f"User '{wanted}' does not exist.")
        return found[0].account_id


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise JiraError(400, (f"'{name}' must be an object",))
    return value


def _labels(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise _Invalid("Operation value must be an array of strings")
    for label in raw:
        if not label or any(c.isspace() for c in label):
            raise _Invalid(f"The label '{label}' contains spaces which is invalid.")
        if len(label) > 255:
            raise _Invalid("The label must not exceed 255 characters.")
    return list(dict.fromkeys(raw))


def _option(definition: FieldDef, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not ({"value", "id"} & raw.keys()):
        raise _Invalid("Specify a valid 'id' or 'value' for " + definition.name)
    for option_id, value in definition.options:
        if raw.get("id") == option_id or raw.get("value") == value:
            return value
    if "id" in raw:
        raise _Invalid(f"Option id '{raw['id']}' is not valid")
    raise _Invalid(f"Option value '{raw.get('value')}' is not valid")


def _named(kind: str, raw: Any) -> str:
    """Project (by key or id), issue type or priority (by name or id)."""
    candidates: dict[str, tuple[tuple[str, str, str], ...]] = {
        "project": tuple((p.id, p.key, p.key) for p in PROJECTS),
        "issuetype": tuple((t.id, t.name, t.name) for t in ISSUE_TYPES),
        "priority": tuple((p.id, p.name, p.name) for p in PRIORITIES),
    }
    wanted = (
        raw.get("id", raw.get("key" if kind == "project" else "name"))
        if isinstance(raw, dict)
        else None
    )
    for ident, name, stored in candidates[kind]:
        if wanted is not None and str(wanted) in (ident, name):
            return stored
    messages = {
        "project": "Specify a valid project ID or key",
        "issuetype": "The issue type selected is invalid.",
        "priority": f"Priority name '{wanted}' is not valid",
    }
    raise _Invalid(messages[kind])
