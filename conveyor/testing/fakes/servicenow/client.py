"""Pointing pysnc (or any requests-based client) at the fake instance.

pysnc refuses ``http://`` instance URLs, so it is given :attr:`FakeServiceNow.instance_url`
(``https://127.0.0.1:PORT``) and its session gets :class:`LoopbackAdapter`, which sends those
https calls to the fake over plain http and tells it (``X-Forwarded-Proto: https``) so the links
in answers (references, ``Link`` headers, ``Location``) keep the https form the client used.
pysnc's own retrying adapter is mounted on the instance URL and would win over ours: build
clients with ``auto_retry=False``, as :func:`pysnc_client` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import requests
from pysnc import ServiceNowClient  # type: ignore[import-untyped]
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from conveyor.testing.fakes.servicenow.fake import FakeServiceNow

__all__ = [
    "LoopbackAdapter",
    "loopback_session",
    "oauth_session",
    "pysnc_client",
    "servicenow_session",
    "table_url",
]


class LoopbackAdapter(HTTPAdapter):
    """Rewrites ``https://127.0.0.1:PORT`` calls to the fake's ``http://127.0.0.1:PORT``."""

    def __init__(self, target: str, **kwargs: Any) -> None:
        parts = urlsplit(target)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the loopback adapter only targets http://127.0.0.1, not {target}")
        self._target = parts.netloc
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        if parts.scheme == "https" and parts.netloc == self._target:
            request.headers["X-Forwarded-Proto"] = "https"
            request.url = urlunsplit(("http", self._target, parts.path, parts.query, ""))
        return super().send(request, *args, **kwargs)


def loopback_session(
    fake: FakeServiceNow, session: requests.Session | None = None
) -> requests.Session:
    """``session`` (or a new one) reaching the fake at its https instance URL."""
    session = session if session is not None else requests.Session()
    session.trust_env = False  # no proxies or CA bundles from the environment for loopback
    session.mount("https://", LoopbackAdapter(fake.url))
    return session


def pysnc_client(fake: FakeServiceNow, auth: Any = None) -> ServiceNowClient:
    """pysnc's ``ServiceNowClient`` for the fake: basic auth with the fake's user unless
    ``auth`` (a requests session, e.g. from :func:`oauth_session`, or an ``AuthBase``) is given;
    no retries, so tests see every answer."""
    client = ServiceNowClient(
        fake.instance_url,
        auth if auth is not None else (fake.username, fake.password),
        auto_retry=False,
    )
    loopback_session(fake, client.session)
    return client


def oauth_session(fake: FakeServiceNow, grant: str = "password") -> OAuth2Session:
    """A requests-oauthlib session holding a token from the fake's ``/oauth_token.do``
    (``grant`` ``password`` or ``client_credentials``), reaching the fake over the loopback
    adapter; refresh with ``session.refresh_token(fake.instance_url + "/oauth_token.do")``."""
    from oauthlib.oauth2 import (  # type: ignore[import-untyped]
        BackendApplicationClient,
        LegacyApplicationClient,
    )

    token_url = f"{fake.instance_url}/oauth_token.do"
    legacy = grant == "password"
    oauth_client = (
        LegacyApplicationClient(client_id=fake.client_id)
        if legacy
        else BackendApplicationClient(client_id=fake.client_id)
    )
    session = OAuth2Session(
        client=oauth_client,
        auto_refresh_url=token_url,
        auto_refresh_kwargs={"client_id": fake.client_id, "client_secret": fake.client_secret},
    )
    loopback_session(fake, session)
    credentials = {"username": fake.username, "password": fake.password} if legacy else {}
    session.fetch_token(
        token_url=token_url,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        **credentials,
    )
    return session


def servicenow_session(fake: FakeServiceNow) -> requests.Session:
    """A plain ``requests`` session with the fake's basic credentials against :attr:`url`
    (for exact status and header checks); close it when done."""
    session = requests.Session()
    session.trust_env = False
    session.auth = (fake.username, fake.password)
    session.headers["Accept"] = "application/json"
    return session


def table_url(fake: FakeServiceNow, table: str, sys_id: str | None = None) -> str:
    """``{fake.url}/api/now/table/{table}[/{sys_id}]``."""
    url = f"{fake.url}/api/now/table/{table}"
    return f"{url}/{sys_id}" if sys_id else url
