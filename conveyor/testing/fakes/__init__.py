"""Fake business systems on 127.0.0.1 that the real client libraries run against unmodified.

Each fake is a stateful HTTP server with an in-process API to seed it, inspect it and break it, so
connector tests prove behaviour against the vendor's wire format rather than against mocks of our
own code. See :mod:`conveyor.testing.fakes.salesforce`.
"""

from __future__ import annotations

__all__: list[str] = []
