"""ServiceNow's recorded ``sysparm_display_value=all`` answer compared with the fake's, shape
for shape.

The recording is demisto's Change Management API record (see ../shared/peer-suites/README.md):
every field ``{"display_value", "value"}``, date-times with ``display_value_internal``. The fake
answers the Table API for an incident, so only the columns both records have are compared
(listed in ``COMMON``: a drift in either shows), and two documented differences are expected:
the Table API sends every value as a string (its documented examples: ``"active": "true"``,
``"impact": "1"``) where the Change API types numbers and booleans, and the Change API wraps
its record with ``__meta``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conveyor.testing.fakes.servicenow import (
    FakeServiceNow,
    ManualClock,
    servicenow_session,
    table_url,
)
from tests.helpers import PEER
from tests.testing.fakes.shapes import shape_differences

RECORDING = (
    PEER
    / "demisto-servicenow"
    / "Packs"
    / "ServiceNow"
    / "Integrations"
    / "ServiceNowv2"
    / "test_data"
    / "create_co_from_template_result.json"
)
COMMON = {
    "active",
    "assigned_to",
    "assignment_group",
    "category",
    "close_code",
    "close_notes",
    "closed_at",
    "correlation_display",
    "correlation_id",
    "description",
    "impact",
    "number",
    "opened_at",
    "opened_by",
    "priority",
    "short_description",
    "state",
    "sys_class_name",
    "sys_created_by",
    "sys_created_on",
    "sys_id",
    "sys_mod_count",
    "sys_updated_by",
    "sys_updated_on",
    "urgency",
}
#: Recorded typed values the Table API sends as strings.
TYPED = {"active", "impact", "priority", "state", "sys_mod_count", "urgency"}


@pytest.fixture
def fake() -> Iterator[FakeServiceNow]:
    with FakeServiceNow(clock=ManualClock("2022-01-06T12:12:43Z")) as running:
        yield running
    assert running.internal_errors == [], running.internal_errors


@pytest.fixture
def http(fake: FakeServiceNow) -> Iterator[requests.Session]:
    with servicenow_session(fake) as session:
        yield session


def recorded() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(RECORDING.read_text(encoding="utf-8"))
    return payload


def known(problem: str) -> bool:
    typed = re.fullmatch(r"\$\.result\.(\w+)\.value: recorded (number|boolean), fake str", problem)
    return bool(typed and typed.group(1) in TYPED) or problem == "$.result: missing key '__meta'"


def test_display_value_all_matches_the_recorded_shape(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    sys_id = fake.insert(
        "incident",
        {
            "short_description": "Add network switch",
            "assigned_to": "Beth Anglin",
            "assignment_group": "Network",
            "state": "1",
        },
    )
    answer = http.get(
        table_url(fake, "incident", sys_id),
        params={"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"},
    ).json()
    recording = recorded()
    assert set(recording["result"]) & set(answer["result"]) == COMMON
    trimmed = {
        "result": {k: v for k, v in recording["result"].items() if k in COMMON or k == "__meta"}
    }
    problems = [p for p in shape_differences(trimmed, answer) if ": extra key " not in p]
    assert [p for p in problems if not known(p)] == []
    assert {p.split(".")[2] for p in problems if "recorded" in p} == TYPED  # the known ones hold
    # the recording's own time-zone relation holds in the fake: the recorded user was 8 hours
    # behind UTC in January, as America/Los_Angeles is
    stamp = recording["result"]["sys_updated_on"]
    assert (stamp["value"], stamp["display_value_internal"]) == (
        "2022-01-06 12:12:43",
        "2022-01-06 04:12:43",
    )
    assert answer["result"]["sys_created_on"] == {
        "display_value": "2022-01-06 04:12:43",
        "value": "2022-01-06 12:12:43",
        "display_value_internal": "2022-01-06 04:12:43",
    }


def test_every_column_has_the_display_value_all_shape(
    fake: FakeServiceNow, http: requests.Session
) -> None:
    fake.insert("incident", {"caller_id": "Abel Tuter", "assignment_group": "Hardware"})
    rows = http.get(table_url(fake, "incident"), params={"sysparm_display_value": "all"}).json()
    for column, value in rows["result"][0].items():
        keys = set(value)
        assert keys in (
            {"display_value", "value"},
            {"display_value", "value", "link"},
            {"display_value", "value", "display_value_internal"},
        ), column
        assert all(isinstance(v, str) for v in value.values()), column
