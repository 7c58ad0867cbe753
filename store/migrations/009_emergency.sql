-- Emergency access (break-glass). A grant opens one patient's chart to one
-- person until it expires (expires_at) or its holder ends it (ended_at). Its
-- review is a row of its own, keyed by the grant's id, so that a holder
-- ending a grant on one workstation and an officer reviewing it on another
-- never overwrite each other: both tables replicate last-writer-wins per row.
CREATE TABLE emergency_grants (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    patient_id  TEXT NOT NULL REFERENCES patients(id),
    reason      TEXT NOT NULL,              -- emergency-treatment, patient-unconscious, covering-clinician, other
    reason_text TEXT NOT NULL DEFAULT '',
    node        TEXT NOT NULL,              -- the workstation it was granted on
    started_at  INTEGER NOT NULL,           -- unix seconds
    expires_at  INTEGER NOT NULL,
    ended_at    INTEGER NOT NULL DEFAULT 0, -- 0: not ended early
    ended_by    TEXT NOT NULL DEFAULT '',   -- user id, or 'expired' when the workstation closed it
    origin      TEXT NOT NULL,
    hlc         INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX emergency_grants_by_holder ON emergency_grants(user_id, patient_id);
CREATE INDEX emergency_grants_by_start ON emergency_grants(started_at);

CREATE TABLE emergency_reviews (
    id          TEXT PRIMARY KEY REFERENCES emergency_grants(id), -- the grant's id: one review per grant
    reviewer    TEXT NOT NULL REFERENCES users(id),
    disposition TEXT NOT NULL,              -- appropriate, not-appropriate
    note        TEXT NOT NULL,
    reviewed_at INTEGER NOT NULL,
    origin      TEXT NOT NULL,
    hlc         INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0
);
