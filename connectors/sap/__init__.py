"""The SAP connector (issue 9): OData v2 through pyodata and requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from connectors.sap.connector import SapConnector
from connectors.sap.settings import SapSettings
from conveyor.errors import ConfigError

__all__ = ["SapConnector", "SapSettings", "from_settings"]


def from_settings(settings: Mapping[str, Any]) -> SapConnector:
    """The connector for a connection's settings; ConfigError names what is missing (never a
    value: one may be a password)."""
    try:
        parsed = SapSettings.model_validate(dict(settings))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise ConfigError(f"SAP connection settings: {problems}") from None
    return SapConnector(parsed)
