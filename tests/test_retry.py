"""Retries: only TransientError, backoff never shorter than Retry-After, the status table."""

from __future__ import annotations

import email.utils

import pytest

from conveyor.errors import ConfigError, RecordError, TransientError
from conveyor.retry import RetryPolicy, error_for_status, parse_retry_after, with_retries


class Flaky:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_transient_errors_are_retried_and_retry_after_is_honoured() -> None:
    waits: list[float] = []
    call = Flaky([TransientError("busy", retry_after=7.0), TransientError("busy")])
    policy = RetryPolicy(initial=0.01, maximum=0.02)
    assert with_retries(call, policy, sleep=waits.append) == "ok"
    assert call.calls == 3
    assert waits[0] >= 7.0, "Retry-After was not honoured"
    assert waits[1] <= 0.05


@pytest.mark.parametrize("error", [RecordError("bad row"), ConfigError("bad password")])
def test_other_errors_are_not_retried(error: Exception) -> None:
    call = Flaky([error])
    with pytest.raises(type(error)):
        with_retries(call, sleep=lambda s: None)
    assert call.calls == 1


def test_attempts_are_bounded_and_the_last_error_stands() -> None:
    call = Flaky([TransientError(f"down {i}") for i in range(10)])
    with pytest.raises(TransientError, match="down 2"):
        with_retries(call, RetryPolicy(attempts=3, initial=0.0), sleep=lambda s: None)
    assert call.calls == 3


def test_a_retry_after_beyond_the_limit_is_not_waited_for() -> None:
    waits: list[float] = []
    call = Flaky([TransientError("daily limit", retry_after=86_400)])
    with pytest.raises(TransientError, match="daily limit"):
        with_retries(call, RetryPolicy(max_retry_after=300), sleep=waits.append)
    assert waits == [] and call.calls == 1


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, RecordError),
        (401, ConfigError),
        (403, ConfigError),
        (404, RecordError),
        (422, RecordError),
        (429, TransientError),
        (500, TransientError),
        (503, TransientError),
        (599, TransientError),
    ],
)
def test_status_table(status: int, kind: type[Exception]) -> None:
    error = error_for_status(status, "server says no", retry_after=3.0)
    assert type(error) is kind
    assert f"HTTP {status}: server says no" in str(error)
    if isinstance(error, TransientError):
        assert error.retry_after == 3.0


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(30.0)
    assert parse_retry_after(email.utils.formatdate(0, usegmt=True), now=10) == 0.0
