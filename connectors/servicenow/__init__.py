"""The ServiceNow connector (issue 8): the Table API, and the Import Set API for bulk."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from connectors.servicenow.connector import ServiceNowConnector
from connectors.servicenow.settings import ServiceNowSettings
from conveyor.errors import ConfigError

__all__ = ["ServiceNowConnector", "ServiceNowSettings", "from_settings"]


def from_settings(settings: Mapping[str, Any]) -> ServiceNowConnector:
    """The connector for a connection's settings; ConfigError names what is missing (never a
    value: one may be a password)."""
    try:
        parsed = ServiceNowSettings.model_validate(dict(settings))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"ServiceNow connection settings: {problems}") from None
    return ServiceNowConnector(parsed)
