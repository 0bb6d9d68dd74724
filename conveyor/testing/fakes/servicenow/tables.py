"""The tables the fake instance holds, as a fresh ServiceNow instance defines them (trimmed to
what a connector meets).

- ``task`` and ``incident`` (extends ``task``): most incident columns are ``task``'s; incident
  adds ``caller_id``, ``category``, ``close_code``, ``close_notes``, ``resolved_at`` and the custom
  ``u_conveyor_key`` (the connector's correlation key).
- ``sys_user``, ``sys_user_group``: people and groups incidents reference.
- ``sys_dictionary``, ``sys_db_object``, ``sys_glide_object``: the data dictionary (read-only).
- ``sys_audit_delete``: one row per deleted record of an audited table (read-only).
- ``sys_import_set``, ``sys_multi_import_set``, ``sys_import_set_row`` and the staging table
  ``u_incident_import`` (extends ``sys_import_set_row``); see :mod:`.transform`.
"""

from __future__ import annotations

from typing import Any

from conveyor.testing.fakes.servicenow.schema import Column, Schema, TableDef

__all__ = ["IMPORT_STATES", "STAGING_TABLE", "build_schema"]

STAGING_TABLE = "u_incident_import"

STATE = (
    ("1", "New"),
    ("2", "In Progress"),
    ("3", "On Hold"),
    ("6", "Resolved"),
    ("7", "Closed"),
    ("8", "Canceled"),
)
PRIORITY = (
    ("1", "1 - Critical"),
    ("2", "2 - High"),
    ("3", "3 - Moderate"),
    ("4", "4 - Low"),
    ("5", "5 - Planning"),
)
LEVEL = (("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low"))
CATEGORY = (
    ("inquiry", "Inquiry / Help"),
    ("software", "Software"),
    ("hardware", "Hardware"),
    ("network", "Network"),
    ("database", "Database"),
)
CLOSE_CODE = (
    ("Solved (Work Around)", "Solved (Work Around)"),
    ("Solved (Permanently)", "Solved (Permanently)"),
    ("Not Solved (Not Reproducible)", "Not Solved (Not Reproducible)"),
    ("Closed/Resolved by Caller", "Closed/Resolved by Caller"),
)
IMPORT_STATES = ("pending", "inserted", "updated", "ignored", "skipped", "error")


def _ref(name: str, label: str, table: str, reference_key: str = "sys_id") -> Column:
    return Column(name, label, "reference", 32, reference=table, reference_key=reference_key)


def _system(name: str, label: str, columns: tuple[Column, ...], **kwargs: Any) -> TableDef:
    """A system table: ACLs refuse REST writes, and deletes are not audited (``sys_*``)."""
    return TableDef(name, label, columns, writable=False, audit_delete=False, **kwargs)


def _sys_columns() -> tuple[Column, ...]:
    """The system columns every base table defines."""
    return (
        Column("sys_id", "Sys ID", "GUID", 32, read_only=True),
        Column("sys_created_on", "Created", "glide_date_time", 40, read_only=True),
        Column("sys_created_by", "Created by", "string", 40, read_only=True),
        Column("sys_updated_on", "Updated", "glide_date_time", 40, read_only=True),
        Column("sys_updated_by", "Updated by", "string", 40, read_only=True),
        Column("sys_mod_count", "Updates", "integer", 40, read_only=True),
    )


def _dictionary_tables() -> list[TableDef]:
    return [
        _system(
            "sys_glide_object",
            "Field class",
            (Column("name", "Name"), Column("label", "Label", display=True), *_sys_columns()),
        ),
        _system(
            "sys_db_object",
            "Table",
            (
                Column("name", "Name", "string", 80),
                Column("label", "Label", "string", 80, display=True),
                _ref("super_class", "Extends table", "sys_db_object"),
                *_sys_columns(),
            ),
        ),
        _system(
            "sys_dictionary",
            "Dictionary Entry",
            (
                Column("name", "Table", "table_name", 80),
                Column("element", "Column name", "string", 80),
                Column("column_label", "Column label", "string", 80),
                _ref("internal_type", "Type", "sys_glide_object", reference_key="name"),
                Column("max_length", "Max length", "integer"),
                _ref("reference", "Reference", "sys_db_object", reference_key="name"),
                Column("mandatory", "Mandatory", "boolean"),
                Column("read_only", "Read only", "boolean"),
                Column("active", "Active", "boolean"),
                Column("display", "Display", "boolean"),
                Column(
                    "choice",
                    "Choice",
                    "integer",
                    choices=(
                        ("0", "-- None --"),
                        ("1", "Dropdown with -- None --"),
                        ("3", "Dropdown without -- None --"),
                        ("2", "Suggestion"),
                    ),
                ),
                Column("default_value", "Default value", "string", 512),
                *_sys_columns(),
            ),
        ),
        _system(
            "sys_audit_delete",
            "Deleted Records",
            (
                Column("tablename", "Table", "table_name", 80),
                Column("documentkey", "Document key", "GUID", 32, display=True),
                Column("display_value", "Display value", "string", 255),
                Column("payload", "Payload", "string", 65000),
                *_sys_columns(),
            ),
        ),
    ]


