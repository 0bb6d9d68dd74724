"""Pointing simple-salesforce (or any requests-based client) at the fake.

simple-salesforce builds every URL as ``https://{instance}`` and signs in at
``https://login.salesforce.com`` (``test.`` for sandboxes, ``<domain>.my.salesforce.com`` for
client credentials). :func:`loopback_session` returns a requests session whose adapter sends those
https URLs to the fake over plain http, telling the fake which host the client meant; connectors'
tests and ours build their ``Salesforce(...)`` through :func:`simple_salesforce_session`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from conveyor.testing.fakes.salesforce.auth import HOST_HEADER

if TYPE_CHECKING:
    from conveyor.testing.fakes.salesforce.fake import FakeSalesforce

__all__ = ["LoopbackAdapter", "loopback_session", "simple_salesforce_session"]


class LoopbackAdapter(HTTPAdapter):
    """Rewrites ``https://`` calls for the fake's host or any ``*.salesforce.com`` host to the
    fake's ``http://127.0.0.1:PORT``."""

    def __init__(self, target: str, **kwargs: Any) -> None:
        parts = urlsplit(target)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the loopback adapter only targets http://127.0.0.1, not {target}")
        self._target = parts.netloc
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        host = parts.hostname or ""
        if (
            parts.netloc == self._target
            or host == "salesforce.com"
            or host.endswith(".salesforce.com")
        ):
            request.headers[HOST_HEADER] = parts.netloc
            request.url = urlunsplit(("http", self._target, parts.path, parts.query, ""))
        return super().send(request, *args, **kwargs)


def loopback_session(target: str) -> requests.Session:
    """A requests session that reaches the fake at ``target`` for https Salesforce URLs."""
    session = requests.Session()
    session.trust_env = False  # no proxies or CA bundles from the environment for loopback
    session.mount("https://", LoopbackAdapter(target))
    return session


def simple_salesforce_session(fake: FakeSalesforce) -> tuple[requests.Session, str, str]:
    """``(session, instance_url, session_id)`` for ``Salesforce(session=..., instance_url=...,
    session_id=...)`` against a running fake."""
    return loopback_session(fake.url), fake.url, fake.session_id
