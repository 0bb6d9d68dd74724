"""The export pipeline: a table, view or named query to a CSV, XLSX, JSON, NDJSON or XML file.

Stages: resolve (database, mapping, source, fields, filters) → stream (typed Polars batches
from a server-side cursor, or PostgreSQL's ``COPY (SELECT …) TO STDOUT`` for plain CSV) →
write (conveyor/formats/writers.py), through the mapping run backwards when one is given
(conveyor/export/reverse.py) → rename. The file is written under a temporary name beside the
final one and renamed only when complete, so a failed or interrupted export never leaves a
partial file under the name asked for; an existing file is replaced only with ``overwrite``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from conveyor.errors import ConfigError, ConveyorError
from conveyor.export.query import build_select, parse_filters
from conveyor.export.reverse import ReversePlan, reverse_plan, writer_options
from conveyor.export.rows import copy_csv, stream_frames
from conveyor.export.source import ExportSource, describe_source
from conveyor.formats.writers import ExportFormat, WriteOptions, open_writer
from conveyor.load.urls import create_engine, parse_url, translate_error
from conveyor.mapping import compile_mapping, load_mapping
from conveyor.mapping.spec import MappingSpec
from conveyor.schema import Column
from conveyor.settings import get_settings, redact_url

__all__ = [
    "ORDER_DIRECTIONS",
    "ExportReport",
    "ExportRequest",
    "export_table",
    "format_for",
    "options_from",
    "order_from",
]

#: progress(rows written so far, total rows or None when unknown)
ExportProgress = Callable[[int, int | None], None]
ExportStatus = Literal["succeeded", "failed"]

_SUFFIXES: dict[str, ExportFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".xml": "xml",
}


@dataclass(frozen=True)
class ExportRequest:
    """What to export, where, and how."""

    source: str  # a table, a view, or a named query (queries/NAME.sql)
    out: Path
    format: ExportFormat | None = None  # default: from the file name
    database: str | None = None  # default: $CONVEYOR_DATABASE_URL, else sqlite:///conveyor.db
    fields: Sequence[str] | None = None
    where: Sequence[tuple[str, str, str]] = ()  # (field, operator, value) as typed
    order_by: Sequence[tuple[str, bool]] = ()  # (field, descending)
    limit: int | None = None
    mapping: str | Path | MappingSpec | None = None
    overwrite: bool = False
    #: WriteOptions fields the user set (they win over the mapping's; see options_from)
    options: Mapping[str, Any] = field(default_factory=dict)
    mappings_dir: Path | None = None
    queries_dir: Path | None = None
    batch_rows: int = 50_000
    #: PostgreSQL plain CSV through COPY TO STDOUT; False sends it through the CSV writer
    #: instead (the same bytes, slower: for comparing the two)
    fast_copy: bool = True


@dataclass
class ExportReport:
    """The outcome of one export: the same numbers the CLI, the flow and its artifact show."""

    source: str
    format: str
    path: Path
    database: str
    status: ExportStatus = "succeeded"
    rows: int = 0
    bytes: int = 0
    duration_s: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "path": str(self.path),
            "database": self.database,
            "status": self.status,
            "rows": self.rows,
            "bytes": self.bytes,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "warnings": list(self.warnings),
        }


def format_for(path: Path, given: str | None = None) -> ExportFormat:
    """The export format: ``given``, else from the file name's suffix."""
    formats = get_args(ExportFormat)
    if given is not None:
        if given not in formats:
            raise ConfigError(f"unknown format {given!r}: use one of {', '.join(formats)}")
        return given  # type: ignore[return-value]
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise ConfigError(
            f"cannot tell the format of {path.name!r} from its name: pass --format "
            f"({', '.join(formats)}) or use a suffix among {', '.join(sorted(_SUFFIXES))}"
        )
    return found


ORDER_DIRECTIONS = ("asc", "desc")


def order_from(item: str) -> tuple[str, bool]:
    """``"FIELD"`` or ``"FIELD desc"`` (or ``asc``) as (field, descending)."""
    words = item.split()
    if len(words) == 2 and words[1].lower() in ORDER_DIRECTIONS:
        return words[0], words[1].lower() == "desc"
    if len(words) != 1:
        raise ConfigError(f"order by {item!r}: use FIELD or FIELD desc")
    return words[0], False


def options_from(
    delimiter: str | None = None,
    xml_root: str | None = None,
    xml_record: str | None = None,
    xml_namespace: str | None = None,
    xml_invalid_chars: str | None = None,
) -> dict[str, Any]:
    """The write options a user set (None: not set), checked, for ExportRequest.options."""
    if xml_invalid_chars not in (None, "error", "replace"):
        raise ConfigError(
            f"xml_invalid_chars {xml_invalid_chars!r}: use error (stop, naming the row) or "
            "replace (write U+FFFD instead)"
        )
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    given = {
        "delimiter": delimiter,
        "xml_root": xml_root,
        "xml_record": xml_record,
        "xml_namespace": xml_namespace,
        "xml_invalid_chars": xml_invalid_chars,
    }
    return {name: value for name, value in given.items() if value is not None}


