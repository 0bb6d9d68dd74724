"""Helpers shared by the reader tests: write a file, read it whole, catch its SourceError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conveyor.errors import SourceError
from conveyor.formats.base import Batch, ReadResult, SourceOptions

Reader = Callable[[Path, SourceOptions], ReadResult]


def write_file(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def load_with(reader: Reader, path: Path, **options: Any) -> tuple[ReadResult, list[Batch]]:
    result = reader(path, SourceOptions(**options))
    return result, list(result.batches)


def rows(batches: list[Batch]) -> list[dict[str, Any]]:
    return [row for batch in batches for row in batch.data.to_dicts()]


def data_rows(batches: list[Batch]) -> list[tuple[Any, ...]]:
    return [row for b in batches for row in b.data.rows()]


def reject_rows(batches: list[Batch]) -> list[tuple[Any, ...]]:
    return [row for b in batches if b.rejects is not None for row in b.rejects.rows()]


def problem_with(reader: Reader, path: Path, **options: Any) -> str:
    """The problem text of the SourceError that reading ``path`` raises; it names the file."""
    with pytest.raises(SourceError) as caught:
        load_with(reader, path, **options)
    assert caught.value.path == str(path)
    return caught.value.problem
