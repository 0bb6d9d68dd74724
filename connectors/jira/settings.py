"""Connection settings of the Jira connector (secrets typed SecretStr, never printed)."""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["AuthMode", "JiraSettings"]

AuthMode = Literal["cloud", "token", "basic"]
_LOOPBACK = ("127.0.0.1", "localhost")


class JiraSettings(BaseModel):
    """How to reach one Jira site. Exactly one way to authenticate must be complete."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The site: https://acme.atlassian.net, or a Data Center URL.")
    email: str | None = Field(None, description="Jira Cloud: the user's e-mail address.")
    api_token: SecretStr | None = Field(None, description="Jira Cloud: the user's API token.")
    token: SecretStr | None = Field(None, description="Data Center: a personal access token.")
    username: str | None = Field(None, description="Data Center basic auth: the user.")
    password: SecretStr | None = Field(None, description="Data Center basic auth: the password.")
    issue_type: str = Field("Task", description="The issue type new issues are created as.")
    markdown: bool = Field(
        True,
        description="Rich text (descriptions, comments) as Markdown locally; false: plain text.",
    )
    label_prefix: str = Field(
        "conveyor-",
        pattern=r"^\S+$",
        description="With external_id_field 'labels': our key is kept as the label PREFIX+key.",
    )
    page_size: int = Field(100, ge=1, le=100, description="Issues per search page.")
    scan_page_size: int = Field(
        5000, ge=1, le=5000, description="Issue keys per page of a delete-detection scan."
    )
    timeout_seconds: float = Field(60, gt=0, description="Give up on a call after this long.")
    issue_write_interval: float = Field(
        0.2,
        ge=0,
        description="Seconds between two writes to one issue (an edit, a transition, its "
        "comments), under Jira Cloud's per-issue write limit; 0: no spacing.",
    )

    @model_validator(mode="after")
    def _one_complete_auth(self) -> Self:
        parts = urlsplit(self.url)
        if not (
            (parts.scheme == "https" and parts.hostname)
            or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
        ):
            raise ValueError(
                "url must be an https URL such as https://acme.atlassian.net "
                "(plain http only for 127.0.0.1 or localhost)"
            )
        complete = {
            "cloud": self.email is not None and self.api_token is not None,
            "token": self.token is not None,
            "basic": self.username is not None and self.password is not None,
        }
        if sum(complete.values()) != 1:
            raise ValueError(
                "give one way in: email + api_token (Jira Cloud), or token (a Data Center "
                "personal access token), or username + password (Data Center)"
            )
        return self

    @property
    def auth_mode(self) -> AuthMode:
        if self.token is not None:
            return "token"
        return "cloud" if self.email is not None else "basic"
