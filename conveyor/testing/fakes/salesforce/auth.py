"""Sign-in for the fake org: access tokens, the OAuth token endpoint and the SOAP login.

- ``POST /services/oauth2/token`` with ``grant_type=password`` (client id and secret, username,
  password followed by the security token) or ``client_credentials`` (HTTP Basic or form fields).
- ``POST /services/Soap/u/{version}``: the partner SOAP ``login`` that simple-salesforce uses for
  username, password and security token.

Every login is recorded with the host the client addressed (``login.salesforce.com``,
``test.salesforce.com`` for sandboxes, or a My Domain), so tests can check the sandbox flag.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, unescape

from pydantic import SecretStr

from conveyor.testing.fakes.salesforce.routing import Request, Response

__all__ = ["HOST_HEADER", "Auth", "Credentials", "Login", "Sessions"]

#: Set by the loopback adapter (client.py): the host the client meant to call.
HOST_HEADER = "X-Fake-Salesforce-Host"
_SOAP_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:sf="urn:fault.partner.soap.sforce.com" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
    "<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, "
    "password, security token; or user locked out.</faultstring><detail>"
    '<sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>'
    "<sf:exceptionMessage>Invalid username, password, security token; or user locked out."
    "</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>"
    "</soapenv:Envelope>"
)


@dataclass(frozen=True)
class Credentials:
    """The one user and connected app the fake org accepts."""

    username: str = "conveyor@example.com"
    password: SecretStr = field(default_factory=lambda: SecretStr("fake-password"))
    security_token: SecretStr = field(default_factory=lambda: SecretStr("FAKETOKEN"))
    client_id: str = "fake-client-id"
    client_secret: SecretStr = field(default_factory=lambda: SecretStr("fake-client-secret"))

    def password_ok(self, given: str) -> bool:
        expected = self.password.get_secret_value() + self.security_token.get_secret_value()
        return secrets.compare_digest(given.encode(), expected.encode())

    def secret_ok(self, given: str) -> bool:
        return secrets.compare_digest(
            given.encode(), self.client_secret.get_secret_value().encode()
        )


@dataclass(frozen=True)
class Login:
    grant: str
    host: str
    username: str | None


class Sessions:
    """Valid access tokens; expiring them all is how a session times out."""

    def __init__(self, org_id: str) -> None:
        self._org_id = org_id
        self._valid: set[str] = set()
        self._lock = threading.Lock()
        self.logins: list[Login] = []

    def issue(self) -> str:
        token = f"{self._org_id[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._valid.add(token)
        return token

    def valid(self, token: str) -> bool:
        with self._lock:
            return token in self._valid

    def expire_all(self) -> None:
        with self._lock:
            self._valid.clear()


class Auth:
    """The sign-in endpoints, answering in Salesforce's shapes."""

    def __init__(
        self,
        sessions: Sessions,
        credentials: Credentials,
        base_url: Callable[[], str],
        org_id: str,
        user_id: str,
    ) -> None:
        self.sessions = sessions
        self.credentials = credentials
        self._base_url = base_url
        self._org_id = org_id
        self._user_id = user_id

    def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.text()).items()}
        grant = form.get("grant_type", "")
        if grant == "password":
            failure = self._password_grant(form)
        elif grant == "client_credentials":
            failure = self._client_grant(request, form)
        else:
            failure = ("unsupported_grant_type", "grant type not supported")
        if failure is not None:
            return Response.json(400, {"error": failure[0], "error_description": failure[1]})
        self._record(grant, request, form.get("username"))
        base = self._base_url()
        return Response.json(
            200,
            {
                "access_token": self.sessions.issue(),
                "instance_url": base,
                "id": f"{base}/id/{self._org_id}/{self._user_id}",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            },
        )

    def _password_grant(self, form: dict[str, str]) -> tuple[str, str] | None:
        client = self._client_failure(form.get("client_id", ""), form.get("client_secret", ""))
        if client is not None:
            return client
        if form.get("username") != self.credentials.username or not self.credentials.password_ok(
            form.get("password", "")
        ):
            return ("invalid_grant", "authentication failure")
        return None

    def _client_grant(self, request: Request, form: dict[str, str]) -> tuple[str, str] | None:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        header = request.header("Authorization") or ""
        if header.startswith("Basic "):
            decoded = base64.b64decode(header[6:]).decode("utf-8", "replace")
            client_id, _, secret = decoded.partition(":")
        return self._client_failure(client_id, secret)

    def _client_failure(self, client_id: str, secret: str) -> tuple[str, str] | None:
        if client_id != self.credentials.client_id:
            return ("invalid_client_id", "client identifier invalid")
        if not self.credentials.secret_ok(secret):
            return ("invalid_client", "invalid client credentials")
        return None

    def soap_login(self, request: Request) -> Response:
        body = request.text()
        username, password = _element(body, "username"), _element(body, "password")
        if username != self.credentials.username or not self.credentials.password_ok(password):
            return Response(500, _SOAP_FAULT.encode(), {"Content-Type": "text/xml;charset=UTF-8"})
        self._record("soap", request, username)
        base = escape(self._base_url())
        version = request.params.get("api", "")
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{base}/services/Soap/m/{version}/{self._org_id}"
            "</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false"
            f"</sandbox><serverUrl>{base}/services/Soap/u/{version}/{self._org_id}</serverUrl>"
            f"<sessionId>{escape(self.sessions.issue())}</sessionId>"
            f"<userId>{self._user_id}</userId></result></loginResponse></soapenv:Body>"
            "</soapenv:Envelope>"
        )
        return Response(200, xml.encode(), {"Content-Type": "text/xml;charset=UTF-8"})

    def _record(self, grant: str, request: Request, username: str | None) -> None:
        host = request.header(HOST_HEADER) or request.header("Host") or ""
        self.sessions.logins.append(Login(grant, host, username))


def _element(xml: str, name: str) -> str:
    found = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", xml, re.DOTALL)
    return unescape(found.group(1)) if found else ""