def _people_tables() -> list[TableDef]:
    return [
        TableDef(
            "sys_user",
            "User",
            (
                Column("user_name", "User ID", "string", 40),
                Column("first_name", "First name", "string", 50),
                Column("last_name", "Last name", "string", 50),
                Column("name", "Name", "string", 151, display=True),
                Column("email", "Email", "string", 100),
                Column("active", "Active", "boolean", default="true"),
                *_sys_columns(),
            ),
            audit_delete=False,
        ),
        TableDef(
            "sys_user_group",
            "Group",
            (
                Column("name", "Name", "string", 80, display=True),
                Column("description", "Description", "string", 1000),
                Column("email", "Group email", "string", 100),
                _ref("manager", "Manager", "sys_user"),
                Column("active", "Active", "boolean", default="true"),
                *_sys_columns(),
            ),
            audit_delete=False,
        ),
    ]


def _task_tables() -> list[TableDef]:
    task = TableDef(
        "task",
        "Task",
        (
            Column("number", "Number", "string", 40, display=True),
            Column("short_description", "Short description", "string", 160),
            Column("description", "Description", "string", 4000),
            Column("state", "State", "integer", choices=STATE, default="1"),
            Column("priority", "Priority", "integer", choices=PRIORITY, default="5"),
            Column("impact", "Impact", "integer", choices=LEVEL, default="3"),
            Column("urgency", "Urgency", "integer", choices=LEVEL, default="3"),
            Column("active", "Active", "boolean", default="true"),
            _ref("assignment_group", "Assignment group", "sys_user_group"),
            _ref("assigned_to", "Assigned to", "sys_user"),
            Column("opened_at", "Opened", "glide_date_time"),
            _ref("opened_by", "Opened by", "sys_user"),
            Column("closed_at", "Closed", "glide_date_time"),
            Column("correlation_id", "Correlation ID", "string", 100),
            Column("correlation_display", "Correlation display", "string", 100),
            Column("sys_class_name", "Task type", "sys_class_name", 80, read_only=True),
            *_sys_columns(),
        ),
        number_prefix="TASK",
    )
    incident = TableDef(
        "incident",
        "Incident",
        (
            _ref("caller_id", "Caller", "sys_user"),
            Column("category", "Category", "string", choices=CATEGORY, default="inquiry"),
            Column("close_code", "Resolution code", "string", choices=CLOSE_CODE),
            Column("close_notes", "Resolution notes", "string", 4000),
            Column("resolved_at", "Resolved", "glide_date_time"),
            Column("u_conveyor_key", "Conveyor key", "string", 100),
        ),
        super_class="task",
        number_prefix="INC",
    )
    return [task, incident]


def _import_tables() -> list[TableDef]:
    states = tuple((s, s.capitalize()) for s in IMPORT_STATES)
    row = _system(
        "sys_import_set_row",
        "Import Set Row",
        (
            _ref("sys_import_set", "Set", "sys_import_set"),
            Column("sys_import_row", "Row", "integer"),
            Column("sys_import_state", "State", "string", choices=states),
            Column("sys_import_state_comment", "Comment", "string", 1000),
            Column("sys_target_table", "Target table", "table_name", 80),
            Column(
                "sys_target_sys_id",
                "Target record",
                "document_id",
                32,
                reference="sys_target_table",
            ),
            Column("sys_transform_map", "Transform map", "string", 100),
            *_sys_columns(),
        ),
    )
    staging = TableDef(
        STAGING_TABLE,
        "Incident import",
        tuple(
            Column(name, label, "string", 4000 if name == "u_description" else 255)
            for name, label in (
                ("u_conveyor_key", "Conveyor key"),
                ("u_short_description", "Short description"),
                ("u_description", "Description"),
                ("u_state", "State"),
                ("u_impact", "Impact"),
                ("u_urgency", "Urgency"),
                ("u_category", "Category"),
                ("u_assignment_group", "Assignment group"),
                ("u_assigned_to", "Assigned to"),
                ("u_caller_id", "Caller"),
                ("u_correlation_id", "Correlation ID"),
            )
        ),
        super_class="sys_import_set_row",
        staging=True,
        writable=False,
        audit_delete=False,
    )
    import_set = _system(
        "sys_import_set",
        "Import Set",
        (
            Column("number", "Set", "string", 40, display=True, read_only=True),
            Column("table_name", "Import set table", "table_name", 80),
            Column(
                "state",
                "State",
                "string",
                choices=(
                    ("loading", "Loading"),
                    ("loaded", "Loaded"),
                    ("processed", "Processed"),
                    ("cancelled", "Cancelled"),
                ),
            ),
            Column(
                "mode",
                "Mode",
                "string",
                choices=(("synchronous", "Synchronous"), ("asynchronous", "Asynchronous")),
            ),
            _ref("multi_import_set", "Multi import set", "sys_multi_import_set"),
            *_sys_columns(),
        ),
        number_prefix="ISET",
    )
    multi = _system(
        "sys_multi_import_set",
        "Multi Import Set",
        (Column("state", "State", "string"), *_sys_columns()),
    )
    return [row, staging, import_set, multi]


def build_schema() -> Schema:
    schema = Schema()
    for table in [*_dictionary_tables(), *_people_tables(), *_task_tables(), *_import_tables()]:
        schema.add(table)
    return schema
