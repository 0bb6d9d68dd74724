"""Connection settings of the SAP OData v2 connector (secrets typed SecretStr, never printed)."""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["AuthMode", "SapSettings"]

AuthMode = Literal["basic", "oauth_client"]
_LOOPBACK = ("127.0.0.1", "localhost")


class SapSettings(BaseModel):
    """How to reach one OData v2 service. Exactly one way to authenticate must be complete."""

    model_config = ConfigDict(extra="forbid")

    service_url: str = Field(
        description="The service root: https://host/sap/opu/odata/sap/API_BUSINESS_PARTNER"
    )
    username: str | None = Field(None, description="Basic auth: the user.")
    password: SecretStr | None = Field(None, description="Basic auth: the password.")
    client_id: str | None = Field(None, description="OAuth2 client credentials: the client.")
    client_secret: SecretStr | None = Field(None, description="OAuth2: the client's secret.")
    token_url: str | None = Field(None, description="OAuth2: the token endpoint.")
    changed_date: str = Field(
        "LastChangeDate",
        description="The change date property (Edm.DateTime), or a DateTimeOffset property "
        "alone (changed_time empty).",
    )
    changed_time: str | None = Field(
        "LastChangeTime", description="The change time property (Edm.Time), if separate."
    )
    created_date: str | None = Field(
        "CreationDate",
        description="The creation date property: a never-changed entity (empty change date) "
        "is read by it. Empty if the change stamp is always set.",
    )
    created_time: str | None = Field(
        "CreationTime", description="The creation time property (Edm.Time), if separate."
    )
    system_time_zone: str = Field(
        "UTC", description="The SAP system's time zone: its change stamps are local time."
    )
    changeset_size: int = Field(
        100, ge=1, le=1000, description="Changes per $batch changeset (each all or nothing)."
    )
    batch_size: int = Field(
        1000, ge=1, le=5000, description="Changes per $batch call (in changesets of the above)."
    )
    page_size: int = Field(
        100,
        ge=1,
        description="Records per batch handed to the engine (SAP pages by itself through "
        "__next; a longer server page is split).",
    )
    timeout_seconds: float = Field(60, gt=0, description="Give up on a call after this long.")

    @model_validator(mode="after")
    def _one_complete_auth(self) -> Self:
        for name in ("service_url", "token_url"):
            url = getattr(self, name)
            if url is not None and not _https_or_loopback(url):
                raise ValueError(
                    f"{name} must be an https URL (plain http only for 127.0.0.1 or localhost)"
                )
        basic = self.username is not None and self.password is not None
        oauth = None not in (self.client_id, self.client_secret, self.token_url)
        if basic == oauth:
            raise ValueError(
                "give one way in: username + password, or client_id + client_secret + token_url"
            )
        return self

    @property
    def auth_mode(self) -> AuthMode:
        return "basic" if self.username is not None else "oauth_client"


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return bool(
        (parts.scheme == "https" and parts.hostname)
        or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    )
