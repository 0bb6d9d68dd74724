-- Import jobs: one row per file import (conveyor.state.jobs). Applied once by
-- conveyor.state.migrations, recorded in conveyor_schema_migrations. File and mapping details
-- may be NULL: a job is recorded before its mapping is resolved, so early failures are kept too.
-- Timestamps are ISO 8601 UTC text ("2024-01-31T08:00:00.000000+00:00"), which sorts in time order.
CREATE TABLE conveyor_import_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name TEXT NOT NULL,
    file_size INTEGER,
    file_sha256 TEXT,
    mapping_name TEXT,
    mapping_hash TEXT,
    target_table TEXT,
    target_url TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'succeeded', 'failed', 'dry_run')),
    rows_read INTEGER NOT NULL DEFAULT 0,
    inserted INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    rejects_path TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    error TEXT
);

CREATE INDEX conveyor_import_jobs_started_at ON conveyor_import_jobs (started_at);
