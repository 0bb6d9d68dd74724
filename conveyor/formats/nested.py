"""Nested records (JSON objects, XML elements) as flat dotted columns, and back.

Shared by the JSON and XML readers and their rejects writers:

- ``flatten``: a JSON object to ``{"address.city": ...}`` up to a depth; deeper objects stay
  whole (the caller renders them as JSON text).
- ``unflatten``: dotted columns back to nested objects.
- ``json_text`` / ``parse_json_text``: JSON text that keeps numbers exact (``Decimal`` in and
  out), formatted like ``json.dumps(value, ensure_ascii=False)``.
- ``reject_columns``: the column order of a rejects file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal

from conveyor.schema import INTERNAL_COLUMNS, REJECT_ERROR, REJECT_ROW

__all__ = [
    "FlattenCollision",
    "flatten",
    "json_text",
    "parse_json_text",
    "reject_columns",
    "unflatten",
]


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


class FlattenCollision(ValueError):
    """Two keys of one record give the same dotted name (``{"a.b": 1, "a": {"b": 2}}``)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def flatten(record: Mapping[str, object], depth: int | None) -> dict[str, object]:
    """Nested objects become dotted keys, ``depth`` levels deep (None: all).

    Non-empty objects below that depth, empty objects and lists are returned as they are; the
    caller renders them as JSON text. Raises ``FlattenCollision`` when two keys flatten alike.
    """
    if depth == 0 or dict not in set(map(type, record.values())):
        return dict(record)  # nothing to flatten (the common case, checked at C speed)
    out: dict[str, object] = {}
    _flatten_into(record, "", depth, out)
    return out


def _flatten_into(
    obj: Mapping[str, object], prefix: str, depth: int | None, out: dict[str, object]
) -> None:
    for key, value in obj.items():
        name = prefix + key
        if type(value) is dict and value and (depth is None or depth > 0):
            _flatten_into(value, name + ".", None if depth is None else depth - 1, out)
        elif name in out:
            raise FlattenCollision(name)
        else:
            out[name] = value


def unflatten(pairs: Iterable[tuple[str, object]]) -> dict[str, object]:
    """Dotted keys back to nested objects, in first-seen order.

    When a key holds a value and dotted keys below it hold values too (possible only for data
    edited after reading), the dotted keys are kept literally (``"a.b"``) beside it, which
    reads back to the same columns.
    """
    groups: dict[str, list[tuple[list[str], object]]] = {}
    for name, value in pairs:
        head, _, rest = name.partition(".")
        groups.setdefault(head, []).append((rest.split(".") if rest else [], value))
    return _unflatten_groups(groups)


def _unflatten_groups(groups: dict[str, list[tuple[list[str], object]]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, entries in groups.items():
        leaves = [value for parts, value in entries if not parts]
        children = [(".".join(parts), value) for parts, value in entries if parts]
        leaf = next((v for v in leaves if v is not None), None)
        if not children:
            out[key] = leaf
        elif leaf is not None:
            out[key] = leaf
            for name, value in children:
                if value is not None:
                    out[f"{key}.{name}"] = value
        elif leaves and all(value is None for _, value in children):
            out[key] = None
        else:
            out[key] = unflatten(children)
    return out


def json_text(value: object) -> str:
    """JSON text of ``value``, numbers exact.

    Hand-written because ``json.dumps`` cannot write a ``Decimal`` as its literal digits (it
    would go through float and lose precision). Output matches ``json.dumps(value,
    ensure_ascii=False)`` for everything else.
    """
    try:  # the C encoder when no Decimal (or non-finite float) is inside
        return _ENCODER.encode(value)
    except (TypeError, ValueError):
        pass
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def _encode(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int | Decimal):
        out.append(_number(value))
    elif isinstance(value, float):
        out.append(repr(value) if math.isfinite(value) else json.dumps(str(value)))
    elif isinstance(value, Mapping):
        _encode_object(value, out)
    elif isinstance(value, list | tuple):
        _encode_array(value, out)
    elif isinstance(value, dt.date | dt.time):
        out.append(json.dumps(value.isoformat()))
    else:
        out.append(json.dumps(str(value), ensure_ascii=False))


def _number(value: int | Decimal) -> str:
    if isinstance(value, Decimal) and not value.is_finite():
        return json.dumps(str(value))
    return str(value)


def _encode_object(value: Mapping[object, object], out: list[str]) -> None:
    out.append("{")
    for i, (key, item) in enumerate(value.items()):
        if i:
            out.append(", ")
        out.append(json.dumps(str(key), ensure_ascii=False))
        out.append(": ")
        _encode(item, out)
    out.append("}")


def _encode_array(value: list[object] | tuple[object, ...], out: list[str]) -> None:
    out.append("[")
    for i, item in enumerate(value):
        if i:
            out.append(", ")
        _encode(item, out)
    out.append("]")


def parse_json_text(text: str) -> object:
    """Parse JSON text written by ``json_text``; numbers with a fraction or exponent as Decimal.

    Raises ``ValueError`` when ``text`` is not JSON.
    """
    return json.loads(text, parse_float=Decimal)


def reject_columns(info_columns: Iterable[str], frame_columns: Iterable[str]) -> list[str]:
    """Source columns for a rejects file: the reader's columns, then any the frame adds.

    ``_row`` and ``_error`` are left out (the writer appends them last, replacing source
    columns of those names) and so are Conveyor's internal columns.
    """
    skip = {REJECT_ROW, REJECT_ERROR, *INTERNAL_COLUMNS}
    names = [c for c in info_columns if c not in skip]
    seen = set(names)
    for column in frame_columns:
        if column not in skip and column not in seen:
            names.append(column)
            seen.add(column)
    return names
