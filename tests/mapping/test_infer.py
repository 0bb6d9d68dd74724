"""Type inference, snake_case target names and the identity mapping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor.mapping.infer import TypeInferrer, identity_mapping, snake_case, target_names
from tests.helpers import PEER


def infer(*batches: dict[str, list[Any]] | pl.DataFrame) -> dict[str, str]:
    """Types after feeding the batches in order; plain dicts are read as text columns."""
    frames = [
        b if isinstance(b, pl.DataFrame) else pl.DataFrame(b, schema=dict.fromkeys(b, pl.String))
        for b in batches
    ]
    inferrer = TypeInferrer(frames[0].columns)
    for f in frames:
        inferrer.update(f)
    return inferrer.result()


def infer_one(*values: str | None) -> str:
    return infer({"c": list(values)})["c"]


# --- text values ------------------------------------------------------------------------------


def test_every_type_from_text_columns() -> None:
    assert infer(
        {
            "id": ["1", "-20", "+3", ""],
            "price": ["1.50", "-0.25", "", None],
            "born": ["2024-02-29", "1999-12-31", None, ""],
            "seen": ["2024-01-01T10:00", "2024-01-01 10:00:00.123+02:00", "2024-01-02T00:00Z", ""],
            "active": ["TRUE", "false", "True", None],
            "name": ["Ann", "Bob", "", None],
        }
    ) == {
        "id": "integer",
        "price": "decimal(3,2)",
        "born": "date",
        "seen": "datetime",
        "active": "boolean",
        "name": "string",
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["0", "10", "-0"], "integer"),
        (["007", "1"], "string"),  # a leading zero: probably a code
        (["-01"], "string"),
        (["-5", "-9223372036854775808"], "integer"),
        (["9223372036854775807"], "integer"),
        (["1,000"], "string"),
        (["1_000"], "string"),
        ([" 12"], "string"),  # no strip in an identity mapping: the cast would refuse it
        (["١٢"], "string"),  # Arabic-Indic digits
    ],
)
def test_integers(values: list[str], expected: str) -> None:
    assert infer_one(*values) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["0.5"], "decimal(2,1)"),
        (["-12.5", "3.125", "100"], "decimal(6,3)"),  # whole numbers widen into decimals
        ([".5"], "string"),
        (["5."], "string"),
        (["00.11"], "string"),
        (["1e5"], "string"),
        (["1.5E3"], "string"),
        (["1,5"], "string"),
        (["1.000.000"], "string"),
        (["NaN"], "string"),
        (["1." + "0" * 37], "decimal(38,37)"),
        (["1." + "0" * 38], "string"),  # precision 39
    ],
)
def test_decimals(values: list[str], expected: str) -> None:
    assert infer_one(*values) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["9223372036854775808"], "decimal(19,0)"),  # past int64: exact as a decimal
        (["-9223372036854775809", "1"], "decimal(19,0)"),
        (["9" * 38], "decimal(38,0)"),
        (["9" * 39], "string"),
        (["99999999999999999999", "0.5"], "decimal(21,1)"),
    ],
)
def test_whole_numbers_beyond_int64(values: list[str], expected: str) -> None:
    assert infer_one(*values) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2024-02-29", "2000-02-29"], "date"),
        (["2024-02-30"], "string"),
        (["2023-02-29"], "string"),
        (["2024-13-01"], "string"),
        (["2024-1-05"], "string"),
        (["0000-01-01"], "string"),
        (["02/01/2014"], "string"),
        (["20140102"], "integer"),
        (["2024-01-01", "2024-01-01T10:00"], "string"),  # date mixed with datetime
    ],
)
def test_dates(values: list[str], expected: str) -> None:
    assert infer_one(*values) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01T10:00", "datetime"),
        ("2024-01-01 10:00", "datetime"),
        ("2024-01-01T10:00:59", "datetime"),
        ("2024-01-01T10:00:59.123456789", "datetime"),
        ("2024-01-01T23:59:59Z", "datetime"),
        ("2024-01-01T10:00:00+02:00", "datetime"),
        ("2024-01-01T10:00:00-0530", "datetime"),
        ("2024-01-01T10:00+01:00", "datetime"),
        ("2024-01-01T24:00", "string"),
        ("2024-01-01T10:60", "string"),
        ("2024-01-01T10:00:60", "string"),
        ("2024-02-30T10:00", "string"),
        ("2024-01-01T10", "string"),
        ("2024-01-01t10:00", "string"),
        ("2024-01-01T10:00:00.", "string"),
        ("2024-01-01T10:00 UTC", "string"),
        ("2024-01-01T10:00:00+25:00", "string"),
    ],
)
def test_datetimes(value: str, expected: str) -> None:
    assert infer_one(value) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["true", "FALSE", "True"], "boolean"),
        (["yes", "no"], "string"),
        (["t", "f"], "string"),
        (["0", "1"], "integer"),
        (["true", "1"], "string"),
        (["true "], "string"),
    ],
)
def test_booleans_are_only_the_words_true_and_false(values: list[str], expected: str) -> None:
    assert infer_one(*values) == expected


def test_empty_columns_are_strings() -> None:
    assert infer({"blank": ["", ""], "null": [None, None]}) == {"blank": "string", "null": "string"}
    assert infer(pl.DataFrame({"n": [None, None]})) == {"n": "string"}  # dtype Null


def test_a_column_missing_from_every_batch_is_a_string() -> None:
    inferrer = TypeInferrer(["a", "b"])
    inferrer.update(pl.DataFrame({"a": ["1"]}))
    assert inferrer.result() == {"a": "integer", "b": "string"}


def test_extra_frame_columns_are_ignored() -> None:
    inferrer = TypeInferrer(["a"])
    inferrer.update(pl.DataFrame({"a": ["1"], "__row": [2], "b": ["x"]}))
    assert inferrer.result() == {"a": "integer"}


# --- across batches ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (["12345"], ["1.5"], "decimal(6,1)"),
        (["1.25"], ["123"], "decimal(5,2)"),
        (["1"], ["x"], "string"),
        (["x"], ["1"], "string"),
        (["2024-01-01"], ["2024-01-01 10:00"], "string"),
        (["true"], ["0"], "string"),
        (["1"], ["", None], "integer"),
        ([None], ["2024-01-01"], "date"),
        (["9223372036854775807"], ["9223372036854775808"], "decimal(19,0)"),
    ],
)
def test_batches_combine(first: list[str | None], second: list[str | None], expected: str) -> None:
    assert infer({"c": first}, {"c": second})["c"] == expected


def test_each_column_keeps_its_own_state_across_batches() -> None:
    assert infer(
        {"a": ["1"], "b": ["x"], "c": ["2024-01-01"]},
        {"a": ["2.5"], "b": ["1"], "c": [""]},
        {"a": ["-100"], "b": ["2"], "c": ["2024-12-31"]},
    ) == {"a": "decimal(4,1)", "b": "string", "c": "date"}


# --- typed source columns ---------------------------------------------------------------------


def test_typed_columns_map_directly() -> None:
    frame = pl.DataFrame(
        {
            "i": [1, None],
            "u": pl.Series([1, 2], dtype=pl.UInt8),
            "f": [1.0, 2.0],  # whole, but still float
            "b": [True, None],
            "d": [date(2024, 1, 1), None],
            "dt": [datetime(2024, 1, 1, tzinfo=UTC), None],
            "naive": [datetime(2024, 1, 1), None],
            "dec": pl.Series([Decimal("1.50"), None], dtype=pl.Decimal(10, 2)),
            "t": [time(10, 0), None],
            "lst": [[1], [2]],
            "nothing": pl.Series([None, None], dtype=pl.Float64),
        }
    )
    assert infer(frame) == {
        "i": "integer",
        "u": "integer",
        "f": "float",
        "b": "boolean",
        "d": "date",
        "dt": "datetime",
        "naive": "datetime",
        "dec": "decimal(10,2)",
        "t": "string",
        "lst": "string",
        "nothing": "string",
    }


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (pl.Series([1]), pl.Series([2.5]), "float"),
        (pl.Series([1.5]), pl.Series([10]), "float"),
        (pl.Series([1234567890123456]), pl.Series([0.5]), "string"),  # 16 digits: inexact
        (pl.Series([1]), pl.Series(["2"]), "integer"),
        (pl.Series([1]), pl.Series(["2.75"]), "decimal(3,2)"),
        (pl.Series([1]), pl.Series(["abc"]), "string"),
        (pl.Series([1.5]), pl.Series(["1.5"]), "string"),  # float with decimal text
        (pl.Series([True]), pl.Series(["false"]), "boolean"),
        (pl.Series([True]), pl.Series([1]), "string"),
        (pl.Series([date(2024, 1, 1)]), pl.Series(["2024-01-02"]), "date"),
        (pl.Series([date(2024, 1, 1)]), pl.Series([datetime(2024, 1, 1)]), "string"),
        (pl.Series([Decimal("1.5")], dtype=pl.Decimal(5, 1)), pl.Series([100000]), "decimal(7,1)"),
        (pl.Series([2**64 - 1], dtype=pl.UInt64), pl.Series([1]), "decimal(20,0)"),
    ],
)
def test_typed_batches_combine(first: pl.Series, second: pl.Series, expected: str) -> None:
    assert infer(pl.DataFrame({"c": first}), pl.DataFrame({"c": second}))["c"] == expected


def test_categorical_text_is_inferred_like_text() -> None:
    frame = pl.DataFrame({"c": pl.Series(["1", "2"], dtype=pl.Categorical)})
    assert infer(frame) == {"c": "integer"}


# --- csvkit's inference cases (peer suite) ----------------------------------------------------


def read_peer_csv(name: str) -> dict[str, str]:
    frame = pl.read_csv(PEER / "csvkit-examples" / "examples" / name, infer_schema=False)
    return infer(frame)


def test_peer_no_leading_zeroes() -> None:
    assert read_peer_csv("test_no_leading_zeroes.csv") == {
        "a": "string",  # "01"
        "b": "string",  # "00.11"
        "c": "decimal(2,1)",  # "0.1"
    }


def test_peer_number_that_looks_like_a_date() -> None:
    assert read_peer_csv("date_like_number.csv") == {"a": "decimal(2,1)"}  # "4.5"


def test_peer_precision_is_kept() -> None:
    assert read_peer_csv("test_precision.csv") == {"a": "decimal(7,6)"}  # "1.234567"


def test_peer_dates_in_other_formats_stay_text_or_numbers() -> None:
    assert read_peer_csv("test_date_format.csv") == {"a": "string"}  # 02/01/2014
    assert read_peer_csv("test_numeric_date_format.csv") == {"a": "integer"}  # 20140102


def test_peer_blank_words_are_text() -> None:
    # NA, N/A, NONE, NULL and "." are values, not blanks: no guessing of null words
    assert read_peer_csv("blanks.csv") == dict.fromkeys("abcdef", "string")


# --- target names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("E-mail Address", "e_mail_address"),
        ("FirstName", "first_name"),
        ("firstName", "first_name"),
        ("ID", "id"),
        ("userID", "user_id"),
        ("HTTPServer", "http_server"),
        ("Prix (€)", "prix"),
        ("Prénom", "prenom"),
        ("Straße", "strasse"),
        ("Ærø", "aero"),
        ("already_snake", "already_snake"),
        ("  Spaced   Out  ", "spaced_out"),
        ("a__b--c", "a_b_c"),
        ("Address2", "address2"),
        ("2nd Line", "c_2nd_line"),
        ("1", "c_1"),
        ("nested.field.name", "nested_field_name"),
        ("", ""),
        ("€ %", ""),
        ("名前", ""),
        ("x" * 70, "x" * 63),
    ],
)
def test_snake_case(name: str, expected: str) -> None:
    assert snake_case(name) == expected


def test_target_names_resolve_collisions_and_empty_names() -> None:
    assert target_names(["Name", "name", "NAME", "", "Email", "  ", "name_2"]) == {
        "Name": "name",
        "name": "name_3",  # name_2 is a column's own name: it keeps it
        "NAME": "name_4",
        "": "column_4",
        "Email": "email",
        "  ": "column_6",
        "name_2": "name_2",
    }


def test_target_names_leave_out_the_rejects_columns() -> None:
    assert target_names(["email", "_row", "_error", "row"]) == {"email": "email", "row": "row"}


def test_long_colliding_names_stay_within_63_characters() -> None:
    long = "n" * 80
    assert target_names([long, long.upper()]) == {long: "n" * 63, long.upper(): "n" * 61 + "_2"}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=12, unique=True))
def test_target_names_are_unique_identifiers(columns: list[str]) -> None:
    names = target_names(columns)
    assert list(names) == [c for c in columns if c not in ("_row", "_error")]
    assert len(set(names.values())) == len(names)
    for name in names.values():
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name), name


# --- the identity mapping ---------------------------------------------------------------------


def test_identity_mapping_without_a_key_inserts() -> None:
    columns = ["E-mail Address", "age", "Joined", "notes", "_row", "_error"]
    types = {"E-mail Address": "string", "age": "integer", "Joined": "date", "_row": "integer"}
    assert identity_mapping(columns, types, table="contacts") == {
        "target": {"table": "contacts", "mode": "insert"},
        "fields": {
            "e_mail_address": {"from": "E-mail Address"},
            "age": {"type": "integer"},
            "joined": {"from": "Joined", "type": "date"},
            "notes": {},
        },
    }


def test_identity_mapping_with_a_key_upserts_and_keeps_the_last_duplicate() -> None:
    mapping = identity_mapping(
        ["Email", "Amount"],
        {"Email": "string", "Amount": "decimal(12,2)"},
        table="payments",
        key=["Email"],
        name="payments",
        source={"format": "csv", "delimiter": ";"},
    )
    assert mapping == {
        "name": "payments",
        "source": {"format": "csv", "delimiter": ";"},
        "target": {"table": "payments", "key": ["email"], "mode": "upsert"},
        "dedupe": {"strategy": "last"},
        "fields": {
            "email": {"from": "Email"},
            "amount": {"from": "Amount", "type": "decimal(12,2)"},
        },
    }
    assert list(mapping) == ["name", "source", "target", "dedupe", "fields"]


def test_key_accepts_target_and_source_names_and_keeps_its_order() -> None:
    mapping = identity_mapping(
        ["Order No", "Line", "sku"], {}, table="lines", key=["line", "Order No", "order_no"]
    )
    assert mapping["target"] == {"table": "lines", "key": ["line", "order_no"], "mode": "upsert"}


def test_key_prefers_a_target_name_over_a_source_name() -> None:
    # "a_b" is the target name of "A B" and the source name of the column renamed a_b_2
    names = target_names(["A B", "a_b"])
    assert names == {"A B": "a_b", "a_b": "a_b_2"}
    mapping = identity_mapping(["A B", "a_b"], {}, table="t", key=["a_b"])
    assert mapping["target"]["key"] == ["a_b"]


def test_unknown_key_lists_the_columns() -> None:
    with pytest.raises(ValueError) as caught:
        identity_mapping(["E-mail", "name", "_row"], {}, table="t", key=["mail"])
    assert str(caught.value) == (
        "key 'mail' is not a column of this file; the columns: e_mail (from 'E-mail'), name"
    )


def test_a_rejects_column_cannot_be_the_key() -> None:
    with pytest.raises(ValueError, match="key '_row' is not a column of this file"):
        identity_mapping(["id", "_row"], {}, table="t", key=["_row"])
