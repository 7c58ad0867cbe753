-- 001: the first schema of a Ward workstation database.
--
-- Every clinic record row carries the replica columns:
--   id      UUIDv7 (text), unique across all workstations
--   origin  node id of the workstation that last wrote the row
--   hlc     hybrid logical clock of that write (48-bit ms << 16 | 16-bit counter);
--           last-writer-wins compares (hlc, origin)
--   deleted tombstone: 1 = deleted; rows are never removed so deletes replicate
-- SQLite 3.33 (bundled with SQLCipher 4.4.2): no STRICT, no RETURNING, no DROP COLUMN.

-- This workstation and the workstations it knows. The signing key of this node
-- lives only here, inside the encrypted database.
CREATE TABLE nodes (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    public_key  BLOB NOT NULL,
    added_at    INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE TABLE node_self (
    one         INTEGER PRIMARY KEY CHECK (one = 1),
    node_id     TEXT NOT NULL REFERENCES nodes(id),
    signing_key BLOB NOT NULL
);

-- Clinic-wide settings (replicated). The key is the row identity.
CREATE TABLE settings (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL,
    origin  TEXT NOT NULL,
    hlc     INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);

-- People who sign in. Never deleted: a disabled user's id stays in the audit chain.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,            -- PHC string: $argon2id$v=19$m=65536,t=3,p=4$salt$hash
    roles         TEXT NOT NULL DEFAULT '', -- comma-separated: frontdesk,clinician,security,admin
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    origin        TEXT NOT NULL,
    hlc           INTEGER NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE patients (
    id           TEXT PRIMARY KEY,
    mrn          TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    birth_date   TEXT NOT NULL,             -- YYYY-MM-DD
    sex          TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    search_terms TEXT NOT NULL DEFAULT '',  -- what patient search matches; written by store (searchTerms)
    address      TEXT NOT NULL DEFAULT '',
    restricted   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    origin       TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0
);

-- Patient search. One FTS5 column of terms that store computes per patient:
-- the name's words as they are, and tagged terms m_<mrn>, p_<phone digits>,
-- d_<yyyymmdd>. '_' is a token character, so no word a person types can
-- collide with a tagged term, and every query is a few single-term prefix
-- lookups (column filters and cross-column ORs cost 5-10x more on 3.33).
-- External content: bulk loads drop the triggers, insert, then 'rebuild';
-- store re-creates the triggers from sqlite_master, so their text lives only here.
CREATE VIRTUAL TABLE patients_fts USING fts5(
    search_terms,
    content = 'patients', content_rowid = 'rowid',
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_'",
    prefix = '1 2 3 4'
);
CREATE TRIGGER patients_fts_insert AFTER INSERT ON patients BEGIN
    INSERT INTO patients_fts(rowid, search_terms) VALUES (new.rowid, new.search_terms);
END;
CREATE TRIGGER patients_fts_delete AFTER DELETE ON patients BEGIN
    INSERT INTO patients_fts(patients_fts, rowid, search_terms) VALUES ('delete', old.rowid, old.search_terms);
END;
CREATE TRIGGER patients_fts_update AFTER UPDATE OF search_terms ON patients BEGIN
    INSERT INTO patients_fts(patients_fts, rowid, search_terms) VALUES ('delete', old.rowid, old.search_terms);
    INSERT INTO patients_fts(rowid, search_terms) VALUES (new.rowid, new.search_terms);
END;

CREATE TABLE appointments (
    id           TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL REFERENCES patients(id),
    clinician_id TEXT NOT NULL REFERENCES users(id),
    starts_at    INTEGER NOT NULL,          -- unix seconds
    minutes      INTEGER NOT NULL DEFAULT 15,
    status       TEXT NOT NULL DEFAULT 'booked', -- booked, checked_in, no_show, cancelled, done
    reason       TEXT NOT NULL DEFAULT '',
    origin       TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX appointments_by_day ON appointments(starts_at, clinician_id);
CREATE INDEX appointments_by_patient ON appointments(patient_id, starts_at);

CREATE TABLE encounters (
    id           TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL REFERENCES patients(id),
    clinician_id TEXT NOT NULL REFERENCES users(id),
    started_at   INTEGER NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'visit',
    status       TEXT NOT NULL DEFAULT 'open', -- open, closed
    origin       TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX encounters_by_patient ON encounters(patient_id, started_at);

-- Notes: draft -> signed. A signed note is immutable; an amendment is a new row
-- whose amends_id points at the version it replaces.
CREATE TABLE notes (
    id           TEXT PRIMARY KEY,
    encounter_id TEXT NOT NULL REFERENCES encounters(id),
    patient_id   TEXT NOT NULL REFERENCES patients(id),
    author_id    TEXT NOT NULL REFERENCES users(id),
    amends_id    TEXT REFERENCES notes(id),
    body         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'draft', -- draft, signed
    created_at   INTEGER NOT NULL,
    signed_at    INTEGER,
    origin       TEXT NOT NULL,
    hlc          INTEGER NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notes_by_patient ON notes(patient_id, created_at);

CREATE TABLE allergies (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patients(id),
    substance   TEXT NOT NULL,
    reaction    TEXT NOT NULL DEFAULT '',
    severity    TEXT NOT NULL DEFAULT '',   -- mild, moderate, severe
    status      TEXT NOT NULL DEFAULT 'active',
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at INTEGER NOT NULL,
    origin      TEXT NOT NULL,
    hlc         INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX allergies_by_patient ON allergies(patient_id);

CREATE TABLE medications (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patients(id),
    name        TEXT NOT NULL,
    dose        TEXT NOT NULL DEFAULT '',
    route       TEXT NOT NULL DEFAULT '',
    frequency   TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'active', -- active, stopped
    started_on  TEXT NOT NULL DEFAULT '',
    stopped_on  TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at INTEGER NOT NULL,
    origin      TEXT NOT NULL,
    hlc         INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX medications_by_patient ON medications(patient_id);

CREATE TABLE problems (
    id          TEXT PRIMARY KEY,
    patient_id  TEXT NOT NULL REFERENCES patients(id),
    description TEXT NOT NULL,
    code        TEXT NOT NULL DEFAULT '',   -- ICD-10 or SNOMED CT, optional
    status      TEXT NOT NULL DEFAULT 'active', -- active, resolved
    onset       TEXT NOT NULL DEFAULT '',
    recorded_by TEXT NOT NULL REFERENCES users(id),
    recorded_at INTEGER NOT NULL,
    origin      TEXT NOT NULL,
    hlc         INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX problems_by_patient ON problems(patient_id);

-- The change log: every local write to a record table, in commit order. The
-- replica seals ranges of it into segments. data is the row after the write (JSON).
CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    hlc        INTEGER NOT NULL,
    origin     TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    op         TEXT NOT NULL,               -- upsert, delete
    data       TEXT NOT NULL
);

-- The audit chains: one per node (this node's and, via the replica, its peers').
-- hash = SHA-256(previous hash || canonical encoding of the entry); see docs/formats.md.
CREATE TABLE audit_entries (
    node      TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,             -- unix nanoseconds, UTC
    user_id   TEXT NOT NULL,
    action    TEXT NOT NULL,
    patient_id TEXT NOT NULL DEFAULT '',
    outcome   TEXT NOT NULL,                -- success, denied, failure
    detail    TEXT NOT NULL DEFAULT '',
    grant_id  TEXT NOT NULL DEFAULT '',
    hash      BLOB NOT NULL,
    PRIMARY KEY (node, seq)
) WITHOUT ROWID;
CREATE INDEX audit_by_time ON audit_entries(at);
CREATE INDEX audit_by_user ON audit_entries(user_id, at);
CREATE INDEX audit_by_patient ON audit_entries(patient_id, at);

-- Signed checkpoints: the node's Ed25519 signature over (node, seq, head hash, time).
CREATE TABLE audit_checkpoints (
    node      TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    head      BLOB NOT NULL,
    at        INTEGER NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (node, seq)
) WITHOUT ROWID;
