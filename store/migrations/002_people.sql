-- 002: people and sessions.

-- A person's quick-unlock PIN (argon2id PHC string, '' = none) and second
-- factor (RFC 6238 TOTP secret, raw bytes; enabled once a first code verified).
-- They replicate with the person, so the same PIN and authenticator work on
-- every workstation of the clinic.
ALTER TABLE users ADD COLUMN pin_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at INTEGER NOT NULL DEFAULT 0;

-- Sign-in protection of THIS workstation (not replicated): consecutive
-- failures, the back-off they earned, the lock an administrator must lift
-- after too many, when the person last signed in here with a password (the
-- PIN only unlocks within a window after that), and wrong PINs since.
CREATE TABLE auth_state (
    user_id       TEXT PRIMARY KEY REFERENCES users(id),
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER NOT NULL DEFAULT 0,  -- unix seconds
    admin_locked  INTEGER NOT NULL DEFAULT 0,
    password_at   INTEGER NOT NULL DEFAULT 0,  -- unix seconds
    pin_failures  INTEGER NOT NULL DEFAULT 0,
    last_totp_step INTEGER NOT NULL DEFAULT 0  -- a TOTP code is accepted once
);

-- Restricted charts: the clinicians named for a restricted patient.
CREATE TABLE patient_access (
    id         TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    granted_by TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    origin     TEXT NOT NULL,
    hlc        INTEGER NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX patient_access_pair ON patient_access(patient_id, user_id);
