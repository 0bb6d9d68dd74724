"""Connection settings of a sync job: from the environment or a Prefect Secret block.

A job names its connection (``remote.connection: sf-prod``); the settings are looked up, in
order:

1. ``CONVEYOR_SF_PROD``: one environment variable holding a JSON object of every setting;
2. ``CONVEYOR_SF_PROD_<SETTING>``: one variable per setting (``CONVEYOR_SF_PROD_USERNAME``),
   values that look like JSON objects or lists are parsed;
3. a Prefect Secret block named ``sf-prod`` whose value is that JSON object.

The name is upper-cased and ``-`` and ``.`` become ``_``. Values are handed to the connector,
whose settings model types its secrets as SecretStr; they are never printed. The Prefect
lookup is imported only when the environment has nothing: the core runs without a server.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from conveyor.errors import ConfigError

__all__ = ["connection_settings", "env_prefix"]


def env_prefix(name: str) -> str:
    return "CONVEYOR_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def connection_settings(name: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings of connection ``name`` (see the module docstring)."""
    env = os.environ if environ is None else environ
    prefix = env_prefix(name)
    if prefix in env:
        return _json_object(env[prefix], f"the environment variable {prefix}")
    found = {
        key[len(prefix) + 1 :].lower(): _value(value)
        for key, value in env.items()
        if key.startswith(prefix + "_")
    }
    if found:
        return found
    from_block = _secret_block(name)
    if from_block is not None:
        return from_block
    raise ConfigError(
        f"no settings for connection {name!r}: set {prefix} to a JSON object, or "
        f"{prefix}_<SETTING> per setting, or create a Prefect Secret block named {name!r}"
    )


def _value(text: str) -> Any:
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return text
    return text


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where} is not JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where} should hold a JSON object of settings")
    return data


def _secret_block(name: str) -> dict[str, Any] | None:
    """The Secret block's JSON object, or None when Prefect has no such block. Asked only
    inside a Prefect process or with a server configured: from a plain command line, an
    ephemeral server would take seconds to start just to say no."""
    if "prefect" not in sys.modules and not os.environ.get("PREFECT_API_URL"):
        return None
    try:
        from prefect.blocks.system import Secret
    except ImportError:  # pragma: no cover - Prefect is a dependency; kept for plain installs
        return None
    try:
        value = Secret.load(name, validate=False).get()  # type: ignore[union-attr]
    except (ValueError, RuntimeError, OSError):
        return None
    if isinstance(value, dict):
        return value
    return _json_object(str(value), f"the Prefect Secret block {name!r}")
