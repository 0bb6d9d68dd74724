"""`conveyor serve`: the upload page and its API on a local web server (uvicorn).

Registered in ``conveyor.cli`` as ``app.command("serve")(serve_command)``. The API key comes
from CONVEYOR_WEB_API_KEY or a Prefect Secret block (``--api-key-secret``), never from a
command-line value (which would show in the process list and the shell history).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, cast

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.markup import escape

from conveyor.errors import ConveyorError
from conveyor.settings import get_settings
from conveyor.web.app import create_app
from conveyor.web.config import API_KEY_ENV, DEFAULT_PORT, WebConfig

__all__ = ["load_api_key", "serve_command"]

err = Console(stderr=True)


def serve_command(
    host: Annotated[
        str, typer.Option(help="Address to listen on. Off loopback an API key is required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = DEFAULT_PORT,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for uploads/ and rejects/ (default: $CONVEYOR_DATA_DIR or .)."),
    ] = None,
    mappings_dir: Annotated[
        Path | None,
        typer.Option(help="Mappings offered by name (default: $CONVEYOR_MAPPINGS_DIR, mappings)."),
    ] = None,
    max_upload_mb: Annotated[
        float, typer.Option(help="Largest upload accepted, in MiB.", min=0.001)
    ] = 100.0,
    api_key_secret: Annotated[
        str | None,
        typer.Option(help=f"Prefect Secret block holding the API key (else ${API_KEY_ENV})."),
    ] = None,
    target_secret: Annotated[
        str | None,
        typer.Option(
            help="Prefect Secret block holding the target database URL "
            "(else $CONVEYOR_DATABASE_URL)."
        ),
    ] = None,
    prefect_ui_url: Annotated[
        str | None,
        typer.Option(help="Prefect UI base URL for run links (default: PREFECT_UI_URL)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Imports run at once; more wait in a queue.", min=1, max=16)
    ] = 2,
) -> None:
    """Serve the upload page: upload a file, preview it through a mapping, import it."""
    settings = get_settings()
    try:
        config = WebConfig(
            host=host.strip().strip("[]"),  # [::1] as in a URL
            port=port,
            data_dir=data_dir or settings.data_dir,
            mappings_dir=mappings_dir or settings.mappings_dir,
            max_upload_bytes=int(max_upload_mb * 1024 * 1024),
            api_key=load_api_key(api_key_secret),
            target_secret=target_secret,
            prefect_ui_url=prefect_ui_url,
            workers=workers,
        )
        app = create_app(config)
    except ConveyorError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        err.print(f"error: {'.'.join(map(str, first['loc']))}: {first['msg']}", markup=False)
        raise typer.Exit(2) from None
    _run(app, config)


def load_api_key(secret_name: str | None) -> SecretStr | None:
    """The key from the Secret block ``secret_name``, else from the environment, else None."""
    if secret_name:
        from prefect.blocks.system import Secret

        try:
            block = cast(Secret[str], Secret.load(secret_name))  # sync in a sync context
        except ValueError as exc:
            raise ConveyorError(f"cannot read the Secret block {secret_name!r}: {exc}") from None
        return SecretStr(str(block.get()))
    value = os.environ.get(API_KEY_ENV)
    return SecretStr(value) if value is not None else None


def _run(app: FastAPI, config: WebConfig) -> None:
    where = f"http://{_url_host(config.host)}:{config.port}/"
    key = "an API key is required" if config.key_required else "no API key (loopback only)"
    err.print(f"Conveyor upload page on {where} ({key}); stop with Ctrl-C", highlight=False)
    uvicorn.run(app, host=config.host, port=config.port, log_level="info")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
