"""Connection settings of the Salesforce connector (secrets typed SecretStr, never printed)."""

from __future__ import annotations

import re
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from conveyor.transport import LOOPBACK_HOSTS

__all__ = ["AuthMode", "SalesforceSettings", "parse_limit_info"]

AuthMode = Literal["password", "client_credentials", "session"]
_LIMIT = re.compile(r"(?<![\w-])api-usage=(\d+)/(\d+)")


class SalesforceSettings(BaseModel):
    """How to reach one org. Exactly one way to authenticate must be complete."""

    model_config = ConfigDict(extra="forbid")

    username: str | None = Field(None, description="password flow: the user.")
    password: SecretStr | None = Field(None, description="password flow: the password.")
    security_token: SecretStr | None = Field(None, description="password flow: the token.")
    client_id: str | None = Field(None, description="OAuth2 client credentials: the app.")
    client_secret: SecretStr | None = Field(None, description="OAuth2: the app's secret.")
    instance_url: str | None = Field(
        None,
        description="The org's URL (https://acme.my.salesforce.com); needed for an "
        "existing session and for client credentials (the org's My Domain).",
    )
    access_token: SecretStr | None = Field(None, description="An existing session's token.")
    sandbox: bool = Field(False, description="Log in through test.salesforce.com.")
    api_version: str = Field("62.0", pattern=r"^\d+\.\d$", description="REST API version.")
    page_size: int = Field(
        2000,
        ge=200,
        le=2000,
        description="Records per query page (Sforce-Query-Options batchSize: 200 to 2000).",
    )
    modified_field: str = Field(
        "SystemModstamp",
        pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="The datetime field reads are incremental on (SystemModstamp changes "
        "with every change, system ones too; LastModifiedDate only with users').",
    )
    timeout_seconds: float = Field(
        120, gt=0, description="Give up on a call that has not answered after this long."
    )
    bulk_threshold: int = Field(
        2000, ge=1, description="Above this many records, reads and writes use Bulk API 2.0."
    )
    max_api_share: float = Field(
        0.9,
        gt=0,
        le=1,
        description="Stop a run before this share of the org's daily API allowance is spent "
        "(the cursor stays, so the next run continues).",
    )
    bulk_batch_size: int = Field(
        10_000,
        ge=1,
        description="Records per Bulk ingest job (and per local commit) when that many wait.",
    )
    bulk_page_size: int = Field(
        50_000, ge=1, description="Rows per page of a Bulk query's results (maxRecords)."
    )
    poll_seconds: float = Field(
        2.0, gt=0, description="First wait before polling a Bulk job (doubling to 30 s)."
    )
    bulk_timeout_seconds: float = Field(
        3600,
        gt=0,
        description="Give up waiting for a Bulk job after this long (the run fails "
        "as transient; the next run sends the batch again).",
    )

    @model_validator(mode="after")
    def _one_complete_auth(self) -> Self:
        modes = {
            "password": self.username is not None and self.password is not None,
            "client_credentials": self.client_id is not None and self.client_secret is not None,
            "session": self.instance_url is not None and self.access_token is not None,
        }
        if not any(modes.values()):
            raise ValueError(
                "give username + password (+ security_token), or client_id + client_secret + "
                "instance_url, or instance_url + access_token"
            )
        if modes["client_credentials"] and self.instance_url is None:
            raise ValueError("client credentials need instance_url (the org's My Domain URL)")
        if self.instance_url is not None:
            _check_instance_url(self.instance_url)
        return self

    @property
    def auth_mode(self) -> AuthMode:
        if self.instance_url is not None and self.access_token is not None:
            return "session"
        if self.client_id is not None and self.client_secret is not None:
            return "client_credentials"
        return "password"


def _check_instance_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return  # a local proxy or the fake org: see conveyor.transport
    raise ValueError(
        "instance_url must be an https URL such as https://acme.my.salesforce.com "
        "(plain http only for 127.0.0.1 or localhost)"
    )


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """``Sforce-Limit-Info: api-usage=25/15000`` -> (25, 15000)."""
    match = _LIMIT.search(header or "")
    return (int(match.group(1)), int(match.group(2))) if match else None
