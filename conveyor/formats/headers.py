"""Unique column names from a header row: shared by the CSV and XLSX readers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from conveyor.schema import INTERNAL_COLUMNS

__all__ = ["unique_names"]


def unique_names(
    header: Sequence[tuple[int, str]], label: Callable[[int], str] = str
) -> list[tuple[str, str]]:
    """For each header cell ``(column number, text)``: its final name and why it was renamed.

    An empty name becomes ``column_N`` (N = the column number); a repeated one ``name_2``,
    ``name_3`` ...; a name Conveyor keeps for itself (``__row``) is suffixed too. A generated
    name never takes a name that stands elsewhere in the header. ``why`` is empty when the
    name is kept; ``label`` renders a column number in messages (e.g. as an Excel letter).
    """
    originals = {text for _number, text in header}
    used: set[str] = set()
    first_at: dict[str, int] = {}
    result: list[tuple[str, str]] = []
    for number, text in header:
        if text == "":
            base, why = f"column_{number}", "has no name"
        elif text in INTERNAL_COLUMNS:
            base, why = text, f"is named {text!r}, a name Conveyor keeps for its own use"
        elif text in used:
            base, why = text, f"repeats the name {text!r} of column {label(first_at[text])}"
        else:
            base, why = text, ""
        final, suffix = base, 1
        while final in used or final in INTERNAL_COLUMNS or (why and final in originals):
            suffix += 1
            final = f"{base}_{suffix}"
        used.add(final)
        first_at.setdefault(text, number)
        result.append((final, why))
    return result
