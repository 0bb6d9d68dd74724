"""What the CSV reader works out before it reads: encoding, text-ness, delimiter, header names.

Everything here looks at a bounded sample (the first ``SAMPLE_BYTES`` of the file), never at the
whole file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from conveyor.errors import ConfigError, SourceError
from conveyor.formats.csv_decode import utf8_evidence
from conveyor.formats.headers import unique_names

__all__ = [
    "SAMPLE_BYTES",
    "SNIFF_CANDIDATES",
    "Encoding",
    "check_text",
    "codec_family",
    "detect_encoding",
    "detect_line_terminator",
    "name_columns",
    "sample_text",
    "sniff_delimiter",
]

SAMPLE_BYTES = 1 << 20  # bytes read to decide the encoding
SNIFF_CANDIDATES = (",", ";", "\t", "|")  # in order of preference on a tie
_SNIFF_CHARS = 64 * 1024  # text looked at to sniff the delimiter
_SNIFF_RECORDS = 100
_TEXT_CHECK_BYTES = 1024  # bytes looked at to tell text from binary junk
_LINE_END = re.compile(r"\r\n|\r|\n")

# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32", "little"),
    (codecs.BOM_UTF32_BE, "utf-32", "big"),
    (codecs.BOM_UTF8, "utf-8-sig", ""),
    (codecs.BOM_UTF16_LE, "utf-16", "little"),
    (codecs.BOM_UTF16_BE, "utf-16", "big"),
)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one; set `format: xlsx` if so)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls)"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive (decompress it first)"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)

# Bytes that never appear in a text CSV in an 8-bit or UTF-8 encoding (tab, LF, VT, FF, CR,
# SUB and ESC excepted).
_CONTROL = bytes([*range(0x00, 0x09), *range(0x0E, 0x1A), *range(0x1C, 0x20)])


@dataclass(frozen=True)
class Encoding:
    """How to decode the file."""

    name: str  # as recorded in SourceInfo.encoding and options.encoding
    codec: str  # Python codec used to decode
    bom: bool  # the file starts with a byte-order mark
    byte_order: str  # "little" / "big" for UTF-16/32 with a BOM, else ""
    skip: int  # bytes to skip before decoding (a BOM the codec would not consume)


def codec_family(name: str) -> str:
    """utf-8, utf-16, utf-32 or the codec's canonical name (``utf-16-le`` -> ``utf-16``)."""
    canonical = codecs.lookup(name).name
    if canonical.startswith("utf-"):
        return "-".join(canonical.split("-")[:2])
    return canonical


def _bom(head: bytes) -> tuple[bytes, str, str] | None:
    for mark, name, order in _BOMS:
        if head.startswith(mark):
            return mark, name, order
    return None


