"""Salesforce record ids: 15-character case-sensitive ids, their 18-character case-safe form, and
the three-character key prefixes that name the object.

Connectors meet ids in both forms (reports and some UIs give 15 characters, the API answers 18), so
the fake hands out 18-character ids and accepts either, exactly as Salesforce does.
"""

from __future__ import annotations

import itertools
import re
import threading

__all__ = [
    "JOB_PREFIX",
    "LOCATOR_PREFIX",
    "ORG_PREFIX",
    "USER_PREFIX",
    "IdFactory",
    "case_safe_suffix",
    "normalize_id",
]

ORG_PREFIX = "00D"
USER_PREFIX = "005"
JOB_PREFIX = "750"
LOCATOR_PREFIX = "01g"

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-5]{3})?$")


def case_safe_suffix(id15: str) -> str:
    """The three characters Salesforce appends to make a 15-character id case-insensitive."""
    suffix = []
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix.append(_SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def normalize_id(value: object) -> str | None:
    """The 18-character form of a well-formed id, or None when Salesforce would answer
    MALFORMED_ID (wrong length, wrong characters, or an 18-character id whose suffix does not
    match its first 15 characters)."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    full = value[:15] + case_safe_suffix(value[:15])
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def _base62(number: int) -> str:
    digits = []
    while True:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
        if number == 0:
            return "".join(reversed(digits))


class IdFactory:
    """Hands out realistic, unique 18-character ids for one fake org (thread-safe)."""

    def __init__(self, start: int = 0x2A5F0) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        if len(prefix) != 3:
            raise ValueError(f"a key prefix has 3 characters, not {prefix!r}")
        with self._lock:
            number = next(self._counter)
        id15 = prefix + "8Z" + _base62(number).rjust(10, "0")
        return id15 + case_safe_suffix(id15)
