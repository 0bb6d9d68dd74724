"""The `conveyor` command line: import files, export tables, sync, suggest mappings."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from conveyor.cli_export import export_command, join_option_words
from conveyor.cli_serve import serve_command
from conveyor.cli_sync import conflicts_app, deploy_command, parked_app, sync_command
from conveyor.errors import ConveyorError
from conveyor.importer import ProgressFn, import_file
from conveyor.mapping import dump_mapping
from conveyor.mapping.suggest import suggest_mapping
from conveyor.report import ImportReport

app = typer.Typer(
    name="conveyor",
    help="Move business records between files and databases.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("export")(export_command)
app.command("sync")(sync_command)
app.command("deploy")(deploy_command)
app.command("serve")(serve_command)
app.add_typer(parked_app, name="parked")
app.add_typer(conflicts_app, name="conflicts")
mapping_app = typer.Typer(help="Work with mappings.", no_args_is_help=True)
app.add_typer(mapping_app, name="mapping")

err = Console(stderr=True)
out = Console()


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The CSV, XLSX, JSON or XML file to import.")],
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", "-m", help="Mapping name (in mappings/) or YAML path."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(help="Database URL. Default: $CONVEYOR_DATABASE_URL or sqlite:///conveyor.db"),
    ] = None,
    table: Annotated[
        str | None, typer.Option(help="Target table without a mapping (default: file stem).")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Key column(s) without a mapping, comma-separated.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write nothing; show what would happen.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the job summary as one JSON object.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejects file (default: FILE.rejects.EXT beside FILE).")
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Import even if this file was already imported with this mapping."
        ),
    ] = False,
    partitions: Annotated[
        int,
        typer.Option(
            min=1,
            help="Read and map a large CSV or NDJSON file in this many parts at once "
            "(local processes).",
        ),
    ] = 1,
) -> None:
    """Import FILE into a database table through a mapping."""
    keys = [k.strip() for k in key.split(",") if k.strip()] if key else []
    if mapping and (table or keys):
        _fail("--table and --key apply only without --mapping (the mapping names both)")
    with _progress(enabled=err.is_terminal) as progress:
        report = import_file(
            file,
            mapping,
            target,
            table=table,
            key=keys,
            dry_run=dry_run,
            rejects_path=rejects,
            progress=progress,
            force=force,
            partitions=partitions,
        )
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), default=str) + "\n")
    else:
        _print_report(report)
    if report.status == "failed":
        raise typer.Exit(1)


@mapping_app.command("suggest")
def suggest_command(
    file: Annotated[Path, typer.Argument(help="A sample file to infer the mapping from.")],
    table: Annotated[str | None, typer.Option(help="Target table (default: file stem).")] = None,
    key: Annotated[str | None, typer.Option(help="Key column(s), comma-separated.")] = None,
) -> None:
    """Print an identity mapping for FILE as YAML, ready to edit and save under mappings/."""
    keys = [k.strip() for k in key.split(",") if k.strip()] if key else []
    try:
        spec = suggest_mapping(file, table=table, key=keys)
    except ConveyorError as exc:
        _fail(str(exc))
    sys.stdout.write(dump_mapping(spec))


def main() -> None:
    app(args=join_option_words(sys.argv[1:]))


# -- output -------------------------------------------------------------------------------


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def _progress(enabled: bool) -> Iterator[ProgressFn | None]:
    """A Rich progress bar on a terminal: bytes and MB/s while reading, rows/s while loading."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        tasks: dict[str, TaskID] = {}
        started: dict[str, float] = {}

        def update(phase: str, done: int, total: int | None, rows: int) -> None:
            if phase not in tasks:
                label = {"infer": "inferring types", "read": "reading"}.get(phase, "loading")
                tasks[phase] = bar.add_task(label, total=total, detail="")
                started[phase] = time.monotonic()
            elapsed = max(time.monotonic() - started[phase], 1e-3)
            if phase in ("infer", "read"):
                detail = f"{rows:,} rows, {done / elapsed / 1e6:.1f} MB/s"
            else:
                detail = f"{rows:,} rows, {rows / elapsed:,.0f} rows/s"
            bar.update(tasks[phase], completed=done, total=total, detail=detail)

        yield update


def _print_report(report: ImportReport) -> None:
    c = report.counts
    styles = {"succeeded": "green", "dry_run": "cyan", "failed": "red", "skipped": "yellow"}
    style = styles.get(report.status, "white")
    where = f"{report.table} ({report.target})" if report.table else report.target
    out.print(f"[bold {style}]{report.status}[/]: {report.file} → {where}", soft_wrap=True)
    for warning in report.warnings:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    if report.error:
        out.print(f"[red]error:[/] {report.error}", highlight=False, soft_wrap=True)
    if report.note:
        out.print(report.note, highlight=False, soft_wrap=True)
    if report.status not in ("failed", "skipped") or c.rows_read:
        items = c.items()
        table = Table(*(label for label, _ in items))
        table.add_row(*(f"{v:,}" for _, v in items))
        out.print(table)
    if report.status == "dry_run":
        out.print("[cyan]dry run: nothing was written[/]")
        _print_examples(report.examples)
    if report.rejects_path:
        out.print(
            f"rejects: {report.rejects_path} (fix and import it again with the same mapping)",
            soft_wrap=True,
        )
    if report.job_id is not None:
        out.print(f"job {report.job_id} in {report.duration_s:.1f} s")


def _print_examples(examples: dict[str, list[dict[str, Any]]]) -> None:
    for kind, rows in examples.items():
        if not rows:
            continue
        out.print(f"[bold]{kind}[/] (examples):")
        for row in rows:
            text = json.dumps(row, default=str, ensure_ascii=False)
            out.print(f"  {text}", highlight=False, soft_wrap=True)
