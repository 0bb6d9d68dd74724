"""The Jira connector's pure pieces: JQL text, settings, values by schema, errors."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from connectors.jira import from_settings
from connectors.jira.jql import changes_jql, jql_datetime, jql_string, keys_jql, scan_jql
from connectors.jira.values import FieldSchema, from_jira, to_jira
from conveyor.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")


def test_the_cursor_is_written_in_the_users_zone_floored_to_its_minute() -> None:
    moment = dt.datetime(2024, 1, 31, 13, 5, 59, 999999, tzinfo=dt.UTC)
    assert jql_datetime(moment, BERLIN) == '"2024-01-31 14:05"'
    assert jql_datetime(moment, ZoneInfo("America/Los_Angeles")) == '"2024-01-31 05:05"'


def test_changes_jql_orders_by_updated_then_key_and_keeps_the_jobs_filter() -> None:
    moment = dt.datetime(2024, 7, 1, 10, 0, tzinfo=dt.UTC)
    assert changes_jql("TIC", moment, BERLIN, "labels = sync") == (
        'project = TIC AND (labels = sync) AND updated >= "2024-07-01 12:00" '
        "ORDER BY updated ASC, key ASC"
    )
    assert changes_jql("TIC", None, BERLIN) == "project = TIC ORDER BY updated ASC, key ASC"
    assert scan_jql("TIC") == "project = TIC ORDER BY key ASC"


@pytest.mark.parametrize("bad", ["TIC OR 1=1", "", "T-1", 'TIC"'])
def test_project_keys_are_checked(bad: str) -> None:
    with pytest.raises(ConfigError, match="not a Jira project key"):
        changes_jql(bad, None, BERLIN)


def test_literals_are_escaped_and_key_lookups_search_text_literally() -> None:
    assert jql_string('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'
    assert keys_jql("TIC", "customfield_10050", ["EXT-1"]) == (
        'project = TIC AND (cf[10050] ~ "EXT\\\\-1")'
    )
    assert keys_jql("TIC", "labels", ["conveyor-1", "conveyor-2"]) == (
        'project = TIC AND labels in ("conveyor-1", "conveyor-2")'
    )
    with pytest.raises(ConfigError, match="not a custom field id"):
        keys_jql("TIC", "summary", ["x"])


def test_values_follow_the_fields_schema_both_ways() -> None:
    user = FieldSchema("assignee", "Assignee", "user")
    priority = FieldSchema("priority", "Priority", "priority")
    labels = FieldSchema("labels", "Labels", "array", items="string")
    parts = FieldSchema("components", "Components", "array", items="component")
    choice = FieldSchema("customfield_1", "Team", "option")
    assert from_jira({"accountId": "a1", "displayName": "Ann"}, user, True) == "a1"
    assert to_jira("a1", user, cloud=True, markdown=True) == {"accountId": "a1"}
    assert to_jira("ann", user, cloud=False, markdown=True) == {"name": "ann"}
    assert from_jira({"name": "High", "id": "2"}, priority, True) == "High"
    assert to_jira("High", priority, True, True) == {"name": "High"}
    assert from_jira(["a", "b"], labels, True) == ["a", "b"]
    assert to_jira(["a"], labels, True, True) == ["a"]
    assert from_jira([{"name": "API"}], parts, True) == ["API"]
    assert to_jira(["API"], parts, True, True) == [{"name": "API"}]
    assert from_jira({"value": "Red"}, choice, True) == "Red"
    assert to_jira("Red", choice, True, True) == {"value": "Red"}
    assert to_jira(None, choice, True, True) is None


def test_rich_text_is_adf_on_cloud_and_text_on_data_center() -> None:
    description = FieldSchema("description", "Description", "string", rich=True)
    doc = to_jira("Hello **world**", description, cloud=True, markdown=True)
    assert isinstance(doc, dict) and doc["type"] == "doc"
    assert from_jira(doc, description, True) == "Hello **world**"
    assert to_jira("Hello", description, cloud=False, markdown=True) == "Hello"


def test_settings_need_one_way_in_and_never_show_a_secret() -> None:
    with pytest.raises(ConfigError, match="give one way in"):
        from_settings({"url": "https://acme.atlassian.net"})
    with pytest.raises(ConfigError, match="url must be an https URL"):
        from_settings({"url": "http://acme.example.com", "token": "t"})
    with pytest.raises(ConfigError) as raised:
        from_settings(
            {
                "url": "https://x.atlassian.net",
                "email": "a@b",
                "api_token": "s3cret",
                "token": "also-s3cret",
            }
        )
    assert "s3cret" not in str(raised.value)
    connector = from_settings(
        {"url": "https://x.atlassian.net", "email": "a@b", "api_token": "s3cret"}
    )
    assert "s3cret" not in repr(connector) and "s3cret" not in repr(connector.settings)
