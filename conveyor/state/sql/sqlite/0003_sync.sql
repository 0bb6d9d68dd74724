-- Sync control tables (conveyor.state.sync): runs, cursors, links, conflicts, parked records.
-- Values are JSON objects keyed by the local field names of the job, in the form the local
-- table holds them (decimals and datetimes as text), so equality is exact.
-- Timestamps are ISO 8601 UTC text, which sorts in time order.

-- One row per sync run, with its counts (every record read ends in exactly one of them).
CREATE TABLE conveyor_sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'succeeded', 'failed', 'dry_run')),
    counts TEXT NOT NULL DEFAULT '{}',
    remote_calls INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    error TEXT
);
CREATE INDEX conveyor_sync_runs_job ON conveyor_sync_runs (job, started_at);

-- Where each side's incremental read continues: the newest modification time fully handled.
CREATE TABLE conveyor_sync_cursors (
    job TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('local', 'remote')),
    position TEXT,
    runs_since_scan INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job, side)
);

-- One row per linked record pair, with the values both sides last agreed on and the
-- modification time of each side's version that was last handled.
CREATE TABLE conveyor_sync_links (
    job TEXT NOT NULL,
    local_key TEXT NOT NULL,
    -- NULL while a create is in flight (pending holds what was sent)
    remote_id TEXT,
    agreed TEXT NOT NULL,
    agreed_hash TEXT NOT NULL,
    local_modified_at TEXT,
    remote_modified_at TEXT,
    -- the side our last write went to ('local', 'remote', 'both'): its next read is an echo
    last_written TEXT,
    -- the values a remote write in flight will leave on both sides, written before the write
    -- and cleared with the commit after it: a run after a crash knows what it had sent
    pending TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job, local_key)
);
CREATE UNIQUE INDEX conveyor_sync_links_remote ON conveyor_sync_links (job, remote_id);

-- Records changed on both sides that the policy left to a person (policy manual).
CREATE TABLE conveyor_sync_conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    local_key TEXT NOT NULL,
    remote_id TEXT NOT NULL,
    local_values TEXT NOT NULL,
    remote_values TEXT NOT NULL,
    base_values TEXT NOT NULL,
    fields TEXT NOT NULL,
    -- open: waiting for a person; resolved: the next run applies it; closed: applied
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'closed')),
    resolution TEXT CHECK (resolution IN ('local', 'remote', 'merged')),
    created_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE UNIQUE INDEX conveyor_sync_conflicts_open ON conveyor_sync_conflicts (job, local_key)
    WHERE status = 'open';

-- Records a side refused (or that failed past their retries): kept with the reason, retried
-- on later runs with backoff, or replayed or discarded from the command line.
CREATE TABLE conveyor_sync_parked (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('local', 'remote')),
    local_key TEXT,
    remote_id TEXT,
    payload TEXT NOT NULL,
    error_class TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    next_attempt_at TEXT,
    status TEXT NOT NULL DEFAULT 'parked' CHECK (status IN ('parked', 'discarded', 'done')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX conveyor_sync_parked_job ON conveyor_sync_parked (job, status, next_attempt_at);
