"""Clients for the fake Jira: the ``jira`` package's ``JIRA`` and a plain ``requests`` session,
signed in with the fake's credentials (Cloud: email and API token; Data Center: the personal
access token), with the package's retries off so tests see every answer."""

from __future__ import annotations

from typing import Any, Literal

import requests
from jira import JIRA

from conveyor.testing.fakes.jira.fake import FakeJira

__all__ = ["jira_client", "jira_session", "rest_url"]


def jira_client(fake: FakeJira, version: Literal["2", "3"] = "2") -> JIRA:
    """``JIRA`` pointed at the fake (REST ``version``; Data Center has only 2)."""
    options: dict[str, str | bool | Any] = {"rest_api_version": version, "check_update": False}
    if fake.deployment == "Cloud":
        return JIRA(
            server=fake.url,
            basic_auth=(fake.email, fake.api_token),
            options=options,
            max_retries=0,
        )
    return JIRA(server=fake.url, token_auth=fake.pat, options=options, max_retries=0)


def jira_session(fake: FakeJira) -> requests.Session:
    """A ``requests`` session with the fake's credentials (for exact status and header
    checks); close it when done."""
    session = requests.Session()
    session.trust_env = False
    if fake.deployment == "Cloud":
        session.auth = (fake.email, fake.api_token)
    else:
        session.headers["Authorization"] = f"Bearer {fake.pat}"
    return session


def rest_url(fake: FakeJira, path: str, version: int = 2) -> str:
    """``{fake.url}/rest/api/{version}/{path}``."""
    return f"{fake.url}/rest/api/{version}/{path.lstrip('/')}"
