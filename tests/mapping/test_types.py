"""Casting per field type (text, numbers, booleans) and the spec-time helpers."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from conveyor.mapping.types import FieldType, ParseOptions, format_problem, parse_value
from tests.mapping.support import BOOL_WORDS, Reject, outcome

# ------------------------------------------------------------------------------ FieldType


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("string", FieldType("string")),
        ("json", FieldType("json")),
        ("decimal(12,2)", FieldType("decimal", 12, 2)),
        ("decimal( 38 , 0 )", FieldType("decimal", 38, 0)),
        ("decimal(1,1)", FieldType("decimal", 1, 1)),
    ],
)
def test_field_type_parses(text: str, expected: FieldType) -> None:
    assert FieldType.parse(text) == expected


def test_field_type_text_and_dtype() -> None:
    assert str(FieldType.parse("decimal( 12 ,2)")) == "decimal(12,2)"
    assert FieldType.parse("decimal(12,2)").dtype() == pl.Decimal(12, 2)
    assert FieldType.parse("datetime").dtype() == pl.Datetime("us", "UTC")
    assert FieldType.parse("json").dtype() == pl.String()


HELP = "use one of string, integer, decimal(p,s) with p <= 38, float, boolean, date, datetime, json"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("decimal(40,2)", f"'decimal(40,2)' is not a type; {HELP}"),
        ("decimal(0,0)", f"'decimal(0,0)' is not a type; {HELP}"),
        ("money", f"'money' is not a type; {HELP}"),
        ("Integer", f"'Integer' is not a type; {HELP}"),
        (5, f"5 is not a type; {HELP}"),
        (
            "decimal(5,6)",
            "'decimal(5,6)' is not a type; the scale s of decimal(p,s) must be between 0 and p",
        ),
        (
            "decimal(12",
            "'decimal(12' is not a type; inside {...} YAML splits at the comma: quote it, "
            "as in {type: 'decimal(12,2)'}",
        ),
    ],
)
def test_field_type_refuses(text: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        FieldType.parse(text)
    assert str(caught.value) == message


# -------------------------------------------------------------------------------- string


def test_string_keeps_text_and_empties_become_null() -> None:
    assert outcome({}, ["  x ", "", None, "a\tb", "ünïcödé"]) == [
        "  x ",
        None,
        None,
        "a\tb",
        "ünïcödé",
    ]


def test_string_from_typed_values_uses_their_text() -> None:
    assert outcome({}, [3, None], pl.Int64) == ["3", None]
    assert outcome({}, [3.0, 3.5, 1e20], pl.Float64) == ["3", "3.5", "1e+20"]
    assert outcome({}, [True, False], pl.Boolean) == ["true", "false"]
    assert outcome({}, [date(1900, 1, 1)], pl.Date) == ["1900-01-01"]
    assert outcome({}, [datetime(2024, 1, 31, 10, 0, 0, 500000)], pl.Datetime("us")) == [
        "2024-01-31T10:00:00.500"
    ]


# ------------------------------------------------------------------------------- integer


def test_integer_text() -> None:
    values = ["42", "-7", "+5", " 12 ", "1.0", "007", "9223372036854775807", "", "   ", None]
    assert outcome({"type": "integer"}, values) == [
        42,
        -7,
        5,
        12,
        1,
        7,
        9223372036854775807,
        None,
        None,
        None,
    ]


@pytest.mark.parametrize("text", ["1.5", "abc", "1,234", "1e3", "12 3", "١٢", "0x10", "--1"])
def test_integer_refuses(text: str) -> None:
    assert outcome({"type": "integer"}, [text]) == [Reject(f"'{text}' is not an integer")]


def test_integer_out_of_range() -> None:
    assert outcome({"type": "integer"}, ["9223372036854775808"]) == [
        Reject("'9223372036854775808' is out of range for integer")
    ]


def test_integer_thousands_separators() -> None:
    comma = {"type": "integer", "thousands_separator": ","}
    assert outcome(comma, ["1,234", "1,234,567", "1234", "12,34", "1,2345"]) == [
        1234,
        1234567,
        1234,
        Reject("'12,34' is not an integer"),
        Reject("'1,2345' is not an integer"),
    ]
    german = {"type": "integer", "thousands_separator": ".", "decimal_separator": ","}
    assert outcome(german, ["200.000.000", "1.234,00", "1,5"]) == [
        200000000,
        1234,
        Reject("'1,5' is not an integer"),
    ]
    swiss = {"type": "integer", "thousands_separator": "'"}
    assert outcome(swiss, ["1'000'000"]) == [1000000]
    spaced = {"type": "integer", "thousands_separator": " "}
    assert outcome(spaced, ["1 000 000", " 12 "]) == [1000000, 12]


def test_integer_from_typed_values() -> None:
    assert outcome({"type": "integer"}, [3, None], pl.Int64) == [3, None]
    assert outcome({"type": "integer"}, [3.0, 3.5, -0.0, 1e19], pl.Float64) == [
        3,
        Reject("'3.5' is not an integer"),
        0,
        Reject("'1e+19' is not an integer"),
    ]
    assert outcome({"type": "integer"}, [True], pl.Boolean) == [Reject("'true' is not an integer")]
    assert outcome({"type": "integer"}, [date(2024, 1, 1)], pl.Date) == [
        Reject("'2024-01-01' is not an integer")
    ]


# ------------------------------------------------------------------------------- decimal


def test_decimal_text() -> None:
    values = ["1234.56", "-0.5", ".5", "5.", "1.230", "9999999999.99", "", None, " 7 "]
    assert outcome({"type": "decimal(12,2)"}, values) == [
        Decimal("1234.56"),
        Decimal("-0.50"),
        Decimal("0.50"),
        Decimal("5.00"),
        Decimal("1.23"),
        Decimal("9999999999.99"),
        None,
        None,
        Decimal("7.00"),
    ]


def test_decimal_refusals() -> None:
    assert outcome({"type": "decimal(12,2)"}, ["12,x", "1.234", "10000000000.00", "1e3"]) == [
        Reject("'12,x' is not a decimal(12,2)"),
        Reject("'1.234' has more than 2 decimals for decimal(12,2)"),
        Reject("'10000000000.00' is out of range for decimal(12,2)"),
        Reject("'1e3' is not a decimal(12,2)"),
    ]


def test_decimal_separators() -> None:
    german = {"type": "decimal(12,2)", "decimal_separator": ",", "thousands_separator": "."}
    assert outcome(german, ["1.234,56", "1234,5", "-0,01", "1.234.56", "12,x"]) == [
        Decimal("1234.56"),
        Decimal("1234.50"),
        Decimal("-0.01"),
        Reject("'1.234.56' is not a decimal(12,2)"),
        Reject("'12,x' is not a decimal(12,2)"),
    ]
    french = {"type": "decimal(12,2)", "decimal_separator": ",", "thousands_separator": " "}
    assert outcome(french, ["1 234,56"]) == [Decimal("1234.56")]
    english = {"type": "decimal(12,2)", "thousands_separator": ","}
    assert outcome(english, ["1,234.56", "1234.56"]) == [Decimal("1234.56"), Decimal("1234.56")]


def test_decimal_precision_edges() -> None:
    big = "9" * 38
    assert outcome({"type": "decimal(38,0)"}, [big, big + "9"]) == [
        Decimal(big),
        Reject(f"'{big}9' is out of range for decimal(38,0)"),
    ]
    assert outcome({"type": "decimal(5,5)"}, ["0.12345", "1"]) == [
        Decimal("0.12345"),
        Reject("'1' is out of range for decimal(5,5)"),
    ]


def test_decimal_from_typed_values() -> None:
    assert outcome({"type": "decimal(12,2)"}, [19.99, 2.5, 1e15], pl.Float64) == [
        Decimal("19.99"),
        Decimal("2.50"),
        Reject("'1000000000000000' is out of range for decimal(12,2)"),
    ]
    assert outcome({"type": "decimal(4,1)"}, [123, 12345], pl.Int64) == [
        Decimal("123.0"),
        Reject("'12345' is out of range for decimal(4,1)"),
    ]


# --------------------------------------------------------------------------------- float


def test_float_text() -> None:
    assert outcome({"type": "float"}, ["1.5", "-2e3", "1E-2", ".5", "", "1,5", "nan", "inf"]) == [
        1.5,
        -2000.0,
        0.01,
        0.5,
        None,
        Reject("'1,5' is not a float"),
        Reject("'nan' is not a float"),
        Reject("'inf' is not a float"),
    ]
    assert outcome({"type": "float"}, ["1e400"]) == [Reject("'1e400' is out of range for float")]
    german = {"type": "float", "decimal_separator": ",", "thousands_separator": "."}
    assert outcome(german, ["1.234,5", "1,7"]) == [1234.5, 1.7]


def test_float_from_typed_values() -> None:
    assert outcome({"type": "float"}, [3, None], pl.Int64) == [3.0, None]
    assert outcome({"type": "float"}, [2.5, float("nan")], pl.Float64) == [
        2.5,
        Reject("'NaN' is not a float"),
    ]


# ------------------------------------------------------------------------------- boolean


def test_boolean_default_words() -> None:
    values = ["Yes", "Y", "TRUE", "t", "1", "No", "n", "0", "F", "false", " yes ", "", None]
    assert outcome({"type": "boolean"}, values) == [True] * 5 + [False] * 5 + [True, None, None]
    assert outcome({"type": "boolean"}, ["maybe", "2"]) == [
        Reject(f"'maybe' is not a boolean {BOOL_WORDS}"),
        Reject(f"'2' is not a boolean {BOOL_WORDS}"),
    ]


def test_boolean_custom_words() -> None:
    rule = {"type": "boolean", "true_values": ["Ja", "J"], "false_values": ["Nein"]}
    assert outcome(rule, ["JA", "j", "nein", "yes"]) == [
        True,
        True,
        False,
        Reject("'yes' is not a boolean (ja, j / nein)"),
    ]


def test_boolean_from_typed_values() -> None:
    assert outcome({"type": "boolean"}, [True, False, None], pl.Boolean) == [True, False, None]
    assert outcome({"type": "boolean"}, [1, 0, 2], pl.Int64) == [
        True,
        False,
        Reject(f"'2' is not a boolean {BOOL_WORDS}"),
    ]


# ------------------------------------------------------------------- spec-time helpers


def test_parse_value_reads_like_the_source_then_canonically() -> None:
    german = ParseOptions(decimal_separator=",", thousands_separator=".")
    dec = FieldType("decimal", 12, 2)
    assert parse_value("1.234,5", dec, german) == Decimal("1234.50")
    assert parse_value(1.5, dec, german) == Decimal("1.50")
    assert parse_value("2024-01-31", FieldType("date"), ParseOptions(formats=("%d/%m/%Y",))) == (
        date(2024, 1, 31)
    )
    assert parse_value(True, FieldType("boolean"), ParseOptions(true_values=("ja",))) is True
    assert parse_value({"a": [1]}, FieldType("json"), ParseOptions()) == json.dumps({"a": [1]})
    with pytest.raises(ValueError, match=r"^'x' is not an integer$"):
        parse_value("x", FieldType("integer"), ParseOptions())
    with pytest.raises(ValueError, match="empty, which means no value"):
        parse_value("", FieldType("string"), ParseOptions())


@pytest.mark.parametrize(
    ("fmt", "kind", "problem"),
    [
        ("%d/%m/%Y", "date", None),
        ("%Y-%m-%dT%H:%M:%S%.f%#z", "datetime", None),
        ("%s", "datetime", None),
        ("%d/%m", "date", "'%d/%m' does not give a full date: it needs the year, month and day"),
        (
            "%H:%M",
            "datetime",
            "'%H:%M' does not give a full datetime: it needs the year, month and day",
        ),
        ("%Q", "date", "'%Q' is not a valid date format (strftime directives such as %Y-%m-%d)"),
    ],
)
def test_format_problem(fmt: str, kind: Any, problem: str | None) -> None:
    assert format_problem(fmt, kind) == problem
