"""Comparing response shapes (not values) between a recording and the fake."""

from __future__ import annotations

from typing import Any

__all__ = ["shape_differences"]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def shape_differences(recorded: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` differs in shape from ``recorded``: missing or extra keys, other value
    types (null matches anything: a recorded null says little about the type), and the shape
    of every list element against the recording's first element."""
    if recorded is None or actual is None:
        return []
    if _kind(recorded) != _kind(actual):
        return [f"{path}: recorded {_kind(recorded)}, fake {_kind(actual)}"]
    if isinstance(recorded, dict):
        problems = [f"{path}: missing key {k!r}" for k in recorded if k not in actual]
        problems += [f"{path}: extra key {k!r}" for k in actual if k not in recorded]
        for key in recorded.keys() & actual.keys():
            problems += shape_differences(recorded[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(recorded, list) and recorded:
        problems = []
        for index, item in enumerate(actual):
            problems += shape_differences(recorded[0], item, f"{path}[{index}]")
        return problems
    return []
