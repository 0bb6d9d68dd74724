-- Durable imports: per-batch checkpoints, resumable jobs, skipped re-imports, delete counts.
-- loaded_rows: rows of the deduplicated stream committed so far (each batch commits its rows
-- and this checkpoint in one transaction); phase: 'loading', or 'applied' once a replace has
-- swapped the table's rows; the count columns hold the committed batches' totals while running.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt (same ids).
CREATE TABLE conveyor_import_jobs_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_name TEXT NOT NULL,
    file_size INTEGER,
    file_sha256 TEXT,
    mapping_name TEXT,
    mapping_hash TEXT,
    target_table TEXT,
    target_url TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'succeeded', 'failed', 'dry_run', 'skipped')),
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
    error TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    loaded_rows INTEGER NOT NULL DEFAULT 0,
    phase TEXT NOT NULL DEFAULT 'loading'
);
INSERT INTO conveyor_import_jobs_new (
    id, file_name, file_size, file_sha256, mapping_name, mapping_hash, target_table, target_url,
    status, rows_read, inserted, updated, unchanged, duplicates, rejected, rejects_path,
    started_at, finished_at, duration_ms, error
)
SELECT
    id, file_name, file_size, file_sha256, mapping_name, mapping_hash, target_table, target_url,
    status, rows_read, inserted, updated, unchanged, duplicates, rejected, rejects_path,
    started_at, finished_at, duration_ms, error
FROM conveyor_import_jobs;
DROP TABLE conveyor_import_jobs;
ALTER TABLE conveyor_import_jobs_new RENAME TO conveyor_import_jobs;
CREATE INDEX conveyor_import_jobs_started_at ON conveyor_import_jobs (started_at);
CREATE INDEX conveyor_import_jobs_file ON conveyor_import_jobs (file_sha256, target_table);

-- Rows the target refused in committed batches (a resumed job reports them too).
CREATE TABLE conveyor_import_rejects (
    job_id INTEGER NOT NULL REFERENCES conveyor_import_jobs (id) ON DELETE CASCADE,
    row_number INTEGER NOT NULL,
    sheet TEXT,
    error TEXT NOT NULL
);
CREATE INDEX conveyor_import_rejects_job ON conveyor_import_rejects (job_id);
