"""Prefect flows: thin wrappers that resolve names, load secrets inside tasks and call the core.

Importing this package sets offline defaults for Prefect (ephemeral local server, no analytics,
a PREFECT_HOME of our own) unless the environment already says otherwise. Logs stay at Prefect's
INFO level, so each stage's line reaches the run's log in the UI; `make demo` runs at WARNING to
keep its console output short.
"""

from __future__ import annotations

import os
from pathlib import Path

_DEFAULTS = {
    "PREFECT_HOME": str(Path.cwd() / ".prefect"),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}
for _name, _value in _DEFAULTS.items():
    os.environ.setdefault(_name, _value)
