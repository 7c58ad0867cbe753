-- 005: the replica (issue 5): what a peer needs to apply a write, the clinic
-- key, per-field clocks of demographics, and this workstation's replica
-- bookkeeping. See docs/replica.md for the rules and docs/formats.md for the
-- segment and snapshot files.

-- The change log carries the row itself: every column of the table as it is
-- after the write (JSON, see store/rowjson.go), so one generic applier works
-- for every replicated table. data stays what history shows. '' = a version
-- logged before 005: history only, nothing to apply.
ALTER TABLE change_log ADD COLUMN row_json TEXT NOT NULL DEFAULT '';
-- For an entry that came from a peer: its seq in the origin's change log
-- (NULL for this workstation's own writes, whose origin seq is seq). A
-- replayed entry is recognised by (origin, origin_seq).
ALTER TABLE change_log ADD COLUMN origin_seq INTEGER;
CREATE UNIQUE INDEX change_log_by_origin ON change_log(origin, origin_seq) WHERE origin_seq IS NOT NULL;

-- Workstations replicate: a node admitted or revoked on one is known to all.
-- A node row's key never changes (the id is derived from it); revoked_at,
-- once set anywhere, stays (the earliest wins).
ALTER TABLE nodes ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN hlc INTEGER NOT NULL DEFAULT 0;

-- The clinic key: 32 random bytes shared by every workstation of the clinic
-- (handed over only by pairing), sealing segments and snapshots end to end.
-- Never replicated through the change log.
CREATE TABLE clinic_key (
    one        INTEGER PRIMARY KEY CHECK (one = 1),
    key        BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- Demographics merge per field: the HLC and origin of the write that last
-- changed each field of a patient. A field never changed since the patient
-- was registered has no row (it still holds what the registration wrote,
-- the same on every workstation). The trigger keeps it for every write on
-- this workstation; the replica's applier writes the merged clocks itself.
-- A migration that adds a column to patients adds it here too
-- (TestPatientClockTriggerCoversColumns checks).
CREATE TABLE patient_field_clocks (
    patient_id TEXT NOT NULL,
    field      TEXT NOT NULL,
    hlc        INTEGER NOT NULL,
    origin     TEXT NOT NULL,
    PRIMARY KEY (patient_id, field)
) WITHOUT ROWID;
CREATE TRIGGER patients_field_clocks AFTER UPDATE ON patients BEGIN
    INSERT INTO patient_field_clocks(patient_id, field, hlc, origin)
    SELECT new.id, f, new.hlc, new.origin FROM (
                  SELECT 'mrn' AS f WHERE new.mrn IS NOT old.mrn
        UNION ALL SELECT 'name' WHERE new.name IS NOT old.name
        UNION ALL SELECT 'birth_date' WHERE new.birth_date IS NOT old.birth_date
        UNION ALL SELECT 'sex' WHERE new.sex IS NOT old.sex
        UNION ALL SELECT 'phone' WHERE new.phone IS NOT old.phone
        UNION ALL SELECT 'address' WHERE new.address IS NOT old.address
        UNION ALL SELECT 'restricted' WHERE new.restricted IS NOT old.restricted
        UNION ALL SELECT 'created_at' WHERE new.created_at IS NOT old.created_at
        UNION ALL SELECT 'updated_at' WHERE new.updated_at IS NOT old.updated_at
        UNION ALL SELECT 'deleted' WHERE new.deleted IS NOT old.deleted
        UNION ALL SELECT 'merged_into' WHERE new.merged_into IS NOT old.merged_into
    ) WHERE true
    ON CONFLICT(patient_id, field) DO UPDATE SET hlc = excluded.hlc, origin = excluded.origin;
END;

-- What this workstation has written to its outbox: the last segment and the
-- change-log and audit seqs it reached. The outbox itself is the truth (a
-- crash between writing a segment and updating this row is repaired from
-- the newest file's header at the next export).
CREATE TABLE replica_export (
    one        INTEGER PRIMARY KEY CHECK (one = 1),
    segment    INTEGER NOT NULL,
    change_seq INTEGER NOT NULL,
    audit_seq  INTEGER NOT NULL,
    created    INTEGER NOT NULL              -- unix nanoseconds, of that segment
);

-- How far each peer's stream has been applied here.
CREATE TABLE replica_peers (
    node       TEXT PRIMARY KEY,
    segment    INTEGER NOT NULL DEFAULT 0,   -- number of the last segment applied
    change_seq INTEGER NOT NULL DEFAULT 0,   -- last change-log seq of the origin applied
    audit_seq  INTEGER NOT NULL DEFAULT 0,   -- last audit seq of the origin's chain held
    created    INTEGER NOT NULL DEFAULT 0,   -- created time of that segment, unix ns
    applied_at INTEGER NOT NULL DEFAULT 0    -- when it was applied here, unix ns
);

-- Segments refused here: moved to <data>/replica/quarantine/, nothing of
-- them applied. reason is a sentence without patient data.
CREATE TABLE replica_quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    origin      TEXT NOT NULL,
    segment     INTEGER NOT NULL DEFAULT 0,
    file        TEXT NOT NULL,               -- name inside the quarantine folder
    kind        TEXT NOT NULL,               -- bad-signature, unknown-node, revoked, gap, corrupt, refused, misfiled
    reason      TEXT NOT NULL,
    at          INTEGER NOT NULL,            -- unix nanoseconds
    resolved_at INTEGER                      -- set when the file went back to be tried again
);
CREATE INDEX replica_quarantine_open ON replica_quarantine(origin, resolved_at);
