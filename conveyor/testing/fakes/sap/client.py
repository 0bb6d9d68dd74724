"""Clients for the fake SAP system: a ``requests`` session signed in with basic auth or an OAuth
bearer token, the CSRF token fetch SAP needs before any write, and pyodata's service.

pyodata (1.12.1) takes a plain requests session and does not fetch CSRF tokens itself, so
:func:`pyodata_service` fetches one into the session's headers first (the session keeps the
cookie the token is bound to).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyodata  # type: ignore[import-untyped]
import requests

if TYPE_CHECKING:
    from conveyor.testing.fakes.sap.fake import FakeSap

__all__ = ["fetch_csrf", "oauth_session", "partner_url", "pyodata_service", "sap_session"]


def sap_session(fake: FakeSap, *, json: bool = True) -> requests.Session:
    """A ``requests`` session with the fake's basic credentials (``Accept: application/json``
    unless ``json=False``); close it when done."""
    session = requests.Session()
    session.trust_env = False  # no proxies or CA bundles from the environment for loopback
    session.auth = (fake.username, fake.password)
    if json:
        session.headers["Accept"] = "application/json"
    return session


def oauth_session(fake: FakeSap) -> requests.Session:
    """A session carrying a bearer token from the fake's ``/oauth/token`` (client credentials)."""
    session = requests.Session()
    session.trust_env = False
    answer = session.post(
        fake.token_url,
        data={"grant_type": "client_credentials"},
        auth=(fake.client_id, fake.client_secret),
        timeout=10,
    )
    answer.raise_for_status()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    session.headers["Accept"] = "application/json"
    return session


def fetch_csrf(fake: FakeSap, session: requests.Session) -> str:
    """Fetch a CSRF token (``GET`` the service root with ``X-CSRF-Token: Fetch``) and keep it in
    the session's headers for the writes that follow; returns it."""
    answer = session.get(fake.service_url + "/", headers={"X-CSRF-Token": "Fetch"}, timeout=10)
    answer.raise_for_status()
    token = answer.headers["x-csrf-token"]
    session.headers["X-CSRF-Token"] = token
    return token


def pyodata_service(fake: FakeSap, session: requests.Session | None = None) -> Any:
    """pyodata's ``Service`` for the fake (``$metadata`` read on creation), with a CSRF token in
    the session so writes work."""
    session = session if session is not None else sap_session(fake, json=False)
    fetch_csrf(fake, session)
    return pyodata.Client(fake.service_url, session)


def partner_url(fake: FakeSap, key: str | None = None) -> str:
    """``{service_url}/A_BusinessPartner`` or ``.../A_BusinessPartner('KEY')``."""
    url = f"{fake.service_url}/A_BusinessPartner"
    return f"{url}('{key}')" if key is not None else url
