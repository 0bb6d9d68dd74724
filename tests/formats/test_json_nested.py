"""conveyor.formats.nested: flattening, unflattening and exact JSON text."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor.formats.nested import (
    FlattenCollision,
    flatten,
    json_text,
    parse_json_text,
    reject_columns,
    unflatten,
)


def test_flatten_all_levels_keeps_key_order() -> None:
    record = {"a": 1, "b": {"c": {"d": 2}, "e": 3}, "f": [1], "g": {}}
    assert list(flatten(record, None).items()) == [
        ("a", 1),
        ("b.c.d", 2),
        ("b.e", 3),
        ("f", [1]),
        ("g", {}),
    ]


def test_flatten_to_a_depth_keeps_deeper_objects_whole() -> None:
    record = {"b": {"c": {"d": 2}, "e": 3}}
    assert flatten(record, 1) == {"b.c": {"d": 2}, "b.e": 3}
    assert flatten(record, 0) == {"b": {"c": {"d": 2}, "e": 3}}


def test_flatten_collision() -> None:
    with pytest.raises(FlattenCollision) as caught:
        flatten({"a": {"b": 1}, "a.b": 2}, None)
    assert caught.value.name == "a.b"


def test_unflatten_nests_in_first_seen_order() -> None:
    pairs = [("a.b", 1), ("c", None), ("a.d.e", "x"), ("f", [1])]
    assert json_text(unflatten(pairs)) == '{"a": {"b": 1, "d": {"e": "x"}}, "c": null, "f": [1]}'


def test_unflatten_nulls() -> None:
    # All-null children under a null parent collapse to the parent's null.
    assert unflatten([("a", None), ("a.b", None)]) == {"a": None}
    # A null parent column gives way to children that hold values.
    assert unflatten([("a", None), ("a.b", 1)]) == {"a": {"b": 1}}
    # Without a parent column, null children make an object of nulls.
    assert unflatten([("a.b", None)]) == {"a": {"b": None}}


def test_unflatten_keeps_dotted_keys_when_a_parent_holds_a_value() -> None:
    assert unflatten([("a", 1), ("a.b", 2), ("a.c", None)]) == {"a": 1, "a.b": 2}


@given(
    st.dictionaries(
        st.text(alphabet="abc", min_size=1, max_size=2),
        st.recursive(
            st.integers() | st.text(max_size=3) | st.booleans(),
            lambda inner: st.dictionaries(
                st.text(alphabet="abc", min_size=1, max_size=2), inner, min_size=1, max_size=3
            ),
            max_leaves=8,
        ),
        max_size=4,
    )
)
def test_unflatten_undoes_flatten(record: dict[str, object]) -> None:
    assert unflatten(flatten(record, None).items()) == record


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1.10"), "1.10"),
        (Decimal("1E+400"), "1E+400"),
        ([Decimal("2.50"), {"k": Decimal("-0.0")}], '[2.50, {"k": -0.0}]'),
        ({"é": "ü", "n": None, "t": True}, '{"é": "ü", "n": null, "t": true}'),
        (2**70, "1180591620717411303424"),
        (1.5, "1.5"),
        (float("inf"), '"inf"'),
        ([dt.date(2024, 1, 2), Decimal("1.0")], '["2024-01-02", 1.0]'),
        (Decimal("NaN"), '"NaN"'),
    ],
)
def test_json_text(value: object, text: str) -> None:
    assert json_text(value) == text


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text()
        | st.floats(allow_nan=False, allow_infinity=False),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_json_text_matches_json_dumps_without_decimals(value: object) -> None:
    assert json_text(value) == json.dumps(value, ensure_ascii=False)


def test_parse_json_text_keeps_decimals() -> None:
    assert parse_json_text('[1.10, 2, "x"]') == [Decimal("1.10"), 2, "x"]
    with pytest.raises(ValueError):
        parse_json_text("[1,")


def test_reject_columns() -> None:
    assert reject_columns(
        ["_error", "a", "b", "_row"], ["b", "__row", "_error", "c", "__sheet", "__seq", "a"]
    ) == ["a", "b", "c"]
