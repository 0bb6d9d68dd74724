"""The upload server's settings, and the rule that keeps it from listening openly without a key.

A key is what stands between the network and the target database, so a server bound to
anything but loopback refuses to start without one (``ensure_safe``). On loopback only local
processes can connect, and the key may be left unset for convenience.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from conveyor.errors import ConfigError

__all__ = ["API_KEY_ENV", "DEFAULT_PORT", "WebConfig", "ensure_safe", "is_loopback"]

API_KEY_ENV = "CONVEYOR_WEB_API_KEY"
DEFAULT_PORT = 8765
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class WebConfig(BaseModel):
    """Everything ``create_app`` needs; the target database is deliberately not here (it is
    the server's: CONVEYOR_DATABASE_URL or the ``target_secret`` block, never a request's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field("127.0.0.1", description="Address to bind; loopback unless a key is set.")
    port: int = Field(DEFAULT_PORT, ge=0, le=65535, description="TCP port (0: any free port).")
    data_dir: Path = Field(
        Path("."), description="Uploads go to DATA_DIR/uploads, rejects to DATA_DIR/rejects."
    )
    max_upload_bytes: int = Field(
        100 * 1024 * 1024, ge=1, description="Largest upload accepted; larger ones get 413."
    )
    mappings_dir: Path = Field(
        Path("mappings"), description="The only place named mappings are taken from."
    )
    api_key: SecretStr | None = Field(
        None, description="Required in the X-API-Key header when set; never logged or returned."
    )
    target_secret: str | None = Field(
        None, description="Prefect Secret block holding the target database URL (else the env)."
    )
    prefect_ui_url: str | None = Field(
        None, description="Base URL of the Prefect UI for run links (default: PREFECT_UI_URL)."
    )
    workers: int = Field(2, ge=1, le=16, description="Imports run at once; the rest queue.")
    preview_rows: int = Field(10, ge=1, le=1000, description="Mapped rows a preview shows.")

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def rejects_dir(self) -> Path:
        return self.data_dir / "rejects"

    @property
    def key_required(self) -> bool:
        return self.api_key is not None


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def ensure_safe(config: WebConfig) -> None:
    """Refuse a server that anyone on the network could use to write into the database."""
    if config.api_key is not None and not config.api_key.get_secret_value():
        raise ConfigError(f"the API key is empty: set {API_KEY_ENV} to a non-empty value")
    if config.api_key is None and not is_loopback(config.host):
        raise ConfigError(
            f"refusing to listen on {config.host} without an API key: anyone who can reach it "
            f"could import into the database. Set {API_KEY_ENV} (or --api-key-secret NAME for a "
            "Prefect Secret block), or bind to 127.0.0.1"
        )
