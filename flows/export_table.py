"""The `export-table` flow: one export, with its figures and the file's location in the Prefect UI.

Parameters are the command line's (`conveyor export`); the database URL comes from the Secret
block named ``database_secret`` or from CONVEYOR_DATABASE_URL, never from a parameter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from conveyor.exporter import (
    ExportReport,
    ExportRequest,
    export_table,
    options_from,
    order_from,
)
from flows.secrets import database_url

__all__ = ["export_table_flow"]


@task(name="export", cache_policy=NO_CACHE)
def run_export(request: ExportRequest, progress_id: UUID) -> ExportReport:
    shown = [-1.0]

    def progress(rows: int, total: int | None) -> None:
        share = round(100 * rows / total, 0) if total else 0.0
        if share > shown[0]:  # an update per whole percent, not per batch
            shown[0] = share
            update_progress_artifact(progress_id, progress=share)

    return export_table(request, progress)


def _publish(report: ExportReport) -> None:
    create_table_artifact(
        key="export-summary",
        table=[
            {
                "source": report.source,
                "format": report.format,
                "status": report.status,
                "rows": report.rows,
                "bytes": report.bytes,
                "seconds": round(report.duration_s, 2),
                "file": str(report.path),
            }
        ],
        description=f"Export of {report.source} to {report.path.name}",
    )
    if report.status == "succeeded":
        create_link_artifact(
            key="export-file",
            link=report.path.resolve().as_uri(),
            link_text=f"{report.path.name} ({report.rows:,} rows)",
            description="The exported file.",
        )


def _run_name() -> str:
    """``export contacts → contacts.csv``."""
    from prefect.runtime import flow_run

    params = flow_run.parameters
    return f"export {params.get('source', '')} → {Path(str(params.get('out', ''))).name}"


@flow(name="export-table", flow_run_name=_run_name, log_prints=False)
def export_table_flow(
    source: str,
    out: str,
    format: str | None = None,
    fields: list[str] | None = None,
    where: list[tuple[str, str, str]] | None = None,
    order_by: list[str] | None = None,
    limit: int | None = None,
    mapping: str | None = None,
    overwrite: bool = False,
    database_secret: str | None = None,
    delimiter: str | None = None,
    xml_root: str | None = None,
    xml_record: str | None = None,
    xml_namespace: str | None = None,
    xml_invalid_chars: str | None = None,
) -> dict[str, Any]:
    """Export a table, view or named query to a file; ``order_by`` items are "FIELD [desc]"."""
    logger = get_run_logger()
    progress_id = cast(UUID, create_progress_artifact(progress=0.0, key="export-progress"))
    request = ExportRequest(
        source=source,
        out=Path(out),
        format=format,  # type: ignore[arg-type]  # checked by the exporter
        database=database_url(database_secret),
        fields=fields,
        where=[(f, o, v) for f, o, v in where or ()],
        order_by=[order_from(item) for item in order_by or ()],
        limit=limit,
        mapping=mapping,
        overwrite=overwrite,
        options=options_from(delimiter, xml_root, xml_record, xml_namespace, xml_invalid_chars),
    )
    report = run_export(request, progress_id)
    update_progress_artifact(progress_id, progress=100.0)
    _publish(report)
    logger.info(
        "export %s: %s, %d rows, %d bytes", report.source, report.status, report.rows, report.bytes
    )
    if report.status == "failed":
        raise RuntimeError(report.error)
    return report.to_dict()
