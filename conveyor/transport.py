"""The HTTP session a connector's client library talks through.

simple-salesforce and pysnc build every URL as ``https://{instance}`` (pysnc refuses http). A
remote system is always reached over https; an ``http://`` instance URL is accepted only for
127.0.0.1 or localhost (a local proxy, or the fakes the tests and demos run), and then this
session sends the https URLs the library builds for that host over plain http. Nothing else is
rewritten.

Neither library sets a timeout on its requests, so a call to a server that stops answering
would wait for ever: every request through this session has ``timeout`` unless the caller gives
its own.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from requests import PreparedRequest, Session
from requests.adapters import HTTPAdapter

__all__ = ["LOOPBACK_HOSTS", "https_form", "is_loopback_http", "quiet_oauth_logs", "session_for"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def is_loopback_http(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


class _Timeout(HTTPAdapter):
    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, *args, **kwargs)


class _PlainLoopback(_Timeout):
    """Sends ``https://HOST:PORT/...`` for the one loopback ``netloc`` as ``http://``."""

    def __init__(self, netloc: str, timeout: float, **kwargs: Any) -> None:
        self._netloc = netloc
        super().__init__(timeout, **kwargs)

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        if parts.netloc == self._netloc:
            request.url = urlunsplit(("http", parts.netloc, parts.path, parts.query, ""))
        return super().send(request, *args, **kwargs)


def https_form(url: str) -> str:
    """The https URL a library is given for ``url`` (a loopback http URL's https twin)."""
    parts = urlsplit(url)
    return (
        urlunsplit(("https", parts.netloc, parts.path, parts.query, ""))
        if (is_loopback_http(url))
        else url
    )


def session_for(instance_url: str | None, timeout: float) -> Session:
    """A session for the org at ``instance_url`` (plain http only for a loopback URL)."""
    session = Session()
    if is_loopback_http(instance_url):
        session.trust_env = False  # no proxy or CA bundle from the environment for loopback
        netloc = urlsplit(instance_url or "").netloc
        session.mount("https://", _PlainLoopback(netloc, timeout))
    else:
        session.mount("https://", _Timeout(timeout))
    return session


class _DropRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


#: requests-oauthlib logs token requests (passwords, client secrets) and tokens at debug level
_OAUTH_LOGGERS = ("requests_oauthlib.oauth2_session", "oauthlib.oauth2.rfc6749.parameters")


def quiet_oauth_logs() -> None:
    """Drop the records of the loggers that write OAuth secrets, whatever the log level (a
    filter on a parent logger does not see a child's records, so each one gets its own)."""
    for name in _OAUTH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropRecords) for f in logger.filters):
            logger.addFilter(_DropRecords())
