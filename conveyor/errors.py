"""One error root for Conveyor. Each error says whether retrying can help.

- ``ConfigError``: stop and tell the user what to fix (a mapping, an option, a table).
- ``SourceError``: the input file cannot be read at all; the message names the file.
- ``TransientError``: a passing fault (network, lock, restart); retry with backoff.
- ``RecordError``: one record is refused; it is rejected or parked with its reason.
  ``StaleRecordError``, a kind of it: the remote record changed since it was read.
"""

from __future__ import annotations


class ConveyorError(Exception):
    """Root of every error Conveyor raises on purpose."""

    retryable: bool = False


class ConfigError(ConveyorError):
    """Something the user configured is wrong; the message says what to change."""


class MappingError(ConfigError):
    """A mapping file is invalid: the message names the file, the field and what is allowed."""


class SchemaMismatchError(ConfigError):
    """The target table does not fit the mapping; nothing was written."""


class SourceError(ConveyorError):
    """The source file cannot be parsed at all (wrong format, truncated, unsafe)."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class TransientError(ConveyorError):
    """A passing fault: retrying later can succeed."""

    retryable = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecordError(ConveyorError):
    """One record cannot be accepted; the run goes on without it."""


class StaleRecordError(RecordError):
    """A remote write refused because the record changed remotely since it was read (an ETag
    that no longer matches, say): a conflict for the sync engine to decide, not a failure."""
