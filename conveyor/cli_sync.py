"""`conveyor sync`, `conveyor parked ...` and `conveyor conflicts ...`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine

from conveyor.errors import ConveyorError
from conveyor.load.urls import create_engine, parse_url
from conveyor.settings import get_settings
from conveyor.state.sync import SyncStore
from conveyor.sync.deployments import sync_block, update_prefect_yaml
from conveyor.sync.engine import SyncReport
from conveyor.sync.jobs import load_sync_job
from conveyor.sync.plan import OUTCOMES
from conveyor.sync.resolve import Take, resolve_conflict
from conveyor.sync.runner import run_job

__all__ = ["conflicts_app", "deploy_command", "parked_app", "sync_command"]

err = Console(stderr=True)
out = Console()
parked_app = typer.Typer(help="Records a side refused: list, retry, discard.", no_args_is_help=True)
conflicts_app = typer.Typer(
    help="Records changed on both sides: list, resolve.", no_args_is_help=True
)

Database = Annotated[
    str | None,
    typer.Option(help="Database URL. Default: $CONVEYOR_DATABASE_URL or sqlite:///conveyor.db"),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def sync_command(
    job: Annotated[str, typer.Argument(help="The sync job: a name under mappings/*/ or a path.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change on each side; write nothing.")
    ] = False,
    database: Database = None,
    mappings: Annotated[
        Path | None, typer.Option(help="Folder of mappings (default: mappings/).")
    ] = None,
    as_json: JsonOut = False,
) -> None:
    """Run a sync job once: read both sides, decide per record, write both sides."""
    try:
        with _progress(enabled=not as_json and err.is_terminal) as progress:
            report = run_job(
                job, database=database, mappings_dir=mappings, dry_run=dry_run, progress=progress
            )
    except ConveyorError as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(report.to_dict(), default=str, ensure_ascii=False))
    else:
        _print_report(report)
    if report.status == "failed":
        raise typer.Exit(1)


def deploy_command(
    prefect_file: Annotated[Path, typer.Option(help="The Prefect project file.")] = Path(
        "prefect.yaml"
    ),
    mappings: Annotated[
        Path | None, typer.Option(help="Folder of mappings (default: mappings/).")
    ] = None,
    pool: Annotated[str, typer.Option(help="The work pool the sync deployments use.")] = (
        "conveyor"
    ),
    check: Annotated[
        bool, typer.Option("--check", help="Only say whether prefect.yaml is current (exit 1).")
    ] = False,
    write_only: Annotated[
        bool, typer.Option("--write-only", help="Update prefect.yaml; do not run prefect deploy.")
    ] = False,
) -> None:
    """Give every sync job under mappings/*/ its deployment in prefect.yaml, then deploy all."""
    folder = mappings or get_settings().mappings_dir
    try:
        if check:
            current = prefect_file.read_text(encoding="utf-8")
            if sync_block(folder, pool) not in current:
                err.print(f"{prefect_file} is out of date: run `conveyor deploy --write-only`")
                raise typer.Exit(1)
            out.print(f"{prefect_file} has a deployment for every sync job")
            return
        changed = update_prefect_yaml(prefect_file, folder, pool)
    except ConveyorError as exc:
        _fail(str(exc))
    out.print(f"{prefect_file}: {'updated' if changed else 'already current'}")
    if not write_only:
        command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"]
        raise typer.Exit(subprocess.call(command, cwd=prefect_file.resolve().parent))


@parked_app.command("list")
def parked_list(
    job: Annotated[str | None, typer.Argument(help="Only this job.")] = None,
    database: Database = None,
    as_json: JsonOut = False,
) -> None:
    """Parked records waiting for a retry, with the reason each was refused."""
    with _store(database) as store:
        rows = store.parked(job) if store else []
    data = [
        {
            "id": p.id,
            "job": p.job,
            "side": p.side,
            "key": p.local_key,
            "remote_id": p.remote_id,
            "attempts": p.attempts,
            "next_attempt_at": p.next_attempt_at,
            "error": p.error_class,
            "reason": p.reason,
        }
        for p in rows
    ]
    _print_rows(data, as_json, "no parked records")


@parked_app.command("retry")
def parked_retry(
    ids: Annotated[list[int], typer.Argument(help="Parked record ids (from `parked list`).")],
    database: Database = None,
) -> None:
    """Retry these records on the job's next run (instead of waiting for their backoff)."""
    with _store(database) as store:
        changed = store.set_parked_by_id(ids, "parked", _now()) if store else 0
    out.print(f"{changed} parked record(s) will be retried on the next run")
    if changed < len(ids):
        raise typer.Exit(1)


@parked_app.command("discard")
def parked_discard(
    ids: Annotated[list[int], typer.Argument(help="Parked record ids (from `parked list`).")],
    database: Database = None,
) -> None:
    """Give up on these records: they are kept, marked discarded, and not retried."""
    with _store(database) as store:
        changed = store.set_parked_by_id(ids, "discarded", _now()) if store else 0
    out.print(f"{changed} parked record(s) discarded")
    if changed < len(ids):
        raise typer.Exit(1)


@conflicts_app.command("list")
def conflicts_list(
    job: Annotated[str | None, typer.Argument(help="Only this job.")] = None,
    database: Database = None,
    as_json: JsonOut = False,
) -> None:
    """Open conflicts: both versions, the last agreed one, and the fields in dispute."""
    with _store(database) as store:
        rows = store.conflicts(job) if store else []
    data = [
        {
            "id": c.id,
            "job": c.job,
            "key": c.local_key,
            "remote_id": c.remote_id,
            "fields": c.fields,
            "local": {f: c.local_values.get(f) for f in c.fields},
            "remote": {f: c.remote_values.get(f) for f in c.fields},
            "base": {f: c.base_values.get(f) for f in c.fields},
        }
        for c in rows
    ]
    _print_rows(data, as_json, "no open conflicts")


@conflicts_app.command("resolve")
def conflicts_resolve(
    conflict_id: Annotated[int, typer.Argument(metavar="ID", help="From `conflicts list`.")],
    job: Annotated[str, typer.Option(help="The conflict's sync job.")],
    take: Annotated[str, typer.Option(help="local, remote or merged.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="merged: FIELD=VALUE for each disputed field."),
    ] = None,
    database: Database = None,
    mappings: Annotated[Path | None, typer.Option(help="Folder of mappings.")] = None,
) -> None:
    """Settle a conflict: the local side changes now, the remote on the job's next run."""
    if take not in ("local", "remote", "merged"):
        _fail(f"--take {take!r}: use local, remote or merged")
    chosen = dict(_pair(item) for item in set_ or [])
    try:
        spec = load_sync_job(job, mappings or get_settings().mappings_dir)
        engine = _engine(database)
        try:
            resolve_conflict(engine, spec, conflict_id, _take(take), chosen)
        finally:
            engine.dispose()
    except ConveyorError as exc:
        _fail(str(exc))
    out.print(f"conflict {conflict_id} resolved ({take}); the next run of {job} applies it")


# -- helpers ------------------------------------------------------------------------------


def _take(text: str) -> Take:
    return "local" if text == "local" else ("remote" if text == "remote" else "merged")


def _pair(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep:
        _fail(f"--set {item!r}: write FIELD=VALUE")
    return name.strip(), value


def _engine(database: str | None) -> Engine:
    url = database or get_settings().database_url.get_secret_value()
    try:
        return create_engine(parse_url(url))
    except ConveyorError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


@contextmanager
def _store(database: str | None) -> Iterator[SyncStore | None]:
    """The job database's sync state, or None when no sync has run there yet (nothing is
    created: not even an empty SQLite file); the connections are closed afterwards."""
    url = database or get_settings().database_url.get_secret_value()
    if _missing_sqlite_file(url):
        yield None
        return
    engine = _engine(url)
    try:
        has_state = sa.inspect(engine).has_table("conveyor_sync_parked")
        yield SyncStore(engine) if has_state else None
    finally:
        engine.dispose()


def _missing_sqlite_file(url: str) -> bool:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return False  # _engine says what is wrong with it
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    return file not in (None, "", ":memory:") and not Path(str(file)).exists()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    with Progress(
        "writing",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("sync", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _print_report(report: SyncReport) -> None:
    style = {"succeeded": "green", "dry_run": "cyan", "failed": "red"}[report.status]
    out.print(f"[bold {style}]{report.status}[/]: sync {report.job}", soft_wrap=True)
    if report.error:
        out.print(f"[red]error:[/] {report.error}", highlight=False, soft_wrap=True)
    c = report.counts
    table = Table("records", "count", "", "reads and calls", "count")
    left = [(name, c.get(name, 0)) for name in OUTCOMES]
    right = [
        ("read local", c.get("read_local", 0)),
        ("read remote", c.get("read_remote", 0)),
        ("seen again (overlap)", c.get("seen", 0)),
        ("remote calls", report.remote_calls),
    ]
    if "api_limit" in c:
        right.append(("API calls used today", c["api_used"]))
        right.append(("daily API limit", c["api_limit"]))
    for i, (name, value) in enumerate(left):
        other = right[i] if i < len(right) else ("", None)
        table.add_row(name, f"{value:,}", "", other[0], "" if other[1] is None else f"{other[1]:,}")
    out.print(table)
    if report.status == "dry_run":
        out.print("[cyan]dry run: nothing was written[/]")
        for change in report.changes:
            if change["outcome"] not in ("unchanged", "echo"):
                out.print(
                    "  " + json.dumps(change, default=str, ensure_ascii=False),
                    highlight=False,
                    soft_wrap=True,
                )
    if report.counts.get("parked"):
        out.print("parked records: conveyor parked list " + report.job)
    if report.counts.get("conflicted"):
        out.print("conflicts: conveyor conflicts list " + report.job)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, empty: str) -> None:
    if as_json:
        print(json.dumps(rows, default=str, ensure_ascii=False))
        return
    if not rows:
        out.print(empty)
        return
    table = Table(*rows[0])
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    out.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return "" if value is None else str(value)
