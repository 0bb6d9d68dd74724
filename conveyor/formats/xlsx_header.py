"""Column names from an XLSX header row: stripped, never empty, unique."""

from __future__ import annotations

from conveyor.schema import INTERNAL_COLUMNS

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
    stripped = [(col, text.strip()) for col, text in raw]
    originals = {text for _col, text in stripped}
    used: set[str] = set()
    first_at: dict[str, int] = {}
    names: list[str] = []
    warnings: list[str] = []
    for col, text in stripped:
        where = f"Sheet {sheet!r}, column {column_letter(col)}"
        if text == "":
            base, why = f"column_{col + 1}", "has an empty header"
        elif text in INTERNAL_COLUMNS:
            base, why = text, f"is named {text!r}, a name Conveyor keeps for its own use"
        elif text in used:
            base = text
            why = f"repeats the header {text!r} of column {column_letter(first_at[text])}"
        else:
            base, why = text, ""
        final, suffix = base, 1
        while final in used or final in INTERNAL_COLUMNS or (why and final in originals):
            suffix += 1
            final = f"{base}_{suffix}"
        if why:
            warnings.append(f"{where} {why}; it is read as {final!r}.")
        used.add(final)
        first_at.setdefault(text, col)
        names.append(final)
    return names, warnings