def detect_encoding(path: Path, head: bytes, complete: bool, declared: str | None) -> Encoding:
    """The declared encoding, else the BOM's, else UTF-8 if the sample decodes, else cp1252/latin-1.

    ``head`` is the start of the file; ``complete`` says it is the whole file. A sample that
    does not decode as UTF-8 but holds at least as many well-formed UTF-8 sequences as stray
    high bytes is a file that mixes encodings: it is read as UTF-8, so the first line that is
    not fails the import (see csv_decode) instead of the UTF-8 rows being garbled as cp1252.
    """
    found = _bom(head)
    if declared is not None:
        return _declared(path, head, declared, found)
    if found is not None:
        _, name, order = found
        return Encoding(name, name, True, order, 0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        return Encoding("utf-8", "utf-8", False, "", 0)
    sequences, stray = utf8_evidence(head)
    if sequences >= stray:
        return Encoding("utf-8", "utf-8", False, "", 0)
    try:
        head.decode("cp1252")
    except UnicodeDecodeError:  # cp1252 leaves 0x81 0x8D 0x8F 0x90 0x9D undefined
        return Encoding("latin-1", "latin-1", False, "", 0)
    return Encoding("cp1252", "cp1252", False, "", 0)


def _declared(
    path: Path, head: bytes, declared: str, found: tuple[bytes, str, str] | None
) -> Encoding:
    try:
        canonical = codecs.lookup(declared).name
    except LookupError:
        raise ConfigError(
            f"{path}: unknown encoding {declared!r}; set `encoding` to a Python codec name "
            "such as utf-8, cp1252, latin-1 or utf-16"
        ) from None
    if found is None or codec_family(found[1]) != codec_family(canonical):
        return Encoding(declared, declared, False, "", 0)
    mark, _, order = found
    consumes_bom = canonical in ("utf-8-sig", "utf-16", "utf-32")
    return Encoding(declared, declared, True, order, 0 if consumes_bom else len(mark))


def check_text(path: Path, head: bytes, encoding: Encoding) -> None:
    """Raise ``SourceError`` when the file is plainly not text (a zip, an image, binary junk)."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise SourceError(path, f"does not look like a text CSV file: it is {what}")
    if codec_family(encoding.codec) in ("utf-16", "utf-32"):
        return
    found = _bom(head)
    start = len(found[0]) if found else 0
    first = head[start : start + _TEXT_CHECK_BYTES]
    junk = sum(first.count(b) for b in _CONTROL)
    if junk > 4 and junk * 10 > len(first):
        raise SourceError(
            path,
            f"does not look like a text CSV file: {junk} of its first {len(first)} bytes are "
            "NUL or control bytes. If it is UTF-16 text without a byte-order mark, set "
            "`encoding: utf-16-le` (or utf-16-be) in the mapping's source",
        )


def sample_text(head: bytes, complete: bool, encoding: Encoding, skip_lines: int) -> str:
    """The decoded sample from the header row on, cut at the last whole line."""
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="replace")
    text = decoder.decode(head[encoding.skip :], final=complete).lstrip("\ufeff")
    pos = 0
    for _ in range(skip_lines):
        match = _LINE_END.search(text, pos)
        if match is None:
            return ""
        pos = match.end()
    text = text[pos : pos + _SNIFF_CHARS]
    if not complete or len(text) == _SNIFF_CHARS:
        ends = list(_LINE_END.finditer(text))
        if ends:
            text = text[: ends[-1].start()]
    return text


def detect_line_terminator(text: str) -> str:
    """The first line ending in the sample (CRLF when there is none)."""
    match = _LINE_END.search(text)
    return match.group() if match else "\r\n"


def sniff_delimiter(text: str, quote_char: str) -> str:
    """The candidate that splits the header and keeps field counts most consistent.

    Hand-written because ``csv.Sniffer`` guesses wrong on short or quoted samples (it picks
    letters or spaces, and fails outright on one-line files). Each candidate is tried with the
    real (quote-aware) parser; the score is (share of records with the header's field count,
    header field count); a tie keeps the earlier candidate, so comma wins ties.
    """
    best, best_score = ",", (0.0, 0)
    for delimiter in SNIFF_CANDIDATES:
        counts = _field_counts(text, delimiter, quote_char)
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for n in counts if n == counts[0]) / len(counts)
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _field_counts(text: str, delimiter: str, quote_char: str) -> list[int]:
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote_char, strict=False
    )
    counts: list[int] = []
    try:
        for record in reader:
            if record and record != [""]:
                counts.append(len(record))
                if len(counts) >= _SNIFF_RECORDS:
                    break
    except csv.Error:
        pass
    return counts


def name_columns(raw: list[str]) -> tuple[list[str], list[str]]:
    """Unique column names for a header record, and a warning for each renaming."""
    names = [name.lstrip("\ufeff") if i == 0 else name for i, name in enumerate(raw)]
    named = unique_names(list(enumerate(names, start=1)))
    warnings = [
        f"Column {position} of the header {why}; it is read as {final!r}."
        for position, (final, why) in enumerate(named, start=1)
        if why
    ]
    return [final for final, _why in named], warnings
