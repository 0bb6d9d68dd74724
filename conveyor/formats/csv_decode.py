"""Encoding trouble in a CSV file: mixed UTF-8 and 8-bit text, and the line that does not decode.

Policy: a file is decoded with one encoding (detected or declared). A byte that does not decode
fails the whole file with one ``SourceError`` naming the line, the byte offset and the encoding,
raised while reading, so before anything is written to the target. Rows are not rejected one by
one: an undecodable byte means the file's encoding is wrong (or mixed), and any value guessed
from it could be silently wrong.

A file that mixes encodings (UTF-8 rows, then rows saved as cp1252/latin-1) is read as UTF-8
when the detection sample holds at least as much well-formed UTF-8 as stray high bytes, so the
first non-UTF-8 line fails the import with a message saying the file mixes encodings (reading
it as cp1252 would quietly garble the UTF-8 rows as ``Ã©``). When an 8-bit encoding is used
(detected or declared) but the sample holds UTF-8 sequences, a warning names the line.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from conveyor.errors import SourceError

__all__ = ["decode_error", "garbling_warning", "utf8_evidence"]

# A well-formed UTF-8 sequence of two to four bytes (RFC 3629: no overlongs, no surrogates).
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]"
    rb"|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_HIGH_BYTES = bytes(range(0x80, 0x100))
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_UNICODE_FAMILIES = ("utf-8", "utf-16", "utf-32")


def utf8_evidence(sample: bytes) -> tuple[int, int]:
    """(well-formed UTF-8 multibyte sequences, high bytes outside any) in ``sample``."""
    rest, sequences = _UTF8_SEQUENCE.subn(b"", sample)
    return sequences, len(rest) - len(rest.translate(None, _HIGH_BYTES))


def garbling_warning(sample: bytes, family: str, name: str) -> str | None:
    """A warning when a file read with an 8-bit encoding holds text that looks like UTF-8."""
    if family in _UNICODE_FAMILIES:
        return None
    found = _UTF8_SEQUENCE.search(sample)
    if found is None:
        return None
    line = _byte_line(sample, found.start())
    text = found.group()
    return (
        f"line {line} holds bytes that read as UTF-8 text ({text.decode('utf-8')!r}) but the "
        f"file is read as {name}, so they read as {text.decode(name, 'replace')!r}: if the "
        "file mixes encodings, convert it to one and import it again"
    )


def decode_error(path: Path, codec: str, family: str, name: str, skip: int) -> SourceError:
    """Find the line of the first undecodable byte (a second, bounded-memory pass)."""
    decoder = codecs.getincrementaldecoder(codec)()
    line, offset, last = 1, skip, ""
    text_line: int | None = None  # first line holding non-ASCII text that did decode
    failed = False
    with path.open("rb") as fh:
        fh.seek(skip)
        while not failed and (chunk := fh.read(1 << 20)):
            pending, flag = decoder.getstate()
            try:
                decoded = decoder.decode(chunk)
                offset += len(chunk)
            except UnicodeDecodeError as exc:
                good = codecs.getincrementaldecoder(codec)()
                good.setstate((b"", flag))
                decoded = good.decode((pending + chunk)[: exc.start])
                offset += exc.start - len(pending)
                failed = True
            if text_line is None and (found := _NON_ASCII.search(decoded)):
                text_line = line + _line_ends(last + decoded[: found.start()]) - _line_ends(last)
            line += _line_ends(last + decoded) - _line_ends(last)
            last = decoded[-1:] or last
    problem = f"line {line} (byte {offset}) cannot be decoded as {name}"
    return SourceError(path, f"{problem}: {_fix(family, name, text_line)}")


def _fix(family: str, name: str, text_line: int | None) -> str:
    if family == "utf-8" and text_line is not None:
        return (
            f"line {text_line} holds {name} text, so the file mixes encodings: convert it to "
            f"one encoding (`encoding: cp1252` would misread line {text_line})"
        )
    hint = "cp1252" if family == "utf-8" else "latin-1" if family == "cp1252" else None
    if hint:
        return f"set `encoding: {hint}` in the mapping's source"
    return "set `encoding` in the mapping's source to the file's real encoding"


def _byte_line(sample: bytes, position: int) -> int:
    head = sample[:position]
    return 1 + head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n")


def _line_ends(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")
