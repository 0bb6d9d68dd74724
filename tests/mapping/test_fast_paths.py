"""The compiled mapping's faster forms give the results of the rules they stand for.

Each shortcut (a cheaper regular expression, a skipped branch, formats tried only where the
ones before failed, reasons built only for flagged rows, expressions kept per source schema)
is checked against the rule written plainly: in Python, or as the Polars expression it
replaced.
"""

from __future__ import annotations

import inspect
import re
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

import conveyor.mapping.fields
import conveyor.mapping.program
from conveyor.mapping.compiler import compile_mapping
from conveyor.mapping.spec import MappingSpec
from conveyor.mapping.transforms import apply_transforms
from tests.mapping.support import Reject, outcome, utc

FAST = settings(max_examples=150, deadline=None, database=None)
WHITESPACE = " \t\n\r\x0b\x0c\u00a0\u2003\u3000"


@FAST
@given(st.lists(st.text(alphabet="ab" + WHITESPACE, max_size=8), max_size=20))
def test_collapse_spaces_replaces_every_whitespace_run_by_one_space(values: list[str]) -> None:
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.String)})
    fast = frame.select(apply_transforms(pl.col("v"), ["collapse_spaces"]))
    plain = frame.select(pl.col("v").str.replace_all(r"\s+", " "))
    assert fast["v"].to_list() == plain["v"].to_list()


def _integer(text: str) -> object:
    """The integer rule: digits with an optional sign and an optional '.' and zeros."""
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"[+-]?[0-9]+(\.0*)?", text):
        return Reject(f"{text!r} is not an integer")
    number = int(text.split(".")[0])
    if not -(2**63) <= number < 2**63:
        return Reject(f"{text!r} is out of range for integer")
    return number


def _decimal(text: str) -> object:
    """The decimal(6,2) rule: '.' decimals, at most 2 once trailing zeros are dropped."""
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", text):
        return Reject(f"{text!r} is not a decimal(6,2)")
    decimals = text.partition(".")[2].rstrip("0")
    if len(decimals) > 2:
        return Reject(f"{text!r} has more than 2 decimals for decimal(6,2)")
    number = Decimal(text)
    if abs(number) >= 10**4:
        return Reject(f"{text!r} is out of range for decimal(6,2)")
    return number.quantize(Decimal("0.01"))


NUMBERS = st.text(alphabet="0123456789.+- ", max_size=6) | st.sampled_from(
    ["9223372036854775807", "9223372036854775808.0", "-9223372036854775808", "12.000", "1."]
)


@FAST
@given(st.lists(NUMBERS, max_size=20))
def test_integer_text_follows_the_rule(values: list[str]) -> None:
    assert outcome({"type": "integer"}, values) == [_integer(v) for v in values]


@FAST
@given(st.lists(NUMBERS, max_size=20))
def test_decimal_text_follows_the_rule(values: list[str]) -> None:
    assert outcome({"type": "decimal(6,2)"}, values) == [_decimal(v) for v in values]


def test_decimal_scale_with_separators() -> None:
    rule = {"type": "decimal(6,1)", "decimal_separator": ",", "thousands_separator": "."}
    assert outcome(rule, ["1.234,50", "1.234,56", "1.234,", ",5", "1.234.5"]) == [
        Decimal("1234.5"),
        Reject("'1.234,56' has more than 1 decimals for decimal(6,1)"),
        Decimal("1234"),
        Decimal("0.5"),
        Reject("'1.234.5' is not a decimal(6,1)"),
    ]


def _compiled(fields: dict[str, Any]) -> Any:
    spec = MappingSpec.model_validate({"target": {"table": "t"}, "fields": fields})
    return compile_mapping(spec)


