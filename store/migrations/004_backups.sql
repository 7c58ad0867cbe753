-- 004: backups and restore drills of this workstation (issue 7).
--
-- One row per attempt, kept for `ward backup status` and the evidence report.
-- Local to the workstation like its audit chain's own bookkeeping: not a
-- clinic record, so no replica columns and no change-log rows. Never holds
-- patient data or key material: detail is a finding or a failure's sentence.
CREATE TABLE backup_runs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL,               -- backup, drill
    user_id  TEXT NOT NULL,               -- who ran it; 'system' for the schedule
    at       INTEGER NOT NULL,            -- when it finished, unix nanoseconds UTC
    took_ms  INTEGER NOT NULL DEFAULT 0,
    outcome  TEXT NOT NULL,               -- success, failure
    file     TEXT NOT NULL DEFAULT '',    -- the backup file
    bytes    INTEGER NOT NULL DEFAULT 0,
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_by_kind ON backup_runs(kind, outcome, at);
