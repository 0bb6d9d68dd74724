"""The Salesforce connector (issue 6): simple-salesforce over REST and Bulk API 2.0."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.settings import SalesforceSettings
from conveyor.errors import ConfigError

__all__ = ["SalesforceConnector", "SalesforceSettings", "from_settings"]


def from_settings(settings: Mapping[str, Any]) -> SalesforceConnector:
    """The connector for a connection's settings; ConfigError names what is missing (never a
    value: one may be a password)."""
    try:
        parsed = SalesforceSettings.model_validate(dict(settings))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"Salesforce connection settings: {problems}") from None
    return SalesforceConnector(parsed)
