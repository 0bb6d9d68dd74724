"""The streaming JSON reader: shapes, flattening, the type policy, rejects and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor.errors import SourceError
from conveyor.formats import read_source
from conveyor.formats.base import Batch, ReadResult, SourceOptions
from conveyor.formats.json import MAX_DEPTH, read
from conveyor.formats.json_scan import ScanError, Scanner
from tests.formats.support import load_with, problem_with, rows, write_file
from tests.helpers import PEER

OLINGO = PEER / "olingo-odata2" / "test-resources"


write = write_file


def load(path: Path, **options: Any) -> tuple[ReadResult, list[Batch]]:
    return load_with(read, path, **options)


def problem(path: Path, **options: Any) -> str:
    return problem_with(read, path, **options)


# --- shapes --------------------------------------------------------------------------------


def test_array_of_objects(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}]')
    result, batches = load(path)
    assert result.info.format == "json"
    assert result.info.columns == ["id", "name"]
    assert result.info.extra == {"shape": "array", "json_columns": []}
    assert result.info.options.format == "json"
    assert len(batches) == 1
    assert batches[0].data.schema == pl.Schema(
        {"id": pl.Int64, "name": pl.String, "__row": pl.Int64}
    )
    assert rows(batches) == [
        {"id": 1, "name": "Ann", "__row": 1},
        {"id": 2, "name": "Bob", "__row": 2},
    ]
    assert batches[0].rejects is None
    assert batches[0].position == path.stat().st_size


def test_read_source_dispatches_json(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"a": true}]')
    result = read_source(path)
    assert [b.data.to_dicts() for b in result.batches] == [[{"a": True, "__row": 1}]]


def test_utf8_bom_and_leading_whitespace_are_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", b'\xef\xbb\xbf \n\t[{"a": "\xc3\xa9"}]')
    assert rows(load(path)[1]) == [{"a": "é", "__row": 1}]


def test_object_with_record_path(tmp_path: Path) -> None:
    text = '{"meta": {"count": 2}, "data": {"items": [{"id": 1}, {"id": 2}]}, "after": [1]}'
    path = write(tmp_path, "o.json", text)
    result, batches = load(path, record_path="data.items")
    assert result.info.extra["shape"] == "object"
    assert rows(batches) == [{"id": 1, "__row": 1}, {"id": 2, "__row": 2}]


def test_olingo_feed_with_record_path() -> None:
    result, batches = load(OLINGO / "JsonTeams.json", record_path="d.results")
    assert result.info.columns == [
        "__metadata.id",
        "__metadata.uri",
        "__metadata.type",
        "Id",
        "Name",
        "isScrumTeam",
        "nt_Employees.__deferred.uri",
    ]
    assert [(r["Id"], r["Name"], r["isScrumTeam"]) for r in rows(batches)] == [
        ("1", "Team 1", False),
        ("2", "Team 2", True),
    ]


def test_top_level_object_without_record_path_lists_candidates() -> None:
    with pytest.raises(SourceError) as caught:
        load(OLINGO / "JsonTeams.json")
    assert caught.value.problem == (
        "the top level is a JSON object, not an array of records: "
        "set source.record_path to one of: d.results"
    )


def test_candidates_are_arrays_of_objects_near_the_top(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "numbers": [1, 2],
            "data": {"items": [{"a": 1}], "empty": []},
            "deep": {"a": {"b": {"c": {"d": [{"x": 1}]}}}},
            "rows": [{"inner": [{"y": 1}]}],
        }
    )
    path = write(tmp_path, "o.json", text)
    assert problem(path).endswith("set source.record_path to one of: data.items, rows")


def test_a_single_record_object_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "one.json", '{\n  "id": 1,\n  "name": "Ann"\n}\n')
    assert problem(path).startswith(
        "the top level is a JSON object with no array of objects near its top"
    )


def test_record_path_not_found(tmp_path: Path) -> None:
    path = write(tmp_path, "o.json", '{"data": {"rows": [{"a": 1}]}}')
    assert problem(path, record_path="data.items") == (
        "source.record_path 'data.items' was not found; arrays of objects found: data.rows"
    )


def test_record_path_to_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, "o.json", '{"data": {"items": {"a": 1}}}')
    assert problem(path, record_path="data.items") == (
        "source.record_path 'data.items' is not an array (it holds start_map)"
    )


def test_record_path_to_an_empty_array(tmp_path: Path) -> None:
    path = write(tmp_path, "o.json", '{"data": {"items": []}}')
    result, batches = load(path, record_path="data.items")
    assert result.info.columns == []
    assert batches == []


def test_record_path_on_a_top_level_array(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"a": 1}]')
    assert "remove record_path" in problem(path, record_path="data")


def test_empty_array(tmp_path: Path) -> None:
    result, batches = load(write(tmp_path, "a.json", " [ ] "))
    assert (result.info.columns, batches) == ([], [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty: expected a JSON array of records"),
        (" \n ", "the file is empty: expected a JSON array of records"),
        ("42", "not a JSON array of records: the top level is a number"),
        ('"x"', "not a JSON array of records: the top level is a string"),
        ("null", "not a JSON array of records: the top level is null"),
        ("true", "not a JSON array of records: the top level is a boolean"),
        (
            "id,name\n1,Ann\n",
            "not a JSON array of records: the file is not JSON (it starts with 'i')",
        ),
    ],
)
def test_not_an_array_of_records(tmp_path: Path, text: str, expected: str) -> None:
    assert problem(write(tmp_path, "x.json", text)) == expected


def test_utf16_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"a": 1}]'.encode("utf-16"))
    assert (
        problem(path) == "the file looks UTF-16 or UTF-32 encoded; JSON must be UTF-8: convert it"
    )


# --- NDJSON --------------------------------------------------------------------------------


def test_ndjson_by_suffix_numbers_rows_by_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.ndjson", '{"a": 1}\n\n{"a": 2, "b": "x"}\r\n  \n{"b": "y"}')
    result, batches = load(path)
    assert result.info.extra["shape"] == "ndjson"
    assert rows(batches) == [
        {"a": 1, "b": None, "__row": 1},
        {"a": 2, "b": "x", "__row": 3},
        {"a": None, "b": "y", "__row": 5},
    ]


def test_ndjson_detected_from_content(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '{"a": 1}\n{"a": 2}\n')
    result, batches = load(path)
    assert result.info.extra["shape"] == "ndjson"
    assert [r["a"] for r in rows(batches)] == [1, 2]


def test_jsonl_lines_that_are_not_objects_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "a.jsonl", '{"a": 1}\n[1, 2]\n"x"\n')
    _, batches = load(path)
    assert rows(batches) == [{"a": 1, "__row": 1}]
    rejects = batches[0].rejects
    assert rejects is not None
    assert rejects.to_dicts() == [
        {"_value": "[1, 2]", "__row": 2, "_error": "record 2 is an array, not a JSON object"},
        {"_value": '"x"', "__row": 3, "_error": "record 3 is a string, not a JSON object"},
    ]


def test_ndjson_invalid_line_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.ndjson", '{"a": 1}\n{"a": 2,}\n')
    assert problem(path) == (
        "line 2 is not valid JSON: Expecting property name enclosed in double quotes (column 9)"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"a": NaN}', "line 1 is not valid JSON: NaN is not a JSON value"),
        (b'{"a": "\xff"}', "line 1 is not valid JSON: text that is not UTF-8 (invalid start byte)"),
        (
            b'{"a": "\\ud800"}',
            "line 1: the escape \\ud800 is half of a UTF-16 pair without its other half",
        ),
    ],
)
def test_ndjson_line_errors(tmp_path: Path, line: bytes, expected: str) -> None:
    assert problem(write(tmp_path, "a.ndjson", line + b"\n")) == expected


def test_ndjson_keeps_numbers_exact(tmp_path: Path) -> None:
    path = write(tmp_path, "a.ndjson", '{"x": 1.10}\n{"x": 1e400}\n{"x": 12345678901234567890}\n')
    assert [r["x"] for r in rows(load(path)[1])] == ["1.10", "1E+400", "12345678901234567890"]


def test_ndjson_with_record_path_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a.ndjson", '{"a": 1}\n')
    assert (
        problem(path, record_path="a") == "source.record_path does not apply to NDJSON; remove it"
    )


# --- records -------------------------------------------------------------------------------


NESTED = {
    "id": 1,
    "address": {"city": "Köln", "geo": {"lat": 50.94, "lon": 6.96}},
    "tags": ["a", {"b": 1}],
    "empty": {},
}


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (
            None,
            {
                "id": 1,
                "address.city": "Köln",
                "address.geo.lat": "50.94",
                "address.geo.lon": "6.96",
                "tags": '["a", {"b": 1}]',
                "empty": "{}",
            },
        ),
        (
            1,
            {
                "id": 1,
                "address.city": "Köln",
                "address.geo": '{"lat": 50.94, "lon": 6.96}',
                "tags": '["a", {"b": 1}]',
                "empty": "{}",
            },
        ),
        (
            0,
            {
                "id": 1,
                "address": '{"city": "Köln", "geo": {"lat": 50.94, "lon": 6.96}}',
                "tags": '["a", {"b": 1}]',
                "empty": "{}",
            },
        ),
    ],
)
def test_flatten_depth(tmp_path: Path, depth: int | None, expected: dict[str, Any]) -> None:
    path = write(tmp_path, "a.json", json.dumps([NESTED], ensure_ascii=False))
    result, batches = load(path, flatten_depth=depth)
    assert rows(batches) == [{**expected, "__row": 1}]
    assert result.info.columns == list(expected)
    json_columns = [c for c in expected if c in ("address", "address.geo", "tags", "empty")]
    assert result.info.extra["json_columns"] == json_columns


def test_type_policy_per_batch_and_column(tmp_path: Path) -> None:
    records = [
        {"i": 1, "b": True, "f": 1.10, "big": 2**63 - 1, "mix": 1, "n": None},
        {"i": -2, "b": False, "f": 2, "big": 2**63, "mix": "x", "n": None},
        {"i": 3, "b": True, "f": 1e400, "big": -(2**63), "mix": True, "n": None},
    ]
    text = json.dumps(records).replace("Infinity", "1e400").replace("1.1,", "1.10,")
    _, batches = load(write(tmp_path, "a.json", text))
    data = batches[0].data
    assert data.schema == pl.Schema(
        {
            "i": pl.Int64,
            "b": pl.Boolean,
            "f": pl.String,
            "big": pl.String,
            "mix": pl.String,
            "n": pl.String,
            "__row": pl.Int64,
        }
    )
    assert data["f"].to_list() == ["1.10", "2", "1E+400"]
    assert data["big"].to_list() == [
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
    ]
    assert data["mix"].to_list() == ["1", "x", "true"]
    assert data["n"].to_list() == [None, None, None]


def test_batches_type_and_columns_independently(tmp_path: Path) -> None:
    text = '[{"a": 1}, {"a": 2}, {"a": "x", "b": true}, {"a": 4}, {"c": null}]'
    result, batches = load(write(tmp_path, "a.json", text), batch_size=2)
    assert result.info.columns == ["a"]
    assert [b.data.schema for b in batches] == [
        pl.Schema({"a": pl.Int64, "__row": pl.Int64}),
        pl.Schema({"a": pl.String, "b": pl.Boolean, "__row": pl.Int64}),
        pl.Schema({"c": pl.String, "__row": pl.Int64}),
    ]
    assert [b.data["__row"].to_list() for b in batches] == [[1, 2], [3, 4], [5]]
    positions = [b.position for b in batches]
    assert positions == sorted(positions)
    assert positions[-1] == len(text)


def test_elements_that_are_not_objects_are_rejected(tmp_path: Path) -> None:
    text = '[1.50, {"a": 1}, "x", null, [1, {"b": 2}], true, {"a": 2}]'
    _, batches = load(write(tmp_path, "a.json", text))
    assert rows(batches) == [{"a": 1, "__row": 2}, {"a": 2, "__row": 7}]
    rejects = batches[0].rejects
    assert rejects is not None
    assert rejects.schema == pl.Schema(
        {"_value": pl.String, "__row": pl.Int64, "_error": pl.String}
    )
    assert rejects.to_dicts() == [
        {"_value": "1.50", "__row": 1, "_error": "record 1 is a number, not a JSON object"},
        {"_value": '"x"', "__row": 3, "_error": "record 3 is a string, not a JSON object"},
        {"_value": "null", "__row": 4, "_error": "record 4 is null, not a JSON object"},
        {
            "_value": '[1, {"b": 2}]',
            "__row": 5,
            "_error": "record 5 is an array, not a JSON object",
        },
        {"_value": "true", "__row": 6, "_error": "record 6 is a boolean, not a JSON object"},
    ]


def test_a_batch_of_rejects_only_has_an_empty_data_frame(tmp_path: Path) -> None:
    _, batches = load(write(tmp_path, "a.json", "[1, 2]"))
    assert batches[0].data.schema == pl.Schema({"__row": pl.Int64})
    assert batches[0].data.height == 0
    assert batches[0].rejects is not None and batches[0].rejects.height == 2


def test_keys_that_collide_once_flattened_reject_the_record(tmp_path: Path) -> None:
    text = '[{"a.b": 1, "a": {"b": 2}}, {"a": {"b": 3}}]'
    _, batches = load(write(tmp_path, "a.json", text))
    assert rows(batches) == [{"a.b": 3, "__row": 2}]
    assert batches[0].rejects is not None
    assert batches[0].rejects.to_dicts() == [
        {
            "_value": '{"a.b": 1, "a": {"b": 2}}',
            "__row": 1,
            "_error": "record 1: two keys give the column 'a.b' once flattened",
        }
    ]


def test_a_key_named_like_an_internal_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"__row": 1}]')
    assert problem(path) == (
        "record 1 has the key '__row', which Conveyor uses itself; rename it in the file"
    )


def test_duplicate_keys_keep_the_last_value(tmp_path: Path) -> None:
    _, batches = load(write(tmp_path, "a.json", '[{"a": 1, "a": 2}]'))
    assert rows(batches) == [{"a": 2, "__row": 1}]


# --- errors --------------------------------------------------------------------------------


def test_invalid_json_after_good_records(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"a": 1}, {"a": 2}, {"a": 3,]')
    result = read(path, SourceOptions(batch_size=1))
    first = next(result.batches)
    assert first.data["a"].to_list() == [1]
    with pytest.raises(SourceError) as caught:
        list(result.batches)
    assert caught.value.problem.startswith("invalid JSON after record 2 (near byte 30): ")


def test_invalid_json_in_the_first_batch_raises_from_read(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"a": 1}, {"a": tru}]')
    assert problem(path).startswith("invalid JSON after record 1 (near byte 22): lexical error")


def test_truncated_array(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '[{"a": 1}, {"a"')
    assert problem(path) == "invalid JSON after record 1 (near byte 15): parse error: premature EOF"


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert problem(path) == (f"invalid JSON near byte 0: nesting is deeper than {MAX_DEPTH} levels")


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    inner = "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)
    _, batches = load(write(tmp_path, "a.json", f'[{{"a": {inner}}}]'))
    assert rows(batches)[0]["a"] == json.dumps(json.loads(inner))


def test_form_feed_is_not_whitespace(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", b'[{"a": 1},\x0c{"a": 2}]')
    assert problem(path) == ("invalid JSON near byte 10: a form feed, which JSON does not allow")


def test_surrogate_pairs_straddling_read_chunks(tmp_path: Path) -> None:
    # ijson reads 64 KiB at a time: put an escaped pair across that boundary.
    pad = "x" * (65536 - len('[{"a": "') - 3)
    path = write(tmp_path, "a.json", '[{"a": "' + pad + '\\ud83d\\ude00"}]')
    assert rows(load(path)[1])[0]["a"] == pad + "😀"


# --- the scanner under random chunking -------------------------------------------------------

JSON_VALUES = st.recursive(
    # codec="utf-8": no lone surrogates, which no valid JSON text can carry as characters
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=4), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans(), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_scanner_accepts_valid_json_however_it_is_cut(
    value: object, ascii_only: bool, cuts: list[int]
) -> None:
    data = json.dumps([value], ensure_ascii=ascii_only).encode("utf-8")
    scanner = Scanner()
    start = 0
    for cut in sorted({min(c, len(data)) for c in cuts}):
        scanner.feed(data[start:cut])
        start = cut
    scanner.feed(data[start:])
    scanner.feed(b"")
    assert scanner.depth == 0


@pytest.mark.parametrize("cut", range(1, 14))
def test_scanner_finds_a_lone_surrogate_however_it_is_cut(cut: int) -> None:
    data = b'["\\ud800x", 1]'
    scanner = Scanner()
    with pytest.raises(ScanError, match=r"the escape \\ud800 is half of a UTF-16 pair"):
        scanner.feed(data[:cut])
        scanner.feed(data[cut:])
        scanner.feed(b"")


@pytest.mark.parametrize("cut", range(1, 10))
def test_scanner_tracks_escaped_quotes_and_backslashes_across_cuts(cut: int) -> None:
    data = b'["\\\\", "\\"[", "]"]'  # ["\\", "\"[", "]"]
    scanner = Scanner()
    scanner.feed(data[:cut])
    scanner.feed(data[cut:])
    assert scanner.depth == 0
