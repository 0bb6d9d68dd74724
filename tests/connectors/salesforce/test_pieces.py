"""The Salesforce connector's pure pieces: SOQL text, the error table, settings."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from connectors.salesforce.errors import error_for_code, record_error
from connectors.salesforce.settings import SalesforceSettings, parse_limit_info
from connectors.salesforce.soql import changes_query, datetime_literal, ids_query
from conveyor.errors import ConfigError, RecordError, TransientError


def test_datetime_literals_are_unquoted_utc_with_z() -> None:
    moment = dt.datetime(2025, 1, 1, 1, 2, 3, 456789, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert datetime_literal(moment) == "2025-01-01T00:02:03.456Z"
    with pytest.raises(ValueError, match="time zone"):
        datetime_literal(dt.datetime(2025, 1, 1))


def test_changes_query_orders_ties_by_id_and_keeps_the_job_filter() -> None:
    since = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    text = changes_query("Account", ["Name", "Ext__c"], "SystemModstamp", since, "Type = 'X'")
    assert text == (
        "SELECT Id, SystemModstamp, Name, Ext__c FROM Account WHERE SystemModstamp >= "
        "2025-01-01T00:00:00.000Z AND (Type = 'X') ORDER BY SystemModstamp ASC, Id ASC"
    )
    assert "WHERE" not in changes_query("Contact", ["Account.Ext__c"], "SystemModstamp", None)
    assert ids_query("Account") == "SELECT Id FROM Account ORDER BY Id ASC"


@pytest.mark.parametrize("bad", ["Name, (SELECT Id FROM Contacts)", "Name--", "1Name", "a b"])
def test_names_that_are_not_salesforce_names_are_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="not a Salesforce field or object name"):
        changes_query("Account", [bad], "SystemModstamp", None)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (
            403,
            [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "Total Requests"}],
            TransientError,
        ),
        (400, [{"errorCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}], TransientError),
        (401, [{"errorCode": "INVALID_SESSION_ID", "message": "expired"}], ConfigError),
        (400, [{"errorCode": "MALFORMED_QUERY", "message": "bad"}], ConfigError),
        (429, "Too Many Requests", TransientError),
        (503, {"message": "down"}, TransientError),
        (404, [{"errorCode": "NOT_FOUND", "message": "gone"}], RecordError),
    ],
)
def test_errors_map_by_code_then_status(status: int, body: object, kind: type) -> None:
    error = error_for_code(status, body, retry_after=5.0)
    assert type(error) is kind
    if isinstance(error, TransientError):
        assert error.retry_after == 5.0


def test_record_errors_name_the_code_and_the_fields() -> None:
    error = record_error(
        [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ]
    )
    assert str(error) == "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] (Name)"


def test_settings_need_one_complete_way_in_and_hide_secrets() -> None:
    with pytest.raises(ValidationError, match="give username"):
        SalesforceSettings.model_validate({"username": "u"})
    with pytest.raises(ValidationError, match="need instance_url"):
        SalesforceSettings.model_validate({"client_id": "c", "client_secret": "s"})
    settings = SalesforceSettings.model_validate(
        {"username": "u", "password": "hunter2", "security_token": "tok"}
    )
    assert settings.auth_mode == "password" and "hunter2" not in repr(settings)
    session = SalesforceSettings.model_validate(
        {"instance_url": "https://x.my.salesforce.com", "access_token": "00D!abc"}
    )
    assert session.auth_mode == "session"


def test_limit_info_header() -> None:
    assert parse_limit_info("api-usage=25/15000") == (25, 15000)
    assert parse_limit_info("per-app-api-usage=1/2(appName=x); api-usage=7/100") == (7, 100)
    assert parse_limit_info(None) is None
