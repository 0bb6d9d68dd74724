"""Column names from an XLSX header row: stripped, never empty, unique."""

from __future__ import annotations

from conveyor.formats.headers import unique_names

__all__ = ["column_letter", "name_columns"]


def column_letter(index: int) -> str:
    """Excel's letters for a 0-based column index (0 -> A, 27 -> AB)."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def name_columns(sheet: str, raw: list[tuple[int, str]]) -> tuple[list[str], list[str]]:
    """Names for header cells given as (0-based sheet column, text), and a warning per renaming.

    An empty header becomes ``column_N`` (N = the column's number in the sheet, A = 1); a repeated
    one ``name_2``, ``name_3`` ...; a name Conveyor keeps for itself (``__row``) is suffixed too.
    """
    named = unique_names(
        [(col + 1, text.strip()) for col, text in raw],
        label=lambda number: column_letter(number - 1),
    )
    warnings = [
        f"Sheet {sheet!r}, column {column_letter(col)} {why}; it is read as {final!r}."
        for (col, _text), (final, why) in zip(raw, named, strict=True)
        if why
    ]
    return [final for final, _why in named], warnings
