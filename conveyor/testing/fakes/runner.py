"""Running a fake as a process (``python -m conveyor.testing.fakes.<system>``), for CLI
subprocess tests and demos: build it (seeding included), print one line saying where it is, then
serve until SIGTERM or SIGINT. Each system's ``__main__`` keeps its own options and line."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from conveyor.testing.fakes.served import ServedFake

__all__ = ["serve_until_stopped"]

F = TypeVar("F", bound=ServedFake)


def serve_until_stopped(
    build: Callable[[], F],
    announce: Callable[[F], str],
    refusals: tuple[type[Exception], ...],
) -> int:
    """The process's exit status: 2 when ``build`` fails with one of ``refusals`` (a bad seed
    file or option, said on stderr), else 0 once a signal stopped the serving."""
    try:
        fake = build()
    except refusals as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with fake:
        print(announce(fake), flush=True)
        stop.wait()
    return 0
