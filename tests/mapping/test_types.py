"""Casting per field type: text and typed source values, through the compiled mapping."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from conveyor.mapping.compiler import compile_mapping
from conveyor.mapping.spec import MappingSpec
from conveyor.mapping.types import FieldType, ParseOptions, format_problem, parse_value
from tests.helpers import PEER

PEERS = PEER
BOOL_WORDS = "(true, t, yes, y, 1 / false, f, no, n, 0)"


@dataclass(frozen=True)
class Reject:
    reason: str


def outcome(rule: dict[str, Any], values: list[Any], dtype: Any = pl.String) -> list[object]:
    """Each input value's mapped value, or Reject(reason) without the 'v (V): ' prefix."""
    spec = MappingSpec.model_validate(
        {"target": {"table": "t"}, "fields": {"v": {"from": "V", **rule}}}
    )
    frame = pl.DataFrame(
        {"V": pl.Series(values, dtype=dtype), "__row": pl.int_range(len(values), eager=True)}
    )
    mapped = compile_mapping(spec).apply(frame)
    assert mapped.good.height + mapped.rejects.height == len(values)
    found: dict[int, object] = dict(zip(mapped.good["__row"], mapped.good["v"], strict=True))
    for row, reason in zip(mapped.rejects["__row"], mapped.rejects["_error"], strict=True):
        assert reason.startswith("v (V): ")
        found[row] = Reject(reason.removeprefix("v (V): "))
    return [found[i] for i in range(len(values))]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


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


# ---------------------------------------------------------------------------------- date


def test_date_iso_default() -> None:
    values = ["2024-02-29", "1900-01-01", "1899-12-31", "2000-02-29", "0001-01-01", ""]
    assert outcome({"type": "date"}, values) == [
        date(2024, 2, 29),
        date(1900, 1, 1),
        date(1899, 12, 31),
        date(2000, 2, 29),
        date(1, 1, 1),
        None,
    ]


@pytest.mark.parametrize("text", ["2023-02-29", "1900-02-29", "31/01/2024", "2024-01-31T10:00:00"])
def test_date_iso_refusals(text: str) -> None:
    assert outcome({"type": "date"}, [text]) == [Reject(f"'{text}' is not an ISO 8601 date")]


def test_date_with_format() -> None:
    rule = {"type": "date", "format": "%d/%m/%Y"}
    assert outcome(rule, ["02/01/2014", "31/02/2024", "2014-01-02"]) == [
        date(2014, 1, 2),
        Reject("'31/02/2024' is not a date in format %d/%m/%Y"),
        Reject("'2014-01-02' is not a date in format %d/%m/%Y"),
    ]


def test_date_with_formats_tried_in_order() -> None:
    rule = {"type": "date", "formats": ["%d/%m/%Y", "%Y%m%d", "%d %b %Y"]}
    assert outcome(rule, ["02/01/2014", "20121231", "5 Mar 2020", "2020-03-05"]) == [
        date(2014, 1, 2),
        date(2012, 12, 31),
        date(2020, 3, 5),
        Reject("'2020-03-05' is not a date in any of the formats %d/%m/%Y, %Y%m%d, %d %b %Y"),
    ]


def test_date_from_typed_values() -> None:
    assert outcome({"type": "date"}, [date(1900, 1, 1)], pl.Date) == [date(1900, 1, 1)]
    naive = [datetime(2024, 1, 31, 23, 59)]
    assert outcome({"type": "date"}, naive, pl.Datetime("us")) == [date(2024, 1, 31)]
    berlin = pl.Series([datetime(2024, 1, 31, 23, 30, tzinfo=UTC)]).dt.convert_time_zone(
        "Europe/Berlin"
    )
    assert outcome({"type": "date"}, berlin.to_list(), berlin.dtype) == [date(2024, 2, 1)]
    assert outcome({"type": "date"}, [45000], pl.Int64) == [
        Reject("'45000' is not an ISO 8601 date")
    ]


# ------------------------------------------------------------------------------ datetime


