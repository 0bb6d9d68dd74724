"""Checks: each rule on the types it fits, the reasons, and what the spec refuses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from conveyor.errors import MappingError
from conveyor.mapping.checks import EMAIL_PATTERN, Checks, check_problems
from conveyor.mapping.compiler import compile_mapping
from conveyor.mapping.loader import parse_mapping
from conveyor.mapping.spec import MappingSpec
from conveyor.mapping.types import FieldType, ParseOptions


def errors(rule: dict[str, Any], values: list[Any], dtype: Any = pl.String) -> list[str | None]:
    """Per input value: the row's _error, or None when it was accepted."""
    spec = MappingSpec.model_validate({"target": {"table": "t"}, "fields": {"v": rule}})
    frame = pl.DataFrame(
        {"v": pl.Series(values, dtype=dtype), "__row": pl.int_range(len(values), eager=True)}
    )
    out = compile_mapping(spec).apply(frame)
    found: dict[int, str | None] = dict.fromkeys(out.good["__row"].to_list())
    found.update(zip(out.rejects["__row"], out.rejects["_error"], strict=True))
    return [found[i] for i in range(len(values))]


def test_regex_searches_the_value() -> None:
    rule = {"checks": {"regex": "^[A-Z]{2}[0-9]+$"}}
    assert errors(rule, ["DE123", "de123", None]) == [
        None,
        "v (v): 'de123' does not match ^[A-Z]{2}[0-9]+$",
        None,
    ]
    assert errors({"checks": {"regex": "x"}}, ["axb", "ab"]) == [
        None,
        "v (v): 'ab' does not match x",
    ]


@pytest.mark.parametrize(
    "address",
    ["a@b.co", "first.last+tag@sub.example.org", "o'brien@x.ie", "x_y-z@a-b.museum", "A@B.CO"],
)
def test_email_accepts(address: str) -> None:
    assert errors({"checks": {"email": True}}, [address]) == [None]


@pytest.mark.parametrize(
    "address",
    ["a@b", "@b.co", "a b@c.de", "a@-b.de", "a@b..de", "ä@b.de", "a@b.de.", "plain", "a@@b.de"],
)
def test_email_refuses(address: str) -> None:
    assert errors({"checks": {"email": True}}, [address]) == [
        f"v (v): '{address}' is not an email address"
    ]


def test_email_pattern_is_the_documented_one() -> None:
    assert EMAIL_PATTERN.startswith("^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@")


def test_min_max_on_numbers() -> None:
    rule = {"type": "integer", "checks": {"min": 0, "max": 100}}
    assert errors(rule, ["0", "100", "-1", "101", ""]) == [
        None,
        None,
        "v (v): '-1' is less than the minimum 0",
        "v (v): '101' is greater than the maximum 100",
        None,
    ]
    decimal = {
        "type": "decimal(10,2)",
        "decimal_separator": ",",
        "checks": {"min": "0.01", "max": 9.99},
    }
    assert errors(decimal, ["0,01", "0,00", "10,00"]) == [
        None,
        "v (v): '0,00' is less than the minimum 0.01",
        "v (v): '10,00' is greater than the maximum 9.99",
    ]
    floats = {"type": "float", "checks": {"min": -1.5}}
    assert errors(floats, ["-1.5", "-1.6"]) == [None, "v (v): '-1.6' is less than the minimum -1.5"]


def test_min_max_on_dates_and_datetimes() -> None:
    dated = {"type": "date", "format": "%d/%m/%Y", "checks": {"min": "2024-01-01"}}
    assert errors(dated, ["01/01/2024", "31/12/2023"]) == [
        None,
        "v (v): '31/12/2023' is before the minimum 2024-01-01",
    ]
    timed = {
        "type": "datetime",
        "timezone": "Europe/Berlin",
        "checks": {"max": "2024-01-01T00:00:00"},  # read in the field's zone: 23:00 UTC
    }
    assert errors(timed, ["2023-12-31T23:59:59", "2024-01-01 00:00:01", "2023-12-31T23:30Z"]) == [
        None,
        "v (v): '2024-01-01 00:00:01' is after the maximum 2024-01-01T00:00:00",
        "v (v): '2023-12-31T23:30Z' is after the maximum 2024-01-01T00:00:00",
    ]


def test_allowed() -> None:
    assert errors({"checks": {"allowed": ["a", "b"]}}, ["a", "c", None]) == [
        None,
        "v (v): 'c' is not one of 'a', 'b'",
        None,
    ]
    numbers = {"type": "integer", "checks": {"allowed": [1, 2, "3"]}}
    assert errors(numbers, ["3", "4"]) == [None, "v (v): '4' is not one of 1, 2, '3'"]
    flags = {"type": "boolean", "checks": {"allowed": [True]}}
    assert errors(flags, ["yes", "no"]) == [None, "v (v): 'no' is not one of true"]
    amounts = {"type": "decimal(5,2)", "checks": {"allowed": [1.5, "2.25"]}}
    assert errors(amounts, ["1.50", "2.26"]) == [None, "v (v): '2.26' is not one of 1.5, '2.25'"]


