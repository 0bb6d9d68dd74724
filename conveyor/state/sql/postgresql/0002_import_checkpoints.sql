-- Durable imports: per-batch checkpoints, resumable jobs, skipped re-imports, delete counts.
-- loaded_rows: rows of the deduplicated stream committed so far (each batch commits its rows
-- and this checkpoint in one transaction); phase: 'loading', or 'applied' once a replace has
-- swapped the table's rows; the count columns hold the committed batches' totals while running.
ALTER TABLE conveyor_import_jobs ADD COLUMN deleted BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conveyor_import_jobs ADD COLUMN removed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conveyor_import_jobs ADD COLUMN loaded_rows BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conveyor_import_jobs ADD COLUMN phase TEXT NOT NULL DEFAULT 'loading';
ALTER TABLE conveyor_import_jobs DROP CONSTRAINT conveyor_import_jobs_status_check;
ALTER TABLE conveyor_import_jobs ADD CONSTRAINT conveyor_import_jobs_status_check
    CHECK (status IN ('running', 'succeeded', 'failed', 'dry_run', 'skipped'));
CREATE INDEX conveyor_import_jobs_file ON conveyor_import_jobs (file_sha256, target_table);

-- Rows the target refused in committed batches (a resumed job reports them too).
CREATE TABLE conveyor_import_rejects (
    job_id BIGINT NOT NULL REFERENCES conveyor_import_jobs (id) ON DELETE CASCADE,
    row_number BIGINT NOT NULL,
    sheet TEXT,
    error TEXT NOT NULL
);
CREATE INDEX conveyor_import_rejects_job ON conveyor_import_rejects (job_id);
