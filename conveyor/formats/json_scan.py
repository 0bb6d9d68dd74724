"""The byte-level guard of the JSON reader: what yajl lets through, refused as bytes arrive.

``Scanner`` checks consecutive chunks of JSON bytes (nesting depth up to ``MAX_DEPTH``, form
feed and vertical tab, escaped UTF-16 surrogates that do not pair up); ``GuardedFile`` wraps the
binary file that ijson reads so every chunk goes through it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

from conveyor.errors import SourceError

__all__ = ["MAX_DEPTH", "GuardedFile", "ScanError", "Scanner"]

MAX_DEPTH = 256  # deeper nesting is refused: no record needs it, and yajl has no limit
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
_HIGH = rb"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_LOW_PREFIX = re.compile(rb"(?:\\(?:u(?:[dD](?:[c-fC-F][0-9a-fA-F]{0,2})?)?)?)?")
_BAD_SURROGATE = re.compile(_HIGH + rb"(?!" + _LOW + rb")|(?<!" + _HIGH + rb")" + _LOW)


class ScanError(ValueError):
    """A chunk holds what JSON forbids; ``at`` is its offset in the chunk, where known."""

    def __init__(self, message: str, at: int = 0) -> None:
        super().__init__(message)
        self.at = at


class Scanner:
    """Checks consecutive chunks of JSON bytes for what yajl lets through.

    Hand-written because yajl has no depth limit (and ijson builds a prefix string per level,
    so 100,000 nested arrays would take minutes), and because yajl takes form feed and
    vertical tab for whitespace, which JSON forbids everywhere. It works on whole chunks with
    bytes methods (about a quarter of the parse time): escaped pairs are dropped, everything
    but quotes and brackets is deleted, and the pieces between quotes alternate inside and
    outside strings; depth is counted outside them.
    """

    def __init__(self) -> None:
        self.depth = 0
        self._in_string = False
        self._carry = b""  # an odd backslash at the end of the previous chunk
        self._tail = b""  # the end of the previous chunk, for escapes split across chunks

    def feed(self, chunk: bytes) -> None:
        for byte, name in ((b"\x0c", "form feed"), (b"\x0b", "vertical tab")):
            if byte in chunk:
                raise ScanError(f"a {name}, which JSON does not allow", chunk.index(byte))
        data = self._carry + chunk
        body = data.rstrip(b"\\")
        self._carry = b"\\" if (len(data) - len(body)) % 2 else b""
        if b"\\" in body:
            body = body.replace(b"\\\\", b"")
        self._check_surrogates(body)
        if b"\\" in body:
            body = body.replace(b'\\"', b"")
        pieces = body.translate(None, _NOT_STRUCTURE).split(b'"')
        outside = b"".join(pieces[1::2] if self._in_string else pieces[::2])
        if len(pieces) % 2 == 0:
            self._in_string = not self._in_string
        opens = outside.count(b"[") + outside.count(b"{")
        if self.depth + opens <= MAX_DEPTH:
            self.depth += 2 * opens - len(outside)
            return
        for code in outside:
            self.depth += 1 if code in b"[{" else -1
            if self.depth > MAX_DEPTH:
                raise ScanError(f"nesting is deeper than {MAX_DEPTH} levels")

    def _check_surrogates(self, body: bytes) -> None:
        """Refuse escaped UTF-16 surrogates that do not pair up (yajl would garble them)."""
        seen = len(self._tail)
        window = self._tail + body
        self._tail = window[-12:]
        if b"\\u" not in window:
            return
        for match in _BAD_SURROGATE.finditer(window):
            if match.group().lower() >= b"\\udc00":
                if match.end() <= seen:
                    continue  # a low half judged with the previous chunk
            elif _LOW_PREFIX.fullmatch(window[match.end() :]):
                continue  # a high half whose partner may start the next chunk
            escape = match.group().decode("ascii")
            raise ScanError(
                f"the escape {escape} is half of a UTF-16 pair without its other half",
                max(0, match.start() - seen),
            )


class GuardedFile:
    """The binary file as ijson reads it, with the nesting depth checked on the way."""

    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self._fh = fh
        self._path = path
        self._scanner = Scanner()

    @property
    def position(self) -> int:
        return self._fh.tell()

    def read(self, size: int = -1) -> bytes:
        start = self._fh.tell()
        chunk = self._fh.read(size)
        try:
            self._scanner.feed(chunk)
        except ScanError as exc:
            problem = f"invalid JSON near byte {start + exc.at}: {exc}"
            raise SourceError(self._path, problem) from exc
        return chunk
