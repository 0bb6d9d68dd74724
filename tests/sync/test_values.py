"""Canonical values: equal meanings compare equal whichever side they came from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor.errors import RecordError
from conveyor.sync.spec import LocalType, SyncJobSpec
from conveyor.sync.values import Codec, canonical, to_python, values_hash


@pytest.mark.parametrize(
    ("kind", "forms", "expected"),
    [
        ("decimal", ["12.50", 12.5, Decimal("12.500"), "1.25E+1", " 12.5 "], "12.5"),
        ("decimal", [100, "1E+2", Decimal("100.00")], "100"),
        ("decimal", ["-0.0", 0, "0E-10"], "0"),
        ("integer", [7, "7", "7.0", Decimal("7"), 7.0], 7),
        ("boolean", [True, "true", "TRUE", "1", 1], True),
        ("boolean", [False, "false", "0", 0, "no"], False),
        (
            "date",
            ["2024-02-29", dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 23, 0)],
            "2024-02-29",
        ),
        (
            "datetime",
            [
                "2024-01-02T03:04:05Z",
                "2024-01-02 03:04:05",
                "2024-01-02T04:04:05+01:00",
                dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                dt.datetime(2024, 1, 2, 3, 4, 5),
                "2024-01-02T03:04:05.000+0000",
            ],
            "2024-01-02T03:04:05.000000+00:00",
        ),
        ("json", ['{"b": 1, "a": [1]}', {"a": [1], "b": 1}], {"a": [1], "b": 1}),
        ("text", ["x", "x"], "x"),
    ],
)
def test_forms_of_one_value_are_equal(kind: LocalType, forms: list[Any], expected: Any) -> None:
    assert [canonical(f, kind) for f in forms] == [expected] * len(forms)


@pytest.mark.parametrize("kind", ["text", "integer", "decimal", "boolean", "date", "datetime"])
def test_empty_text_is_null(kind: LocalType) -> None:
    assert canonical("", kind) is None and canonical(None, kind) is None


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("integer", "7.5", "field n: '7.5' is not a whole number"),
        ("integer", True, "is not a whole number"),
        ("decimal", "NaN", "is not a decimal number"),
        ("decimal", "12,5", "is not a decimal number"),
        ("boolean", "maybe", "is not true or false"),
        ("date", "31/12/2024", "is not a date"),
        ("datetime", "noon", "is not a date and time"),
        ("json", "{", "is not JSON"),
    ],
)
def test_unreadable_values_are_record_errors_naming_the_field(
    kind: LocalType, value: Any, message: str
) -> None:
    with pytest.raises(RecordError, match=message):
        canonical(value, kind, "n")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_decimals_round_trip_exactly(number: Decimal) -> None:
    text = canonical(number, "decimal")
    assert Decimal(text) == number
    assert canonical(to_python(text, "decimal"), "decimal") == text


def test_hash_ignores_key_order() -> None:
    assert values_hash({"a": 1, "b": "x"}) == values_hash({"b": "x", "a": 1})
    assert values_hash({"a": 1}) != values_hash({"a": "1"})


JOB = SyncJobSpec.model_validate(
    {
        "local": {"table": "t", "key": "id"},
        "remote": {
            "connector": "reference",
            "connection": "c",
            "entity": "e",
            "external_id_field": "ext",
        },
        "fields": {
            "status": {"remote": "Status", "to_local": ["lower"], "to_remote": ["upper"]},
            "amount": {"remote": "Amount", "type": "decimal"},
        },
    }
)


def test_codec_maps_names_and_transforms_each_way() -> None:
    codec = Codec(JOB)
    inbound = codec.inbound([{"Status": "OPEN", "Amount": 1.5}, {"Status": None, "Amount": "x"}])
    assert inbound[0] == {"status": "open", "amount": "1.5"}
    assert isinstance(inbound[1], RecordError) and "field amount" in str(inbound[1])
    assert codec.outbound([{"status": "open"}, {"status": "won", "amount": "2"}]) == [
        {"Status": "OPEN"},
        {"Status": "WON", "Amount": "2"},
    ]
    assert codec.local([{"id": 1, "status": "open", "amount": Decimal("1.50")}]) == [
        {"status": "open", "amount": "1.5"}
    ]
