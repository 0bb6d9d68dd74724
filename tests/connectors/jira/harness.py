"""The contract harness of the Jira connector: the fake Jira site plays the remote user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from connectors.jira import JiraConnector, from_settings
from connectors.jira.adf import to_adf
from conveyor.testing.fakes.jira import FakeJira

__all__ = ["KEY_FIELD", "JiraHarness", "fake_site", "settings_for"]

KEY_FIELD = "Conveyor Key"  # customfield_10050, by its name
CATEGORIES = ("Hardware", "Software", "Other")
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
#: Which fake route each contract operation calls (fnmatch patterns of "METHOD template").
ROUTES = {
    "check": "GET */myself",
    "read": "GET */search*",
    "write": "POST */issue",
    "delete": "DELETE */issue/*",
    "scan": "GET */search*",
}


@contextmanager
def fake_site(deployment: Literal["Cloud", "Server"] = "Cloud") -> Iterator[FakeJira]:
    with FakeJira(deployment=deployment) as fake:
        yield fake


def settings_for(fake: FakeJira, **extra: Any) -> dict[str, Any]:
    if fake.deployment == "Cloud":
        auth: dict[str, Any] = {"email": fake.email, "api_token": fake.api_token}
    else:
        auth = {"token": fake.pat}
    return {"url": fake.url, **auth, **extra}


@dataclass
class JiraHarness:
    fake: FakeJira
    connector: JiraConnector
    entity: str = "TIC"
    fields: Sequence[str] = ("summary", "description", "priority", "labels", "Category")
    external_id_field: str = KEY_FIELD
    seeds_share_instants: bool = False  # the fake's clock can be set instead

    @classmethod
    def open(cls, fake: FakeJira, page_size: int = 5) -> JiraHarness:
        connector = from_settings(settings_for(fake, page_size=page_size))
        connector.check()  # signs in and learns the user's time zone, before calls are counted
        connector.describe("TIC")
        return cls(fake, connector)

    def close(self) -> None:
        self.connector.close()

    def sample(self, n: int) -> dict[str, Any]:
        return {
            "summary": f"Ticket {n}",
            "description": f"Steps for **ticket {n}**:\n\n- first\n- second",
            "priority": PRIORITIES[n % len(PRIORITIES)],
            "labels": [f"l{n}", "sync"],
            "Category": CATEGORIES[n % len(CATEGORIES)],
        }

    def invalid(self, n: int) -> dict[str, Any]:
        return {**self.sample(n), "priority": "Not a priority"}

    def seed(self, values: Mapping[str, Any]) -> str:
        key = self.fake.create_issue(self.entity, _fields(values, self.fake.deployment))
        issue = self.fake.issue(key)
        assert issue is not None
        return str(issue["id"])

    def update(self, id: str, values: Mapping[str, Any]) -> None:
        self.fake.update_issue(id, _fields(values, self.fake.deployment))

    def remove(self, id: str) -> None:
        self.fake.delete_issue(id)

    def set_clock(self, moment: dt.datetime | None) -> None:
        self.fake.clock = (lambda: moment) if moment is not None else _now

    def fail_next(self, op: str, status: int, retry_after: float | None = None) -> None:
        seconds = None if retry_after is None else int(retry_after)
        self.fake.faults.fail_next(ROUTES[op], status=status, retry_after=seconds)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _fields(values: Mapping[str, Any], deployment: str) -> dict[str, Any]:
    """The sample's values as a remote user sets them through the fake: on Cloud a
    description made in Jira's editor (bold is bold); on Data Center, wiki text as typed."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "priority":
            out["priority"] = {"name": value}
        elif name == "Category":
            out["customfield_10051"] = {"value": value}
        elif name == "description" and deployment == "Cloud":
            out["description"] = to_adf(value)
        else:
            out[name] = value
    return out
