"""The JSON reader against JSONTestSuite (../shared/peer-suites/json-test-suite, README section 3).

Policy pinned here: the reader takes a top-level array (objects are records, any other element
is a reject with its JSON text in ``_value``), NDJSON, or an object with ``record_path``. So:

- every ``n_`` file raises ``SourceError`` (never another exception, never a hang);
- every ``y_`` file whose top level is an array is read, every element accounted for as a row
  or a reject with the same value; a ``y_`` file whose top level is a scalar is refused as
  "not a JSON array of records", one whose top level is an object as needing record_path;
- each ``i_`` file and each ``test_transform`` file has its pinned outcome in a table below.

Deviation from "parsers may accept" (i_ files): escaped UTF-16 surrogates that do not pair up
are refused, because yajl turns them into ``?`` or a wrong character and the value would change
silently; nesting deeper than 256 levels is refused (yajl has no limit).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from conveyor.errors import SourceError
from conveyor.formats.base import SourceOptions
from conveyor.formats.json import read
from conveyor.formats.nested import parse_json_text
from tests.helpers import PEER

SUITE = PEER / "json-test-suite"
PARSING = SUITE / "test_parsing"
TRANSFORM = SUITE / "test_transform"


def names(prefix: str) -> list[str]:
    return sorted(p.name for p in PARSING.glob(f"{prefix}*.json"))


def outcome(path: Path) -> tuple[str, object]:
    """("rows", data rows), ("rejects", the _value texts) or ("error", the problem)."""
    try:
        result = read(path, SourceOptions())
        batches = list(result.batches)
    except SourceError as exc:
        assert exc.path == str(path)
        return "error", exc.problem
    data = [row for b in batches for row in b.data.to_dicts()]
    rejects = [v for b in batches if b.rejects is not None for v in b.rejects["_value"]]
    return ("rows", data) if data else ("rejects", rejects)


def test_the_suite_is_present() -> None:
    assert (len(names("y_")), len(names("n_")), len(names("i_"))) == (95, 188, 35)
    assert len(list(TRANSFORM.glob("*.json"))) == 22


@pytest.mark.parametrize("name", names("n_"))
def test_n_files_are_refused(name: str) -> None:
    kind, _ = outcome(PARSING / name)
    assert kind == "error"


Y_OBJECTS = [n for n in names("y_") if n.startswith("y_object")]
Y_SCALARS = [
    "y_string_space.json",
    "y_structure_lonely_false.json",
    "y_structure_lonely_int.json",
    "y_structure_lonely_negative_real.json",
    "y_structure_lonely_null.json",
    "y_structure_lonely_string.json",
    "y_structure_lonely_true.json",
    "y_structure_string_empty.json",
]
Y_ARRAYS = [n for n in names("y_") if n not in Y_OBJECTS and n not in Y_SCALARS]


@pytest.mark.parametrize("name", Y_ARRAYS)
def test_y_arrays_are_read_with_every_element_accounted_for(name: str) -> None:
    path = PARSING / name
    elements = json.loads(path.read_bytes(), parse_float=Decimal)
    result = read(path, SourceOptions())
    batches = list(result.batches)
    objects = [e for e in elements if isinstance(e, dict)]
    others = [e for e in elements if not isinstance(e, dict)]
    assert sum(b.data.height for b in batches) == len(objects)
    rejected = [v for b in batches if b.rejects is not None for v in b.rejects["_value"]]
    assert [parse_json_text(v) for v in rejected] == others


def test_y_arrays_cover_the_array_files() -> None:
    assert len(Y_ARRAYS) == 75
    assert len(Y_OBJECTS) == 12


@pytest.mark.parametrize("name", Y_SCALARS)
def test_y_scalars_are_not_arrays_of_records(name: str) -> None:
    kind, problem = outcome(PARSING / name)
    assert kind == "error"
    assert str(problem).startswith("not a JSON array of records: the top level is ")


@pytest.mark.parametrize("name", Y_OBJECTS)
def test_y_objects_need_a_record_path(name: str) -> None:
    kind, problem = outcome(PARSING / name)
    assert kind == "error"
    assert str(problem).startswith("the top level is a JSON object")


def test_y_object_with_an_array_of_objects_names_it() -> None:
    assert outcome(PARSING / "y_object_long_strings.json") == (
        "error",
        "the top level is a JSON object, not an array of records: "
        "set source.record_path to one of: x",
    )


def test_y_numbers_keep_their_value_as_text() -> None:
    assert outcome(PARSING / "y_number_int_with_exp.json") == ("rejects", ["2.0E+2"])
    assert outcome(PARSING / "y_number_minus_zero.json") == ("rejects", ["0"])
    assert outcome(PARSING / "y_number_simple_real.json") == ("rejects", ["123.456789"])


NOT_UTF8 = "text that is not UTF-8 (invalid continuation byte)"
BAD_UTF8 = "lexical error: invalid bytes in UTF8 string."
UTF16 = "the file looks UTF-16 or UTF-32 encoded; JSON must be UTF-8: convert it"


def half_pair(escape: str) -> str:
    return (
        f"invalid JSON near byte 2: the escape {escape} is half of a UTF-16 pair "
        "without its other half"
    )


def first(problem: str, at: int) -> str:
    return f"invalid JSON before the first record (near byte {at}): {problem}"


I_OUTCOMES: dict[str, tuple[str, object]] = {
    "i_number_double_huge_neg_exp.json": ("rejects", ["1.23456E-787"]),
    "i_number_huge_exp.json": (
        "error",
        first("a number is out of range (its exponent is too large)", 137),
    ),
    "i_number_neg_int_huge_exp.json": ("rejects", ["-1E+9999"]),
    "i_number_pos_double_huge_exp.json": ("rejects", ["1.5E+9999"]),
    "i_number_real_neg_overflow.json": ("rejects", ["-1.23123E+100005"]),
    "i_number_real_pos_overflow.json": ("rejects", ["1.23123E+100005"]),
    "i_number_real_underflow.json": ("rejects", ["1.23E-9999998"]),
    "i_number_too_big_neg_int.json": ("rejects", ["-123123123123123123123123123123"]),
    "i_number_too_big_pos_int.json": ("rejects", ["100000000000000000000"]),
    "i_number_very_big_negative_int.json": (
        "rejects",
        ["-237462374673276894279832749832423479823246327846"],
    ),
    "i_object_key_lone_2nd_surrogate.json": ("error", half_pair("\\uDFAA")),
    "i_string_1st_surrogate_but_2nd_missing.json": ("error", half_pair("\\uDADA")),
    "i_string_1st_valid_surrogate_2nd_invalid.json": ("error", half_pair("\\uD888")),
    "i_string_UTF-16LE_with_BOM.json": ("error", UTF16),
    "i_string_UTF-8_invalid_sequence.json": ("error", first(BAD_UTF8, 10)),
    "i_string_UTF8_surrogate_U+D800.json": ("error", first(NOT_UTF8, 7)),
    "i_string_incomplete_surrogate_and_escape_valid.json": ("error", half_pair("\\uD800")),
    "i_string_incomplete_surrogate_pair.json": ("error", half_pair("\\uDd1e")),
    "i_string_incomplete_surrogates_escape_valid.json": ("error", half_pair("\\uD800")),
    "i_string_invalid_lonely_surrogate.json": ("error", half_pair("\\ud800")),
    "i_string_invalid_surrogate.json": ("error", half_pair("\\ud800")),
    "i_string_invalid_utf-8.json": ("error", first(BAD_UTF8, 5)),
    "i_string_inverted_surrogates_U+1D11E.json": ("error", half_pair("\\uDd1e")),
    "i_string_iso_latin_1.json": ("error", first(BAD_UTF8, 5)),
    "i_string_lone_second_surrogate.json": ("error", half_pair("\\uDFAA")),
    "i_string_lone_utf8_continuation_byte.json": ("error", first(BAD_UTF8, 5)),
    "i_string_not_in_unicode_range.json": ("error", first(NOT_UTF8, 8)),
    "i_string_overlong_sequence_2_bytes.json": (
        "error",
        first("text that is not UTF-8 (invalid start byte)", 6),
    ),
    "i_string_overlong_sequence_6_bytes.json": ("error", first(BAD_UTF8, 10)),
    "i_string_overlong_sequence_6_bytes_null.json": ("error", first(BAD_UTF8, 10)),
    "i_string_truncated-utf-8.json": ("error", first(BAD_UTF8, 6)),
    "i_string_utf16BE_no_BOM.json": ("error", UTF16),
    "i_string_utf16LE_no_BOM.json": ("error", UTF16),
    "i_structure_500_nested_arrays.json": (
        "error",
        "invalid JSON near byte 0: nesting is deeper than 256 levels",
    ),
    # A UTF-8 BOM is skipped; what is left is an object without record_path.
    "i_structure_UTF-8_BOM_empty_object.json": (
        "error",
        "the top level is a JSON object with no array of objects near its top: Conveyor reads "
        "a JSON array of records, one object per line (NDJSON), or an object with "
        "source.record_path set to the dotted path of its record array",
    ),
}


def test_every_i_file_has_a_pinned_outcome() -> None:
    assert sorted(I_OUTCOMES) == names("i_")


@pytest.mark.parametrize(("name", "expected"), sorted(I_OUTCOMES.items()))
def test_i_files(name: str, expected: tuple[str, object]) -> None:
    assert outcome(PARSING / name) == expected


TRANSFORM_OUTCOMES: dict[str, tuple[str, object]] = {
    # Numbers keep their digits; integers are exact, exponents written as Decimal does.
    "number_-9223372036854775808.json": ("rejects", ["-9223372036854775808"]),
    "number_-9223372036854775809.json": ("rejects", ["-9223372036854775809"]),
    "number_1.0.json": ("rejects", ["1.0"]),
    "number_1.000000000000000005.json": ("rejects", ["1.000000000000000005"]),
    "number_1000000000000000.json": ("rejects", ["1000000000000000"]),
    "number_10000000000000000999.json": ("rejects", ["10000000000000000999"]),
    "number_1e-999.json": ("rejects", ["1E-999"]),
    "number_1e6.json": ("rejects", ["1E+6"]),
    "number_9223372036854775807.json": ("rejects", ["9223372036854775807"]),
    "number_9223372036854775808.json": ("rejects", ["9223372036854775808"]),
    # Lone surrogates, escaped or encoded, are refused.
    "string_1_escaped_invalid_codepoint.json": ("error", half_pair("\\uD800")),
    "string_1_invalid_codepoint.json": ("error", first(NOT_UTF8, 7)),
    "string_2_escaped_invalid_codepoints.json": ("error", half_pair("\\uD800")),
    "string_2_invalid_codepoints.json": ("error", first(NOT_UTF8, 10)),
    "string_3_escaped_invalid_codepoints.json": ("error", half_pair("\\uD800")),
    "string_3_invalid_codepoints.json": ("error", first(NOT_UTF8, 13)),
    # An escaped NUL is kept as a character.
    "string_with_escaped_NULL.json": ("rejects", ['"A\\u0000B"']),
}

TRANSFORM_OBJECTS = [
    "object_key_nfc_nfd.json",
    "object_key_nfd_nfc.json",
    "object_same_key_different_values.json",
    "object_same_key_same_value.json",
    "object_same_key_unclear_values.json",
]


def test_every_transform_file_is_covered() -> None:
    covered = sorted([*TRANSFORM_OUTCOMES, *TRANSFORM_OBJECTS])
    assert covered == sorted(p.name for p in TRANSFORM.glob("*.json"))


@pytest.mark.parametrize(("name", "expected"), sorted(TRANSFORM_OUTCOMES.items()))
def test_transform_files(name: str, expected: tuple[str, object]) -> None:
    assert outcome(TRANSFORM / name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # NFC and NFD keys stay two distinct columns, in file order.
        ("object_key_nfc_nfd.json", {"\u00e9": "NFC", "e\u0301": "NFD"}),
        ("object_key_nfd_nfc.json", {"e\u0301": "NFD", "\u00e9": "NFC"}),
        # A repeated key keeps its last value; -0 reads as the integer 0.
        ("object_same_key_different_values.json", {"a": 2}),
        ("object_same_key_same_value.json", {"a": 1}),
        ("object_same_key_unclear_values.json", {"a": 0}),
    ],
)
def test_transform_objects_as_records(
    tmp_path: Path, name: str, expected: dict[str, object]
) -> None:
    # Top-level objects need a record_path, so each is read as the one record of an array.
    path = tmp_path / "wrapped.json"
    path.write_bytes(b"[" + (TRANSFORM / name).read_bytes() + b"]")
    assert outcome(path) == ("rows", [{**expected, "__row": 1}])
    assert outcome(TRANSFORM / name)[0] == "error"
