"""Who may call the fake Jira, and Jira's 401 answers.

- Cloud: HTTP basic with the account's email and an API token. Anything else is 401 with
  ``{"message": "Client must be authenticated to access this resource.", "status-code": 401}``
  and ``X-Seraph-LoginReason: AUTHENTICATED_FAILED``.
- Data Center: HTTP basic with user name and password (``admin`` / ``admin-password``) or a
  personal access token as ``Authorization: Bearer``. A failed basic login answers Seraph's
  plain-text "Basic Authentication Failure"; a missing or bad token the JSON error shape.

``serverInfo`` may be called without credentials (as on Jira), but bad credentials fail
everywhere.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from pydantic import SecretStr

from conveyor.testing.fakes.jira.routing import JiraError, Request

__all__ = ["Authenticator", "Credentials"]

_NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."


@dataclass(frozen=True)
class Credentials:
    """The one account the fake accepts: Cloud's email and API token, Data Center's user name
    and password, and Data Center's personal access token."""

    email: str = "conveyor@example.com"
    api_token: SecretStr = field(default_factory=lambda: SecretStr("fake-api-token"))
    pat: SecretStr = field(default_factory=lambda: SecretStr("fake-personal-access-token"))
    username: str = "admin"
    password: SecretStr = field(default_factory=lambda: SecretStr("admin-password"))


def _same(given: str, expected: SecretStr) -> bool:
    return secrets.compare_digest(given.encode(), expected.get_secret_value().encode())


class Authenticator:
    def __init__(self, credentials: Credentials, cloud: bool, base_url: Callable[[], str]) -> None:
        self.credentials = credentials
        self.cloud = cloud
        self.base_url = base_url

    def check(self, request: Request, required: bool) -> None:
        """Raise Jira's 401 unless the request carries the account's credentials (or carries
        none and the resource is public)."""
        header = request.header("Authorization") or ""
        if not header:
            if required:
                raise self.unauthorized(missing=True)
            return
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and self._basic_ok(value.strip()):
            return
        if scheme == "bearer" and not self.cloud and _same(value.strip(), self.credentials.pat):
            return
        raise self.unauthorized(basic=scheme == "basic")

    def _basic_ok(self, encoded: str) -> bool:
        try:
            user, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        c = self.credentials
        if self.cloud:
            return user.lower() == c.email.lower() and _same(secret, c.api_token)
        return user == c.username and _same(secret, c.password)

    def unauthorized(self, *, missing: bool = False, basic: bool = False) -> JiraError:
        """The deployment's 401 (also what ``faults.fail_next(status=401)`` answers)."""
        if self.cloud:
            return JiraError(
                401,
                raw={
                    "message": "Client must be authenticated to access this resource.",
                    "status-code": 401,
                },
                headers={
                    "X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
                    "WWW-Authenticate": f'OAuth realm="{quote(self.base_url(), safe="")}"',
                },
            )
        if basic:
            return JiraError(
                401,
                raw="Basic Authentication Failure - Reason : AUTHENTICATED_FAILED",
                headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
                content_type="text/html;charset=UTF-8",
            )
        reason = {} if missing else {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}
        return JiraError(
            401,
            (_NOT_AUTHENTICATED,),
            headers={**reason, "WWW-Authenticate": 'Basic realm="protected-area"'},
        )
