"""Uploads are typed by their bytes: what is accepted, what is refused, and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.web.errors import EmptyUpload, UnsupportedType
from conveyor.web.sniff import HEAD_BYTES, sniff_file
from tests.web.samples import ACCEPTED, REFUSED


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.part"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("name", "data", "fmt"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_kinds_are_recognised_by_content(
    tmp_path: Path, name: str, data: bytes, fmt: str
) -> None:
    assert sniff_file(_file(tmp_path, data)).format == fmt


@pytest.mark.parametrize(("name", "data", "words"), REFUSED, ids=[r[0] for r in REFUSED])
def test_other_kinds_are_refused_naming_the_accepted_formats(
    tmp_path: Path, name: str, data: bytes, words: str
) -> None:
    with pytest.raises(UnsupportedType) as caught:
        sniff_file(_file(tmp_path, data))
    assert words in str(caught.value)
    assert "Accepted: CSV" in str(caught.value) and "XLSX, JSON, NDJSON or XML" in str(caught.value)


def test_an_empty_upload_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmptyUpload, match="empty"):
        sniff_file(_file(tmp_path, b""))


def test_a_multibyte_character_cut_by_the_head_is_not_an_error(tmp_path: Path) -> None:
    # "с" (Cyrillic) is D1 81 in UTF-8, and 81 is no character in Windows-1252: the file is
    # only readable as UTF-8, and after one "a" the head ends between the two bytes of one.
    data = ("a" + "с" * HEAD_BYTES).encode()
    assert data[HEAD_BYTES - 1 : HEAD_BYTES] == b"\xd1"
    assert sniff_file(_file(tmp_path, data)).format == "csv"


def test_a_long_ndjson_head_ignores_its_cut_last_line(tmp_path: Path) -> None:
    record = b'{"id": 1, "text": "' + b"y" * 100 + b'"}\n'
    data = record * (HEAD_BYTES // len(record) + 5)
    assert sniff_file(_file(tmp_path, data)).format == "ndjson"


def test_a_single_json_object_per_file_is_plain_json(tmp_path: Path) -> None:
    assert sniff_file(_file(tmp_path, b'{"data": [{"id": 1}]}')).format == "json"
