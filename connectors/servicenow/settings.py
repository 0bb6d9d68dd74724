"""Connection settings of the ServiceNow connector (secrets typed SecretStr, never printed)."""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["AuthMode", "ServiceNowSettings"]

AuthMode = Literal["basic", "oauth_password", "oauth_client"]
_LOOPBACK = ("127.0.0.1", "localhost")


class ServiceNowSettings(BaseModel):
    """How to reach one instance. Exactly one way to authenticate must be complete."""

    model_config = ConfigDict(extra="forbid")

    instance_url: str = Field(description="The instance: https://acme.service-now.com")
    username: str | None = Field(None, description="Basic auth, or OAuth's password grant.")
    password: SecretStr | None = Field(None, description="The user's password.")
    client_id: str | None = Field(None, description="OAuth: the application registry's id.")
    client_secret: SecretStr | None = Field(None, description="OAuth: its secret.")
    page_size: int = Field(1000, ge=1, le=10000, description="Records per Table API page.")
    import_threshold: int = Field(
        1000,
        ge=1,
        description="Above this many records a write goes through the Import Set API "
        "(needs import_table).",
    )
    import_table: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="The import set staging table whose transform map coalesces on the "
        "job's external-id field (u_incident_import).",
    )
    deletes: Literal["audit", "key_scan"] = Field(
        "audit",
        description="audit: deletes read from sys_audit_delete as they happen; key_scan: "
        "found by comparing the table's sys_ids (tables that do not audit deletes).",
    )
    import_poll_seconds: float = Field(1.0, gt=0, description="First wait between polls.")
    timeout_seconds: float = Field(60, gt=0, description="Give up on a call after this long.")

    @model_validator(mode="after")
    def _one_complete_auth(self) -> Self:
        parts = urlsplit(self.instance_url)
        if not (
            (parts.scheme == "https" and parts.hostname)
            or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
        ):
            raise ValueError(
                "instance_url must be an https URL such as https://acme.service-now.com "
                "(plain http only for 127.0.0.1 or localhost)"
            )
        if self.client_id is not None and self.client_secret is None:
            raise ValueError("OAuth needs client_secret with client_id")
        if self.client_id is None and (self.username is None or self.password is None):
            raise ValueError(
                "give username + password (basic auth), or client_id + client_secret "
                "(OAuth client credentials), with username + password for OAuth's password "
                "grant"
            )
        return self

    @property
    def auth_mode(self) -> AuthMode:
        if self.client_id is None:
            return "basic"
        return "oauth_password" if self.username is not None else "oauth_client"
