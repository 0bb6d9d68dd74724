"""The workflow of the fake's projects: four statuses and the transitions between them.

::

    To Do --Start--> In Progress --Review--> In Review --Approve--> Done
    To Do <--Stop--- In Progress
    To Do <--Reopen------------------------------------------------- Done
    To Do --Close--------------------------------------------------> Done

A transition is offered only from its source status, so some statuses cannot be reached in one
step (In Review from To Do, for example); asking for a transition the issue's status does not
offer answers 400 as Jira does. Reaching Done sets the resolution "Done"; leaving it clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conveyor.testing.fakes.jira.catalog import Site

__all__ = [
    "INITIAL_STATUS",
    "STATUSES",
    "TRANSITIONS",
    "Status",
    "Transition",
    "category_json",
    "find_status",
    "status_json",
    "transition_json",
    "transitions_from",
]


@dataclass(frozen=True)
class Category:
    id: int
    key: str
    color: str
    name: str


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    description: str
    category: Category


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    source: str
    target: str


_NEW = Category(2, "new", "blue-gray", "To Do")
_ACTIVE = Category(4, "indeterminate", "yellow", "In Progress")
_DONE = Category(3, "done", "green", "Done")

STATUSES = (
    Status("10000", "To Do", "Work that has not been started.", _NEW),
    Status("3", "In Progress", "This issue is being actively worked on.", _ACTIVE),
    Status("10001", "In Review", "The work is waiting for a review.", _ACTIVE),
    Status("10002", "Done", "Work has been completed on this issue.", _DONE),
)
INITIAL_STATUS = "To Do"
TRANSITIONS = (
    Transition("11", "Start", "To Do", "In Progress"),
    Transition("21", "Review", "In Progress", "In Review"),
    Transition("31", "Approve", "In Review", "Done"),
    Transition("41", "Stop", "In Progress", "To Do"),
    Transition("51", "Reopen", "Done", "To Do"),
    Transition("61", "Close", "To Do", "Done"),
)


def find_status(name_or_id: str) -> Status | None:
    """A status by name (any case) or id."""
    for status in STATUSES:
        if status.id == name_or_id or status.name.lower() == name_or_id.lower():
            return status
    return None


def transitions_from(status: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == status]


def category_json(category: Category, site: Site) -> dict[str, Any]:
    return {
        "self": site.rest(f"statuscategory/{category.id}"),
        "id": category.id,
        "key": category.key,
        "colorName": category.color,
        "name": category.name,
    }


def status_json(name: str, site: Site) -> dict[str, Any]:
    status = find_status(name)
    if status is None:  # pragma: no cover - statuses come from this module
        raise KeyError(name)
    payload: dict[str, Any] = {
        "self": site.rest(f"status/{status.id}"),
        "description": status.description,
        "iconUrl": f"{site.base}/images/icons/statuses/generic.png",
        "name": status.name,
        "id": status.id,
        "statusCategory": category_json(status.category, site),
    }
    if site.cloud:
        payload["untranslatedName"] = status.name
    return payload


def transition_json(transition: Transition, site: Site) -> dict[str, Any]:
    """A transition as ``GET issue/{key}/transitions`` lists it (Cloud adds the flags)."""
    payload: dict[str, Any] = {
        "id": transition.id,
        "name": transition.name,
        "to": status_json(transition.target, site),
    }
    if site.cloud:
        payload.update(
            hasScreen=False,
            isGlobal=False,
            isInitial=False,
            isAvailable=True,
            isConditional=False,
            isLooped=False,
        )
    else:
        payload["opsbarSequence"] = int(transition.id)
    return payload
