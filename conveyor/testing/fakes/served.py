"""What every fake server shares: its lifecycle (a context manager), its URL, and the calls it
answered, counted per route key so tests can hold a connector to a call budget."""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType
from typing import Protocol, Self

__all__ = ["ServedFake"]


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
