"""Bulk API 2.0 CSV as Salesforce reads and writes it.

Python's csv reader accepts any line ending, but Salesforce splits records on the job's declared
``lineEnding`` only, so the fake has its own tokenizer: with ``LF`` a record ending in CRLF (what
Python's csv writer produces by default) fails the job, as it does on Salesforce. Values are never
trimmed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

__all__ = ["DELIMITERS", "LINE_ENDINGS", "CsvFormatError", "parse", "write"]

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


class CsvFormatError(ValueError):
    """The upload cannot be read with the job's settings (the job fails with this message)."""


@lru_cache(maxsize=8)
def _tokenizer(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    return re.compile(
        rf'(?P<quoted>"(?:[^"]|"")*")|(?P<text>[^"{d}\r\n]+)|(?P<delim>{d})'
        r'|(?P<newline>\r\n|\n|\r)|(?P<quote>")'
    )


def parse(text: str, delimiter: str = ",", line_ending: str = "LF") -> list[list[str]]:
    """Records of ``text`` split on ``delimiter`` and the declared line ending."""
    if line_ending not in LINE_ENDINGS:
        raise CsvFormatError(f"InvalidJob : lineEnding must be LF or CRLF, not {line_ending}")
    records: list[list[str]] = []
    fields: list[str] = []
    current: list[str] = []
    for match in _tokenizer(delimiter).finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind == "quoted":
            current.append(token[1:-1].replace('""', '"'))
        elif kind == "delim":
            fields.append("".join(current))
            current = []
        elif kind == "newline":
            if _ends_record(token, line_ending):
                fields.append("".join(current))
                records.append(fields)
                fields, current = [], []
            else:
                current.append(token)
        else:
            current.append(token)
    if current or fields:
        fields.append("".join(current))
        records.append(fields)
    return [r for r in records if r != [""]]


def _ends_record(token: str, line_ending: str) -> bool:
    if line_ending == "LF":
        if token == "\r\n":
            raise CsvFormatError(
                "InvalidBatch : LineEnding is invalid on user data. Current LineEnding setting "
                "is LF"
            )
        return token == "\n"
    if token == "\n":
        raise CsvFormatError(
            "InvalidBatch : LineEnding is invalid on user data. Current LineEnding setting is CRLF"
        )
    return token == "\r\n"


def write(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    delimiter: str = ",",
    line_ending: str = "LF",
    quote_all: bool = False,
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        lineterminator=LINE_ENDINGS[line_ending],
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
