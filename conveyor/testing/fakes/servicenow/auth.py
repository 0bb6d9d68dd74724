"""Who may call the fake instance: basic auth and OAuth 2.0 bearer tokens.

- Basic auth with the integration user's name and password. Anything else (no credentials, a
  wrong password, an unknown or expired token) is 401 with ServiceNow's body
  ``{"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth
  information"}, "status": "failure"}``.
- ``POST /oauth_token.do`` (form encoded) issues tokens for ``grant_type`` ``password``
  (client and user credentials; answers an access and a refresh token), ``client_credentials``
  (client credentials only; no refresh token) and ``refresh_token``. The client may send its
  id and secret in the form or as HTTP basic auth (requests-oauthlib does the latter). The answer
  is ``{"access_token", "refresh_token", "scope": "useraccount", "token_type": "Bearer",
  "expires_in": 1799}``; every refusal is 401 ``{"error_description": "access_denied", "error":
  "server_error"}``, which is all ServiceNow says.
- Access tokens expire ``expires_in`` seconds after issue on the fake's clock, or at once with
  :meth:`Authenticator.expire_tokens`; refresh tokens outlive them.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from pydantic import SecretStr

from conveyor.testing.fakes.servicenow.routing import (
    Request,
    Response,
    ServiceNowError,
    json_response,
)

__all__ = ["ACCESS_TOKEN_SECONDS", "Authenticator", "Credentials"]

ACCESS_TOKEN_SECONDS = 1799
_DENIED = {"error_description": "access_denied", "error": "server_error"}


@dataclass(frozen=True)
class Credentials:
    """The integration user and the OAuth application (Application Registry entry)."""

    username: str = "admin"
    password: SecretStr = field(default_factory=lambda: SecretStr("fake-admin-password"))
    client_id: str = "a329c4515612210071a5e0c298ee2be8"
    client_secret: SecretStr = field(default_factory=lambda: SecretStr("fake-client-secret"))


def _same(given: str, expected: SecretStr) -> bool:
    return secrets.compare_digest(given.encode(), expected.get_secret_value().encode())


def unauthorized() -> ServiceNowError:
    return ServiceNowError(
        401,
        "User Not Authenticated",
        "Required to provide Auth information",
        headers={"WWW-Authenticate": 'BASIC realm="Service-now"'},
    )


@dataclass
class _Token:
    user: str
    expires: datetime


class Authenticator:
    """Checks API calls and serves the token endpoint (thread-safe under the fake's lock)."""

    def __init__(self, credentials: Credentials, clock: Callable[[], datetime]) -> None:
        self.credentials = credentials
        self.clock = clock
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> user

    def check(self, request: Request) -> str:
        """The user a request signs in as, or ServiceNow's 401."""
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            pair = _basic(value.strip())
            if pair is not None and self._user_ok(*pair):
                return pair[0]
        elif scheme == "bearer":
            token = self._access.get(value.strip())
            if token is not None and token.expires > self.clock():
                return token.user
        raise unauthorized()

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (refresh tokens still work)."""
        for token in self._access.values():
            token.expires = datetime.min.replace(tzinfo=token.expires.tzinfo)

    def token_endpoint(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        header = request.header("Authorization") or ""
        if header.lower().startswith("basic "):
            pair = _basic(header[6:].strip())
            if pair is not None:
                client_id, client_secret = pair
        if client_id != self.credentials.client_id or not _same(
            client_secret, self.credentials.client_secret
        ):
            return json_response(401, _DENIED)
        grant = form.get("grant_type", "")
        if grant == "password":
            user, password = form.get("username", ""), form.get("password", "")
            if not self._user_ok(user, password):
                return json_response(401, _DENIED)
            return self._issue(user, refresh=True)
        if grant == "client_credentials":
            return self._issue(self.credentials.username, refresh=False)
        if grant == "refresh_token":
            user_of = self._refresh.get(form.get("refresh_token", ""))
            if user_of is None:
                return json_response(401, _DENIED)
            return self._issue(user_of, refresh=True, refresh_token=form["refresh_token"])
        return json_response(401, _DENIED)

    def _issue(self, user: str, *, refresh: bool, refresh_token: str | None = None) -> Response:
        access = secrets.token_urlsafe(64)
        self._access[access] = _Token(user, self.clock() + timedelta(seconds=ACCESS_TOKEN_SECONDS))
        body: dict[str, object] = {
            "access_token": access,
            "scope": "useraccount",
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
        }
        if refresh:
            token = refresh_token or secrets.token_urlsafe(64)
            self._refresh[token] = user
            body["refresh_token"] = token
        return json_response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _user_ok(self, user: str, password: str) -> bool:
        return user == self.credentials.username and _same(password, self.credentials.password)


def _basic(encoded: str) -> tuple[str, str] | None:
    try:
        user, sep, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, secret) if sep else None