def test_max_length_counts_characters_and_cuts_long_values() -> None:
    assert errors({"checks": {"max_length": 3}}, ["äöü", "abcd"]) == [
        None,
        "v (v): 'abcd' is longer than 3 characters",
    ]
    long = "x" * 150
    assert errors({"checks": {"max_length": 120}}, [long]) == [
        f"v (v): '{'x' * 100}…' is longer than 120 characters"
    ]


def test_checks_apply_after_transforms_and_to_defaults() -> None:
    rule = {"transforms": ["strip", "upper"], "checks": {"allowed": ["A"]}, "default": "B"}
    assert errors(rule, [" a ", "", "c"]) == [
        None,
        "v (v): 'B' is not one of 'A'",
        "v (v): 'C' is not one of 'A'",
    ]


def test_every_broken_check_is_reported_in_order() -> None:
    rule = {"checks": {"regex": "^[a-z]+$", "email": True, "max_length": 3}}
    assert errors(rule, ["ABCD"]) == [
        "v (v): 'ABCD' does not match ^[a-z]+$; v (v): 'ABCD' is not an email address; "
        "v (v): 'ABCD' is longer than 3 characters"
    ]


def test_checks_do_not_run_on_values_that_failed_to_cast() -> None:
    rule = {"type": "integer", "checks": {"min": 0}}
    assert errors(rule, ["-x"]) == ["v (v): '-x' is not an integer"]


def test_typed_values_are_checked_and_quoted_as_text() -> None:
    rule = {"type": "float", "checks": {"max": 1}}
    assert errors(rule, [1.0, 2.5], pl.Float64) == [
        None,
        "v (v): '2.5' is greater than the maximum 1",
    ]


def test_check_problems_by_type() -> None:
    opts = ParseOptions()
    boolean, date_type = FieldType("boolean"), FieldType("date")
    assert check_problems(Checks(min=0, regex="x"), boolean, opts) == [
        (("regex",), "regex does not apply to a boolean field; it takes: allowed"),
        (("min",), "min does not apply to a boolean field; it takes: allowed"),
    ]
    assert check_problems(Checks(max_length=3), FieldType("json"), opts) == [
        (("max_length",), "max_length does not apply to a json field; it takes: none"),
    ]
    assert check_problems(Checks(min="2024-02-30", allowed=["x"]), date_type, opts) == [
        (("min",), "'2024-02-30' is not an ISO 8601 date"),
        (("allowed", 0), "'x' is not an ISO 8601 date"),
    ]
    assert check_problems(Checks(min=date(2024, 1, 1)), date_type, opts) == []
    assert Checks(min=date(2024, 1, 1)).min == "2024-01-01"
    assert check_problems(Checks(min=5, max=1), FieldType("integer"), opts) == [
        (("min",), "min 5 is greater than max 1")
    ]
    assert check_problems(Checks(min="1.234"), FieldType("decimal", 5, 2), opts) == [
        (("min",), "'1.234' has more than 2 decimals for decimal(5,2)")
    ]


def test_decimal_bounds_compare_exactly() -> None:
    rule = {"type": "decimal(38,10)", "checks": {"max": "0.0000000001"}}
    assert errors(rule, ["0.0000000001", "0.0000000002"]) == [
        None,
        "v (v): '0.0000000002' is greater than the maximum 0.0000000001",
    ]
    assert Decimal("0.0000000001") > 0


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        (
            "{min: 1}",
            "m.yaml:5: fields.v.checks.min: min does not apply to a string field; it takes: "
            "regex, email, allowed, max_length",
        ),
        (
            "{regex: '[a-'}",
            "m.yaml:5: fields.v.checks.regex: '[a-' is not a valid regular expression: "
            "unclosed character class",
        ),
        ("{max_length: 0}", "m.yaml:5: fields.v.checks.max_length: must be at least 1, got 0"),
        ("{allowed: []}", "m.yaml:5: fields.v.checks.allowed: must not be empty"),
        (
            "{email: sure}",
            "m.yaml:5: fields.v.checks.email: expected true or false, got 'sure'",
        ),
        (
            "{maxlength: 5}",
            "m.yaml:5: fields.v.checks.maxlength: 'maxlength' is not a known key (did you "
            "mean 'max_length'?); allowed keys: regex, email, min, max, allowed, max_length",
        ),
    ],
)
def test_check_errors_in_yaml(checks: str, message: str) -> None:
    text = f"target: {{table: t}}\nfields:\n  v:\n    type: string\n    checks: {checks}\n"
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, "m.yaml")
    assert str(caught.value) == message
