"""XML export writer: one element per row under a root element, one child per column.

    <?xml version="1.0" encoding="UTF-8"?>
    <records xmlns="urn:from-xml_namespace" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <record><id>1</id><name>Ann &amp; Bob</name><note xsi:nil="true"/><tag></tag></record>
    </records>

Root and record names come from ``WriteOptions`` (``xml_root``, ``xml_record``), children are
named after the columns, in column order. NULL is ``<name xsi:nil="true"/>`` and an empty
string ``<name></name>``. Values are the text of ``writers.value_text``; ``&``, ``<`` and ``>``
are escaped, and CR as ``&#13;`` (a parser turns a raw CR into LF). A name that is not an XML
element name (a space, a leading digit, a colon) is a ConfigError at ``open_writer``.

Characters XML 1.0 forbids (U+0000-U+0008, U+000B, U+000C, U+000E-U+001F, U+FFFE, U+FFFF; lone
surrogates cannot occur, Polars strings being valid UTF-8) are a ConfigError naming the row and
column with ``xml_invalid_chars="error"``, and become U+FFFD with ``"replace"``.

Each batch becomes one text per row with Polars expressions (``concat_str``, escaping with
``str.replace_many``) written by Polars' ``write_csv`` with quoting off: no element tree and no
Python call per row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from lxml import etree

from conveyor.errors import ConfigError
from conveyor.formats.writers import WriteOptions, check_frame, first_hit, open_file, value_text
from conveyor.schema import Column

__all__ = ["XSI", "XmlWriter", "open_writer"]

XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: Characters XML 1.0 forbids, as a Rust regex (Polars) and a Python one (for messages).
_FORBIDDEN = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
_FORBIDDEN_PY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTRIBUTE_ESCAPES = {**_TEXT_ESCAPES, '"': "&quot;", "\n": "&#10;", "\t": "&#9;"}


def open_writer(
    path: Path, fmt: str, columns: Sequence[Column], options: WriteOptions
) -> XmlWriter:
    """Open an XML export (``fmt`` is always ``"xml"``; kept for one signature)."""
    return XmlWriter(path, columns, options)


class XmlWriter:
    """Writes the declaration and the root's start tag at open, its end tag at close."""

    def __init__(self, path: Path, columns: Sequence[Column], options: WriteOptions) -> None:
        self.rows = 0
        self._path = path
        self._columns = list(columns)
        self._replace = options.xml_invalid_chars == "replace"
        if options.xml_invalid_chars not in ("error", "replace"):
            raise ConfigError(
                f"xml_invalid_chars is {options.xml_invalid_chars!r}; use 'error' or 'replace'"
            )
        _check_name(options.xml_root, "the xml_root option", "choose another root name")
        _check_name(options.xml_record, "the xml_record option", "choose another record name")
        for column in self._columns:
            _check_name(
                column.name,
                f"the column {column.name!r}",
                "rename it with a mapping (e.g. 'E-mail Address' -> 'email') "
                "or choose other fields",
            )
        self._record = options.xml_record
        self._root = options.xml_root
        namespace = options.xml_namespace
        if namespace is not None and _FORBIDDEN_PY.search(namespace):
            raise ConfigError("xml_namespace holds a character XML forbids; give a plain URI")
        xmlns = "" if namespace is None else f' xmlns="{_escape_attribute(namespace)}"'
        self._fh = open_file(path)
        start = f'<?xml version="1.0" encoding="UTF-8"?>\n<{self._root}{xmlns} xmlns:xsi="{XSI}">\n'
        self._fh.write(start.encode())

    def write(self, frame: pl.DataFrame) -> None:
        """Append one record element per row of ``frame`` (the export's columns, in order)."""
        check_frame(frame, self._columns)
        if frame.height == 0:
            return
        texts = [c.name for c in self._columns if frame.schema[c.name] == pl.String]
        if not self._replace:
            self._refuse_forbidden(frame, texts)
        parts: list[pl.Expr] = [pl.lit(f"<{self._record}>")]
        for column in self._columns:
            name = column.name
            text = value_text(frame, name)
            if self._replace and name in texts:
                text = text.str.replace_all(_FORBIDDEN, "\ufffd")
            escaped = text.str.replace_many(list(_TEXT_ESCAPES), list(_TEXT_ESCAPES.values()))
            element = pl.concat_str([pl.lit(f"<{name}>"), escaped, pl.lit(f"</{name}>")])
            nil = pl.lit(f'<{name} xsi:nil="true"/>')
            parts.append(pl.when(pl.col(name).is_null()).then(nil).otherwise(element))
        parts.append(pl.lit(f"</{self._record}>"))
        frame.select(pl.concat_str(parts).alias("record")).write_csv(
            self._fh, include_header=False, quote_style="never", line_terminator="\n"
        )
        self.rows += frame.height

    def close(self) -> None:
        """Write the root's end tag and close the file."""
        if not self._fh.closed:
            self._fh.write(f"</{self._root}>\n".encode())
            self._fh.close()

    def abort(self) -> None:
        """Close the file as it is; the caller deletes it."""
        if not self._fh.closed:
            self._fh.close()

    def _refuse_forbidden(self, frame: pl.DataFrame, texts: list[str]) -> None:
        hit = first_hit(frame, {name: pl.col(name).str.contains(_FORBIDDEN) for name in texts})
        if hit is None:
            return
        row, name = hit
        found = _FORBIDDEN_PY.search(frame.get_column(name)[row])
        char = f" U+{ord(found.group()):04X}" if found else ""
        raise ConfigError(
            f"{self._path}: row {self.rows + row + 1}, column {name!r}: the value holds the "
            f"character{char}, which XML 1.0 forbids; remove it from the data, or set "
            'xml_invalid_chars="replace" to write U+FFFD in its place'
        )


def _check_name(name: str, what: str, fix: str) -> None:
    """ConfigError unless ``name`` is an XML element name without a prefix (lxml's check)."""
    try:
        if "{" in name or "}" in name:  # lxml would take "{uri}name" as a namespaced name
            raise ValueError(name)
        etree.Element(name)
    except ValueError:
        raise ConfigError(
            f"{what} cannot be an XML element name: a name starts with a letter or '_' and "
            "holds only letters, digits, '-', '_' and '.' (no spaces or ':'); " + fix
        ) from None


def _escape_attribute(text: str) -> str:
    return "".join(_ATTRIBUTE_ESCAPES.get(ch, ch) for ch in text)
