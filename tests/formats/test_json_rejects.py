"""The JSON rejects writer: the source's shape, nested records, and round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from conveyor.errors import ConfigError
from conveyor.formats import open_rejects, read_source
from conveyor.formats.base import SourceInfo, SourceOptions
from conveyor.formats.json import JsonRejectSink
from tests.helpers import PEER

OLINGO = PEER / "olingo-odata2" / "test-resources"


def info(
    shape: str, columns: list[str], record_path: str | None = None, **extra: Any
) -> SourceInfo:
    return SourceInfo(
        path=Path("source.json"),
        format="json",
        columns=columns,
        options=SourceOptions(format="json", record_path=record_path),
        extra={"shape": shape, "json_columns": [], **extra},
    )


def rejects(frame: dict[str, list[Any]]) -> pl.DataFrame:
    return pl.DataFrame(frame).with_columns(pl.col("__row").cast(pl.Int64))


def test_array_shape_text(tmp_path: Path) -> None:
    out = tmp_path / "rejects.json"
    sink = open_rejects(out, info("array", ["id", "address.city", "tags"], json_columns=["tags"]))
    assert isinstance(sink, JsonRejectSink)
    sink.write(
        rejects(
            {
                "id": [1, 2],
                "address.city": ["Köln", None],
                "tags": ['["a", 1.50]', None],
                "__row": [3, 7],
                "_error": ["bad id", "no city"],
            }
        )
    )
    sink.close()
    assert out.read_text(encoding="utf-8") == (
        "[\n"
        '{"id": 1, "address": {"city": "Köln"}, "tags": ["a", 1.50], '
        '"_row": 3, "_error": "bad id"},\n'
        '{"id": 2, "address": {"city": null}, "tags": null, "_row": 7, "_error": "no city"}\n'
        "]\n"
    )


def test_ndjson_shape_text(tmp_path: Path) -> None:
    out = tmp_path / "rejects.ndjson"
    with open_rejects(out, info("ndjson", ["a"])) as sink:  # type: ignore[attr-defined]
        sink.write(rejects({"a": ["x", "y"], "__row": [1, 4], "_error": ["e1", "e2"]}))
    assert out.read_text() == (
        '{"a": "x", "_row": 1, "_error": "e1"}\n{"a": "y", "_row": 4, "_error": "e2"}\n'
    )


def test_object_shape_wraps_the_records(tmp_path: Path) -> None:
    out = tmp_path / "rejects.json"
    sink = open_rejects(out, info("object", ["a"], record_path="d.results"))
    sink.write(rejects({"a": [1], "__row": [2], "_error": ["e"]}))
    sink.close()
    assert json.loads(out.read_text()) == {"d": {"results": [{"a": 1, "_row": 2, "_error": "e"}]}}


@pytest.mark.parametrize(
    ("shape", "record_path", "text"),
    [("array", None, "[\n]\n"), ("ndjson", None, ""), ("object", "a.b", '{"a": {"b": [\n]}}\n')],
)
def test_a_sink_given_nothing_writes_a_valid_empty_file(
    tmp_path: Path, shape: str, record_path: str | None, text: str
) -> None:
    out = tmp_path / "rejects.json"
    open_rejects(out, info(shape, ["a"], record_path=record_path)).close()
    assert out.read_text() == text


def test_row_and_error_replace_source_columns_and_come_last(tmp_path: Path) -> None:
    out = tmp_path / "rejects.json"
    sink = open_rejects(out, info("array", ["_error", "a", "_row"]))
    frame = rejects({"a": [1], "_row": [99], "__row": [5], "_error": ["new"], "extra": ["x"]})
    sink.write(frame)
    sink.close()
    assert out.read_text().splitlines()[1] == '{"a": 1, "extra": "x", "_row": 5, "_error": "new"}'


def test_columns_missing_from_the_frame_are_written_null(tmp_path: Path) -> None:
    out = tmp_path / "rejects.json"
    sink = open_rejects(out, info("array", ["a", "b"]))
    sink.write(rejects({"b": [True], "__row": [1], "_error": ["e"]}))
    sink.close()
    assert json.loads(out.read_text()) == [{"a": None, "b": True, "_row": 1, "_error": "e"}]


def test_reader_rejects_are_written_with_their_value(tmp_path: Path) -> None:
    out = tmp_path / "rejects.json"
    sink = open_rejects(out, info("array", ["a"]))
    frame = rejects(
        {"a": [None, None, 5], "_value": ["[1, 2.50]", "oops", None], "__row": [2, 3, 4]}
    ).with_columns(_error=pl.Series(["e", "f", "g"]))
    sink.write(frame)
    sink.close()
    assert out.read_text().splitlines()[1:4] == [
        '{"a": null, "_value": [1, 2.50], "_row": 2, "_error": "e"},',
        '{"a": null, "_value": "oops", "_row": 3, "_error": "f"},',
        '{"a": 5, "_row": 4, "_error": "g"}',
    ]


def test_a_rejects_file_that_cannot_be_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot write the rejects file"):
        open_rejects(tmp_path / "missing" / "rejects.json", info("array", ["a"]))


# --- round trips ---------------------------------------------------------------------------


def round_trip(source: Path, target: Path, **options: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read ``source``, write every row as a reject to ``target``, read that back."""
    opts = SourceOptions(**options)
    result = read_source(source, opts)
    read = pl.concat([b.data for b in result.batches], how="diagonal_relaxed")
    with open_rejects(target, result.info) as sink:  # type: ignore[attr-defined]
        sink.write(read.with_columns(_error=pl.lit("rejected")))
    again = read_source(target, opts)
    back = pl.concat([b.data for b in again.batches], how="diagonal_relaxed")
    assert back["_row"].to_list() == read["__row"].to_list()
    assert back["_error"].to_list() == ["rejected"] * read.height
    assert again.info.extra["shape"] == result.info.extra["shape"]
    return read.drop("__row"), back.drop("__row", "_row", "_error")


SAMPLE = [
    {
        "id": 1,
        "name": "Ann",
        "amount": "1.10",
        "tags": ["a", {"b": [1, 2.50]}],
        "address": {"city": "Köln", "geo": {"lat": 50.94}},
        "ok": True,
        "big": 123456789012345678901234,
    },
    {"id": 2, "name": None, "amount": 3, "tags": [], "address": {"city": "Bonn"}, "extra": {}},
    {"id": 3, "amount": "x", "address": None, "ok": False},
]


@pytest.mark.parametrize("depth", [None, 0, 1])
def test_round_trip_array(tmp_path: Path, depth: int | None) -> None:
    source = tmp_path / "s.json"
    source.write_text(json.dumps(SAMPLE, ensure_ascii=False).replace('"1.10"', "1.10"))
    read, back = round_trip(source, tmp_path / "r.json", flatten_depth=depth)
    assert_frame_equal(read, back.select(read.columns))


def test_round_trip_ndjson(tmp_path: Path) -> None:
    source = tmp_path / "s.ndjson"
    source.write_text("\n".join(json.dumps(r) for r in SAMPLE) + "\n")
    read, back = round_trip(source, tmp_path / "r.ndjson")
    assert_frame_equal(read, back.select(read.columns))


def test_round_trip_olingo_object_with_record_path(tmp_path: Path) -> None:
    source = OLINGO / "JsonBuildingWithInlineRoomsAndNextLinkAndCount.json"
    read, back = round_trip(source, tmp_path / "r.json", record_path="d.nb_Rooms.results")
    assert read.height == 1
    assert_frame_equal(read, back.select(read.columns))
