"""The Jira connector (issue 7): the ``jira`` package, Cloud and Data Center."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from connectors.jira.connector import JiraConnector
from connectors.jira.settings import JiraSettings
from conveyor.errors import ConfigError

__all__ = ["JiraConnector", "JiraSettings", "from_settings"]


def from_settings(settings: Mapping[str, Any]) -> JiraConnector:
    """The connector for a connection's settings; ConfigError names what is missing (never a
    value: one may be a token)."""
    try:
        parsed = JiraSettings.model_validate(dict(settings))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"Jira connection settings: {problems}") from None
    return JiraConnector(parsed)
