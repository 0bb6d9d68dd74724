"""Who may call the fake system, their sessions and SAP's CSRF protection.

- Basic auth with the technical user's name and password, or ``Authorization: Bearer`` with a
  token from ``POST /oauth/token`` (OAuth 2.0 client credentials, the client's id and secret as
  HTTP basic auth or form fields; answers ``{"access_token", "token_type": "bearer",
  "expires_in": 3600, "scope", "jti"}``; tokens expire on the fake's clock). A valid session
  cookie alone also signs in, as it does on SAP. Anything else is 401 with SAP's
  ``WWW-Authenticate: Basic realm="SAP NetWeaver Application Server [S4H/100]"`` and an HTML
  "Logon failed" page.
- Every signed-in request without a valid session cookie opens a session: the answer sets
  ``SAP_SESSIONID_S4H_100`` (``system id`` and ``client`` from :class:`Credentials`).
- ``GET`` (or ``HEAD``) with ``X-CSRF-Token: Fetch`` answers the session's CSRF token in
  ``x-csrf-token``. Every modifying request (POST, PUT, PATCH, MERGE, DELETE, ``$batch`` too)
  needs that token *and* the cookie of the session it belongs to; otherwise 403 with
  ``x-csrf-token: Required`` and the plain-text body ``CSRF token validation failed``.
  :meth:`Authenticator.expire_csrf` ends every session (tokens and cookies), as a session
  timeout does.
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

from conveyor.testing.fakes.salesforce.routing import Request, Response
from conveyor.testing.fakes.sap.errors import ODataError
from conveyor.testing.fakes.sap.render import json_response

__all__ = [
    "TOKEN_SECONDS",
    "Authenticator",
    "Credentials",
    "SignIn",
    "csrf_refusal",
    "is_modifying",
]

TOKEN_SECONDS = 3600
_MODIFYING = {"POST", "PUT", "PATCH", "MERGE", "DELETE"}
_LOGON_PAGE = (
    b"<html><head><title>Logon Error Message</title></head><body><p>Logon failed</p></body></html>"
)


@dataclass(frozen=True)
class Credentials:
    """The technical (communication) user, the OAuth client, and the system's id and client."""

    username: str = "CONVEYOR_API"
    password: SecretStr = field(default_factory=lambda: SecretStr("fake-sap-password"))
    client_id: str = "sb-conveyor-bupa!t1001"
    client_secret: SecretStr = field(default_factory=lambda: SecretStr("fake-sap-client-secret"))
    system_id: str = "S4H"
    sap_client: str = "100"

    @property
    def cookie_name(self) -> str:
        return f"SAP_SESSIONID_{self.system_id}_{self.sap_client}"


@dataclass
class _Session:
    user: str
    csrf_token: str | None = None


@dataclass(frozen=True)
class SignIn:
    """A signed-in request: who, in which session, and whether the answer opens that session."""

    user: str
    session_id: str
    new_session: bool


def csrf_refusal() -> ODataError:
    return ODataError(
        403,
        "",
        "CSRF token validation failed",
        headers={"x-csrf-token": "Required"},
        raw=b"CSRF token validation failed",
    )


def is_modifying(method: str) -> bool:
    return method in _MODIFYING


class Authenticator:
    """Checks callers, keeps sessions and serves the token endpoint (callers hold the fake's
    lock)."""

    def __init__(self, credentials: Credentials, clock: Callable[[], datetime]) -> None:
        self.credentials = credentials
        self.clock = clock
        self._sessions: dict[str, _Session] = {}
        self._tokens: dict[str, datetime] = {}  # access token -> expiry

    def unauthorized(self) -> ODataError:
        realm = f"SAP NetWeaver Application Server [{self.credentials.system_id}/"
        realm += f"{self.credentials.sap_client}]"
        return ODataError(
            401,
            "",
            "Logon failed",
            headers={"WWW-Authenticate": f'Basic realm="{realm}"'},
            raw=_LOGON_PAGE,
            raw_type="text/html; charset=utf-8",
        )

    def sign_in(self, request: Request) -> SignIn:
        """The caller of ``request`` and its session, or the 401."""
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        session_id = self._cookie(request)
        session = self._sessions.get(session_id or "")
        scheme = scheme.lower()
        if scheme == "basic":
            pair = _basic(value.strip())
            if pair is None or not self._user_ok(*pair):
                raise self.unauthorized()
            user = self.credentials.username
        elif scheme == "bearer":
            expiry = self._tokens.get(value.strip())
            if expiry is None or expiry <= self.clock():
                raise self.unauthorized()
            user = self.credentials.username
        elif session is not None:
            user = session.user
        else:
            raise self.unauthorized()
        if session is not None and session_id is not None and session.user == user:
            return SignIn(user, session_id, new_session=False)
        new_id = secrets.token_urlsafe(32)
        self._sessions[new_id] = _Session(user)
        return SignIn(user, new_id, new_session=True)

    def set_cookie(self, signed: SignIn) -> dict[str, str]:
        if not signed.new_session:
            return {}
        cookie = f"{self.credentials.cookie_name}={signed.session_id}; path=/; HttpOnly"
        return {"Set-Cookie": cookie}

    def check_csrf(self, request: Request, signed: SignIn) -> None:
        """403 unless the request carries the CSRF token of the session its cookie names."""
        token = request.header("x-csrf-token") or ""
        session = self._sessions.get(signed.session_id)
        if signed.new_session or session is None or session.csrf_token is None:
            raise csrf_refusal()
        if not secrets.compare_digest(token.encode(), session.csrf_token.encode()):
            raise csrf_refusal()

    def fetch_csrf(self, signed: SignIn) -> str:
        """The session's CSRF token (made on the first fetch)."""
        session = self._sessions[signed.session_id]
        if session.csrf_token is None:
            session.csrf_token = base64.b64encode(secrets.token_bytes(18)).decode()
        return session.csrf_token

    def expire_csrf(self) -> None:
        self._sessions.clear()

    def expire_tokens(self) -> None:
        self._tokens.clear()

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
            return json_response(
                401, {"error": "unauthorized", "error_description": "Bad credentials"}
            )
        if form.get("grant_type") != "client_credentials":
            return json_response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"Unsupported grant type: {form.get('grant_type')}",
                },
            )
        token = secrets.token_urlsafe(48)
        self._tokens[token] = self.clock() + timedelta(seconds=TOKEN_SECONDS)
        return json_response(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": TOKEN_SECONDS,
                "scope": "API_BUSINESS_PARTNER_0001",
                "jti": secrets.token_hex(16),
            },
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _cookie(self, request: Request) -> str | None:
        for part in (request.header("cookie") or "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name == self.credentials.cookie_name:
                return value
        return None

    def _user_ok(self, user: str, password: str) -> bool:
        return user.upper() == self.credentials.username.upper() and _same(
            password, self.credentials.password
        )


def _same(given: str, expected: SecretStr) -> bool:
    return secrets.compare_digest(given.encode(), expected.get_secret_value().encode())


def _basic(encoded: str) -> tuple[str, str] | None:
    try:
        user, sep, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, secret) if sep else None
