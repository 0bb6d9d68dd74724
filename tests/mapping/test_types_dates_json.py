"""Casting dates, datetimes and JSON, and the peer suites' value examples."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from conveyor.mapping.compiler import compile_mapping
from conveyor.mapping.spec import MappingSpec
from tests.helpers import PEER
from tests.mapping.support import Reject, outcome, utc

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
    folder = PEER / "json-test-suite" / "test_parsing"
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


CSVKIT = PEER / "csvkit-examples" / "examples"


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
