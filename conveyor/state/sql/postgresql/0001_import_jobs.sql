-- Import jobs: one row per file import (conveyor.state.jobs). Applied once by
-- conveyor.state.migrations, recorded in conveyor_schema_migrations. File and mapping details
-- may be NULL: a job is recorded before its mapping is resolved, so early failures are kept too.
CREATE TABLE conveyor_import_jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_name TEXT NOT NULL,
    file_size BIGINT,
    file_sha256 TEXT,
    mapping_name TEXT,
    mapping_hash TEXT,
    target_table TEXT,
    target_url TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'succeeded', 'failed', 'dry_run')),
    rows_read BIGINT NOT NULL DEFAULT 0,
    inserted BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    duplicates BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    rejects_path TEXT,
    started_at TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at TIMESTAMP WITH TIME ZONE,
    duration_ms BIGINT,
    error TEXT
);

CREATE INDEX conveyor_import_jobs_started_at ON conveyor_import_jobs (started_at);