def test_datetime_iso_with_and_without_offset() -> None:
    values = [
        "2024-01-31T10:00:00+02:00",
        "2024-01-31T10:00:00Z",
        "2024-01-31 10:00:00",
        "2024-01-31T10:00:00.123456-05:00",
        "2024-01-31T10:00",
        "2024-01-31",
        "1900-01-01T00:00:00",
        "",
    ]
    assert outcome({"type": "datetime"}, values) == [
        utc(2024, 1, 31, 8),
        utc(2024, 1, 31, 10),
        utc(2024, 1, 31, 10),
        datetime(2024, 1, 31, 15, 0, 0, 123456, tzinfo=UTC),
        utc(2024, 1, 31, 10),
        utc(2024, 1, 31),
        utc(1900, 1, 1),
        None,
    ]
    assert outcome({"type": "datetime"}, ["31/01/2024 10:00"]) == [
        Reject("'31/01/2024 10:00' is not an ISO 8601 datetime")
    ]


def test_datetime_time_zone_and_dst() -> None:
    rule = {"type": "datetime", "timezone": "Europe/Berlin"}
    values = [
        "2024-01-31 10:00:00",  # CET, +01:00
        "2024-07-01 10:00:00",  # CEST, +02:00
        "2024-10-27 02:30:00",  # ambiguous: the earlier (CEST) instant
        "2024-01-31T10:00:00+05:00",  # an offset wins over the zone
        "2024-03-31 02:30:00",  # skipped: clocks jump from 02:00 to 03:00
    ]
    assert outcome(rule, values) == [
        utc(2024, 1, 31, 9),
        utc(2024, 7, 1, 8),
        utc(2024, 10, 27, 0, 30),
        utc(2024, 1, 31, 5),
        Reject(
            "'2024-03-31 02:30:00' does not exist in Europe/Berlin "
            "(skipped by a daylight saving change)"
        ),
    ]
    new_york = {"type": "datetime", "timezone": "America/New_York"}
    assert outcome(new_york, ["2024-11-03 01:30:00", "2024-03-10 02:30:00"]) == [
        utc(2024, 11, 3, 5, 30),
        Reject(
            "'2024-03-10 02:30:00' does not exist in America/New_York "
            "(skipped by a daylight saving change)"
        ),
    ]


def test_datetime_with_formats() -> None:
    rule = {"type": "datetime", "format": "%d.%m.%Y %H:%M", "timezone": "Europe/Berlin"}
    assert outcome(rule, ["31.01.2024 10:00", "2024-01-31 10:00"]) == [
        utc(2024, 1, 31, 9),
        Reject("'2024-01-31 10:00' is not a datetime in format %d.%m.%Y %H:%M"),
    ]
    offset = {"type": "datetime", "format": "%Y-%m-%d %H:%M:%S%z", "timezone": "Asia/Tokyo"}
    assert outcome(offset, ["2024-01-31 10:00:00+0100"]) == [utc(2024, 1, 31, 9)]
    epoch = {"type": "datetime", "format": "%s", "timezone": "Europe/Berlin"}
    assert outcome(epoch, ["1706695200"]) == [utc(2024, 1, 31, 10)]
    zulu = {"type": "datetime", "format": "%Y-%m-%dT%H:%M:%SZ", "timezone": "Europe/Berlin"}
    assert outcome(zulu, ["2024-01-31T10:00:00Z"]) == [utc(2024, 1, 31, 10)]


def test_datetime_from_typed_values() -> None:
    rule = {"type": "datetime", "timezone": "Europe/Berlin"}
    naive = [datetime(2024, 7, 1, 10), datetime(2024, 3, 31, 2, 30)]
    assert outcome(rule, naive, pl.Datetime("ms")) == [
        utc(2024, 7, 1, 8),
        Reject(
            "'2024-03-31T02:30:00' does not exist in Europe/Berlin "
            "(skipped by a daylight saving change)"
        ),
    ]
    aware = pl.Series([utc(2024, 7, 1, 8)]).dt.convert_time_zone("America/Chicago")
    assert outcome(rule, aware.to_list(), aware.dtype) == [utc(2024, 7, 1, 8)]
    assert outcome(rule, [date(2024, 1, 31)], pl.Date) == [utc(2024, 1, 30, 23)]


# ---------------------------------------------------------------------------------- json


def test_json_text() -> None:
    values = ['{"a": 1}', "[1, 2]", "null", '"x"', " 3 ", "{bad", "", "{'a': 1}"]
    assert outcome({"type": "json"}, values) == [
        '{"a": 1}',
        "[1, 2]",
        "null",
        '"x"',
        "3",
        Reject("'{bad' is not valid JSON"),
        None,
        Reject("'{'a': 1}' is not valid JSON"),
    ]


