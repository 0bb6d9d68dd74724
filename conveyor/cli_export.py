"""`conveyor export`: a table, view or named query to a CSV, XLSX, JSON, NDJSON or XML file."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from conveyor.errors import ConfigError
from conveyor.exporter import (
    ORDER_DIRECTIONS,
    ExportProgress,
    ExportReport,
    ExportRequest,
    export_table,
    options_from,
    order_from,
)

__all__ = ["export_command", "join_option_words"]

err = Console(stderr=True)
out = Console()

_UNIT = "\x1f"  # joins the three words of one --where (a character no one types)


def export_command(
    source: Annotated[str, typer.Argument(help="Table, view or named query (queries/NAME.sql).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="csv, xlsx, json, ndjson or xml (default: from --out)."
        ),
    ] = None,
    fields: Annotated[
        str | None, typer.Option(help="Columns to export, comma-separated (default: all).")
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            help="FIELD OP VALUE, repeatable (all must hold). OP: = != < <= > >= like not-like "
            "in (VALUE a,b,c) is (VALUE null or not-null). Values are always bound, never SQL."
        ),
    ] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option(
            "--order-by", help="FIELD, or FIELD desc; repeatable (default: the primary key)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=0, help="At most this many rows.")] = None,
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", "-m", help="Write the file as this mapping reads it."),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(help="Database URL. Default: $CONVEYOR_DATABASE_URL or sqlite:///conveyor.db"),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace --out if it exists.")
    ] = False,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default ,).")] = None,
    xml_root: Annotated[
        str | None, typer.Option(help="XML root element (default records).")
    ] = None,
    xml_record: Annotated[
        str | None, typer.Option(help="XML element per row (default record).")
    ] = None,
    xml_namespace: Annotated[str | None, typer.Option(help="XML namespace URI.")] = None,
    xml_invalid_chars: Annotated[
        str | None,
        typer.Option(
            help="XML: a character XML 1.0 forbids: error (default; names the row) or replace "
            "(written as U+FFFD)."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
) -> None:
    """Export a table, view or named query to a file (written whole or not at all)."""
    try:
        options = options_from(delimiter, xml_root, xml_record, xml_namespace, xml_invalid_chars)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    request = ExportRequest(
        source=source,
        out=out_path,
        format=fmt,  # type: ignore[arg-type]  # checked by the exporter, with the choices
        database=database,
        fields=[f.strip() for f in fields.split(",") if f.strip()] if fields else None,
        where=[_condition(item) for item in where or ()],
        order_by=[_order(item) for item in order_by or ()],
        limit=limit,
        mapping=mapping,
        overwrite=overwrite,
        options=options,
    )
    with _progress(enabled=err.is_terminal and not as_json) as progress:
        report = export_table(request, progress)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
    else:
        _print(report)
    if report.status == "failed":
        raise typer.Exit(1)


def join_option_words(argv: Sequence[str]) -> list[str]:
    """``--where FIELD OP VALUE`` and ``--order-by FIELD desc`` as one value each (a Typer
    option repeated takes one word per use; this keeps the spelling the help shows)."""
    merged: list[str] = []
    words = list(argv)
    i = 0
    while i < len(words):
        word = words[i]
        one_word = i + 1 < len(words) and (_UNIT in words[i + 1] or " " in words[i + 1])
        if word == "--where" and i + 3 < len(words) and not one_word:
            merged += [word, _UNIT.join(words[i + 1 : i + 4])]
            i += 4
            continue
        after_order = len(merged) >= 2 and merged[-2] == "--order-by"
        if after_order and word.lower() in ORDER_DIRECTIONS and " " not in merged[-1]:
            merged[-1] = f"{merged[-1]} {word.lower()}"
        else:
            merged.append(word)
        i += 1
    return merged


def _condition(item: str) -> tuple[str, str, str]:
    parts = item.split(_UNIT) if _UNIT in item else item.split(None, 2)
    if len(parts) != 3:
        raise typer.BadParameter(
            f"{item!r}: give FIELD OP VALUE, e.g. --where amount '>=' 100", param_hint="--where"
        )
    return parts[0], parts[1], parts[2]


def _order(item: str) -> tuple[str, bool]:
    try:
        return order_from(item)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--order-by") from None


@contextmanager
def _progress(enabled: bool) -> Iterator[ExportProgress | None]:
    """A Rich progress bar: rows written of the query's rows, and the rate."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("exporting"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("exporting", total=None, detail="")
        started = time.monotonic()

        def update(rows: int, total: int | None) -> None:
            rate = rows / max(time.monotonic() - started, 1e-3)
            bar.update(task, completed=rows, total=total, detail=f"{rows:,} rows, {rate:,.0f}/s")

        yield update


def _print(report: ExportReport) -> None:
    style = "green" if report.status == "succeeded" else "red"
    out.print(
        f"[bold {style}]{report.status}[/]: {report.source} ({report.database}) → {report.path}",
        soft_wrap=True,
    )
    for warning in report.warnings:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    if report.error:
        out.print(f"[red]error:[/] {report.error}", highlight=False, soft_wrap=True)
        return
    out.print(
        f"{report.rows:,} rows, {report.bytes:,} bytes, {report.format}, "
        f"in {report.duration_s:.1f} s",
        highlight=False,
    )