def test_batches_with_other_dtypes_get_their_own_expressions() -> None:
    """Expressions are kept per source schema: a later batch whose column arrives typed
    (xlsx, json) must not reuse the text batch's."""
    mapping = _compiled({"n": {"type": "integer"}})
    as_text = mapping.apply(pl.DataFrame({"n": ["1", "x"]}))
    as_float = mapping.apply(pl.DataFrame({"n": [2.0, 2.5]}))
    again = mapping.apply(pl.DataFrame({"n": ["3"]}))
    assert as_text.good["n"].to_list() == [1]
    assert as_text.rejects["_error"].to_list() == ["n (n): 'x' is not an integer"]
    assert as_float.good["n"].to_list() == [2]
    assert as_float.rejects["_error"].to_list() == ["n (n): '2.5' is not an integer"]
    assert again.good["n"].to_list() == [3]


def test_reasons_follow_the_field_order_with_expr_fields_between() -> None:
    mapping = _compiled(
        {
            "a": {"type": "integer"},
            "twice": {"type": "integer", "expr": "a * 2", "checks": {"max": 10}},
            "b": {"type": "date"},
        }
    )
    out = mapping.apply(pl.DataFrame({"a": ["6", "1", "x"], "b": ["x", "2024-01-01", "y"]}))
    assert out.good.select("a", "twice").rows() == [(1, 2)]
    assert out.rejects["_error"].to_list() == [
        "twice (expr): '12' is greater than the maximum 10; b (b): 'x' is not an ISO 8601 date",
        "a (a): 'x' is not an integer; b (b): 'y' is not an ISO 8601 date",
    ]


def test_only_rows_with_problems_are_rejected_in_a_mostly_good_batch() -> None:
    """Reasons are built for flagged rows only; their rows must still line up."""
    values = [str(i) for i in range(1000)]
    values[10], values[500], values[999] = "a", "", "1e3"
    mapping = _compiled({"n": {"type": "integer", "required": True, "checks": {"min": 1}}})
    out = mapping.apply(pl.DataFrame({"n": values, "__row": range(1000)}))
    assert out.rejects.select("__row", "_error").rows() == [
        (0, "n (n): '0' is less than the minimum 1"),
        (10, "n (n): 'a' is not an integer"),
        (500, "n (n): required but empty"),
        (999, "n (n): '1e3' is not an integer"),
    ]
    assert out.good["n"].to_list() == [int(v) for v in values if v.isdigit() and v != "0"]
    assert out.good["__row"].to_list() == [i for i in range(1000) if i not in (0, 10, 500, 999)]


def test_formats_are_tried_in_order_only_on_the_rows_left() -> None:
    rule = {"type": "date", "formats": ["%d/%m/%Y", "%Y-%m-%d", "%m/%d/%Y"]}
    values = ["31/01/2024", None, "2024-02-01", "02/13/2024", "01/02/2024", " ", "x"]
    assert outcome(rule, values) == [
        date(2024, 1, 31),
        None,
        date(2024, 2, 1),
        date(2024, 2, 13),
        date(2024, 2, 1),  # the first format that reads it wins
        None,
        Reject("'x' is not a date in any of the formats %d/%m/%Y, %Y-%m-%d, %m/%d/%Y"),
    ]


def test_iso_datetimes_from_text_and_from_typed_numbers() -> None:
    values = ["2024-01-31T10:00:00+02:00", "2024-01-31 10:00", None, "2024-01-31", "1.5"]
    assert outcome({"type": "datetime"}, values) == [
        utc(2024, 1, 31, 8),
        utc(2024, 1, 31, 10),
        None,
        utc(2024, 1, 31),
        Reject("'1.5' is not an ISO 8601 datetime"),
    ]
    numbers = outcome({"type": "datetime"}, [1.5, None, 2.0], pl.Float64)
    assert numbers == [
        Reject("'1.5' is not an ISO 8601 datetime"),
        None,
        Reject("'2' is not an ISO 8601 datetime"),
    ]


def test_no_python_runs_per_row_in_the_stages() -> None:
    """As test_compiler checks for the compiler's other modules."""
    for module in (conveyor.mapping.fields, conveyor.mapping.program):
        source = inspect.getsource(module)
        assert "map_elements" not in source
        assert "map_batches" not in source