def test_json_from_typed_values() -> None:
    assert outcome({"type": "json"}, [3, None], pl.Int64) == ["3", None]
    assert outcome({"type": "json"}, [2.5], pl.Float64) == ["2.5"]
    assert outcome({"type": "json"}, [True], pl.Boolean) == ["true"]
    assert outcome({"type": "json"}, [date(2024, 1, 1)], pl.Date) == ['"2024-01-01"']


def _suite_cases() -> list[tuple[str, str]]:
    folder = PEERS / "json-test-suite" / "test_parsing"
    cases = []
    for path in sorted(folder.glob("[yn]_*.json")):
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue  # not text: a reader's concern, not the json type's
        if text.strip() and len(text) < 5000:
            cases.append((path.name, text))
    return cases


def test_json_type_follows_json_test_suite() -> None:
    """y_ documents are accepted as they are, n_ documents are rejected (RFC 8259)."""
    cases = _suite_cases()
    assert len(cases) > 250
    results = outcome({"type": "json"}, [text for _, text in cases])
    wrong = [
        name
        for (name, text), result in zip(cases, results, strict=True)
        if name.startswith("y_") != (result == text.strip())
    ]
    assert wrong == []


def test_json_nesting_limit() -> None:
    """Polars' parser stops at 128 levels: deeper documents are rejected, never a crash."""
    deep, deeper = "[" * 127 + "]" * 127, "[" * 128 + "]" * 128
    results = outcome({"type": "json"}, [deep, deeper])
    assert results[0] == deep
    assert isinstance(results[1], Reject)


# ------------------------------------------------------------------------- peer examples


CSVKIT = PEERS / "csvkit-examples" / "examples"


def _read_text_csv(name: str) -> pl.DataFrame:
    return pl.read_csv(CSVKIT / name, infer_schema=False)


def test_csvkit_locale_example() -> None:
    """test_locale.csv read as de_DE gives test_locale_converted.csv."""
    spec = MappingSpec.model_validate(
        {
            "target": {"table": "t"},
            "fields": {
                "a": {"type": "float", "decimal_separator": ",", "thousands_separator": "."},
                "b": {"type": "integer", "decimal_separator": ",", "thousands_separator": "."},
                "c": {"type": "float"},
            },
        }
    )
    mapped = compile_mapping(spec).apply(_read_text_csv("test_locale.csv"))
    expected = pl.read_csv(CSVKIT / "test_locale_converted.csv")
    assert mapped.rejects.height == 0
    assert mapped.good.select("a", "b").rows() == expected.select("a", "b").rows()
    assert mapped.good["c"].to_list() == [None]


@pytest.mark.parametrize(
    ("source", "fmt"),
    [("test_date_format.csv", "%d/%m/%Y"), ("test_numeric_date_format.csv", "%Y%m%d")],
)
def test_csvkit_date_format_examples(source: str, fmt: str) -> None:
    spec = MappingSpec.model_validate(
        {"target": {"table": "t"}, "fields": {"a": {"type": "date", "format": fmt}}}
    )
    mapped = compile_mapping(spec).apply(_read_text_csv(source))
    expected = _read_text_csv("test_date_format_converted.csv")
    assert [d.isoformat() for d in mapped.good["a"]] == expected["a"].to_list()


def test_csvkit_values_that_must_not_be_reinterpreted() -> None:
    """'4.5' is not a date; '01' and '00.11' stay text in a string field."""
    frame = _read_text_csv("date_like_number.csv")
    dated = MappingSpec.model_validate(
        {"target": {"table": "t"}, "fields": {"a": {"type": "date"}}}
    )
    assert compile_mapping(dated).apply(frame).rejects["_error"].to_list() == [
        "a (a): '4.5' is not an ISO 8601 date"
    ]
    zeros = MappingSpec.model_validate(
        {"target": {"table": "t"}, "fields": {"a": {}, "b": {}, "c": {"type": "float"}}}
    )
    good = compile_mapping(zeros).apply(_read_text_csv("test_no_leading_zeroes.csv")).good
    assert good.select("a", "b", "c").rows() == [("01", "00.11", 0.1)]


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
