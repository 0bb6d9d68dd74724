"""What every fake server shares: its lifecycle (a context manager), its URL, and the calls it
answered, counted per route key so tests can hold a connector to a call budget; and, for the
fakes that sign users in with them, their credentials in the clear (tests pass them on)."""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType
from typing import Protocol, Self

from pydantic import SecretStr

__all__ = ["ClientCredentialsAccess", "PasswordAccess", "ServedFake"]


class _Server(Protocol):
    @property
    def port(self) -> int: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ServedFake:
    """A base for the fakes: they set ``self._server`` and call :meth:`_init_counters`."""

    _server: _Server

    def _init_counters(self) -> None:
        self._calls: Counter[str] = Counter()
        self._counter_lock = threading.Lock()

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the URL plain HTTP clients use."""
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def calls(self) -> int:
        """Every HTTP call the fake answered (requests inside a batch call are counted per route
        as ``"BATCH ..."``, but are not calls of their own)."""
        with self._counter_lock:
            return sum(n for key, n in self._calls.items() if not key.startswith("BATCH "))

    @property
    def calls_by_route(self) -> dict[str, int]:
        """Calls per route key, e.g. ``"GET /rest/api/{version}/search/jql"``."""
        with self._counter_lock:
            return dict(self._calls)

    def reset_calls(self) -> None:
        with self._counter_lock:
            self._calls.clear()

    def _count(self, key: str) -> None:
        with self._counter_lock:
            self._calls[key] += 1


class _Password(Protocol):
    @property
    def username(self) -> str: ...

    @property
    def password(self) -> SecretStr: ...


class _Client(_Password, Protocol):
    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> SecretStr: ...


class PasswordAccess:
    """``username`` and ``password`` of a fake's ``credentials``, the password in the clear."""

    credentials: _Password

    @property
    def username(self) -> str:
        return self.credentials.username

    @property
    def password(self) -> str:
        return self.credentials.password.get_secret_value()


class ClientCredentialsAccess(PasswordAccess):
    """As :class:`PasswordAccess`, with the OAuth client's ``client_id`` and ``client_secret``."""

    credentials: _Client

    @property
    def client_id(self) -> str:
        return self.credentials.client_id

    @property
    def client_secret(self) -> str:
        return self.credentials.client_secret.get_secret_value()