def export_table(request: ExportRequest, progress: ExportProgress | None = None) -> ExportReport:
    """Run one export; errors a user can fix come back in the report (status failed)."""
    started = time.monotonic()
    url = request.database or get_settings().database_url.get_secret_value()
    report = ExportReport(request.source, request.format or "", request.out, redact_url(url))
    try:
        _Export(request, url, report, progress).run()
    except ConveyorError as exc:
        report.status, report.error = "failed", str(exc)
    except OSError as exc:  # the file could not be written (disk full, no permission, ...)
        report.status = "failed"
        report.error = f"cannot write {request.out}: {exc.strerror or exc}"
    finally:
        report.duration_s = time.monotonic() - started
    return report


class _Export:
    """One export's state, stage by stage."""

    def __init__(
        self,
        request: ExportRequest,
        url: str,
        report: ExportReport,
        progress: ExportProgress | None,
    ) -> None:
        self.request, self.report = request, report
        self.shows_progress = progress is not None
        self.progress = progress or (lambda rows, total: None)
        self.fmt = format_for(request.out, request.format)
        report.format = self.fmt
        self.url = parse_url(url)
        self.spec = _load_spec(request)

    def run(self) -> None:
        out = self.request.out
        _check_destination(out, self.request.overwrite)
        engine = create_engine(self.url, read_only=True)
        partial = out.with_name(f".{out.name}.{uuid.uuid4().hex[:12]}.part")
        try:
            self._write(engine, partial)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
            engine.dispose()
        self.report.bytes = out.stat().st_size

    def _write(self, engine: Engine, partial: Path) -> None:
        kinds = compile_mapping(self.spec).schema.columns if self.spec else None
        queries = self.request.queries_dir or get_settings().queries_dir
        source = describe_source(
            engine, self.request.source, queries, kinds={c.name: c for c in kinds or ()}
        )
        names = self._fields(source)
        select = build_select(
            source,
            fields=names,
            where=parse_filters(self.request.where),
            order_by=self.request.order_by,
            limit=self.request.limit,
        )
        columns = [_column(source, n) for n in names]
        plan = reverse_plan(self.spec, columns) if self.spec else None
        options = writer_options(self.spec, self.fmt, self.request.options)
        if self._copy_path(engine, plan, options):
            self.progress(0, None)
            with partial.open("wb") as handle:
                self.report.rows = copy_csv(engine, select, source, handle)
            self.progress(self.report.rows, self.report.rows)
            return
        # The total is a second pass over the query: only for someone who shows a progress bar.
        total = _count(engine, select) if self.shows_progress else None
        self.progress(0, total)
        writer = open_writer(partial, self.fmt, plan.columns if plan else columns, options)
        try:
            for frame in stream_frames(engine, select, source, batch_rows=self.request.batch_rows):
                writer.write(plan.apply(frame) if plan else frame)
                self.report.rows = writer.rows
                self.progress(writer.rows, total)
            writer.close()
        except BaseException:
            writer.abort()
            raise

    def _fields(self, source: ExportSource) -> list[str]:
        """The fields asked for; with a mapping and none asked, the mapping's fields that read a
        source column; else every column."""
        if self.request.fields:
            return list(self.request.fields)
        have = {c.name for c in source.columns}
        if self.spec is not None:
            mapped = [n for n in self.spec.fields if self.spec.source_column(n) and n in have]
            if mapped:
                return mapped
        return [c.name for c in source.columns]

    def _copy_path(self, engine: Engine, plan: ReversePlan | None, options: WriteOptions) -> bool:
        """PostgreSQL's own CSV (``COPY … TO STDOUT``) when nothing needs Polars: no mapping,
        comma-separated UTF-8."""
        plain = options.delimiter == "," and options.encoding.lower().replace("_", "-") in (
            "utf-8",
            "utf8",
        )
        postgres = engine.dialect.name == "postgresql" and self.request.fast_copy
        return postgres and self.fmt == "csv" and not plan and plain


def _load_spec(request: ExportRequest) -> MappingSpec | None:
    mapping = request.mapping
    if mapping is None or isinstance(mapping, MappingSpec):
        return mapping
    return load_mapping(mapping, search_dirs=[request.mappings_dir or get_settings().mappings_dir])


def _check_destination(out: Path, overwrite: bool) -> None:
    if out.is_dir():
        raise ConfigError(f"{out} is a folder: give the file to write, e.g. {out / 'export.csv'}")
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} exists: pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise ConfigError(f"folder {out.parent} does not exist: create it first")


def _count(engine: Engine, select: sa.Select[Any]) -> int:
    try:
        with engine.connect() as conn:
            counted = sa.select(sa.func.count()).select_from(select.subquery())
            return int(conn.execute(counted).scalar_one())
    except sa.exc.DBAPIError as exc:
        raise translate_error(exc, engine.url, "count the rows to export from") from None


def _column(source: ExportSource, name: str) -> Column:
    for column in source.columns:
        if column.name == name:
            return column
    raise ConfigError(f"{name!r} is not a column of {source.name!r}")  # build_select checks first
