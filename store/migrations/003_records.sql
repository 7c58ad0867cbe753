-- 003: clinic records — merged patients, resolved problems, and the SQL
-- guard that keeps a signed note as it was signed.

-- A duplicate patient folded into another by a merge: the duplicate is a
-- tombstone (deleted = 1) that names the record it lives on in, so an old
-- id (on paper, in a peer's queue) can be followed to the right chart.
ALTER TABLE patients ADD COLUMN merged_into TEXT NOT NULL DEFAULT '';

-- When a problem stopped being active (YYYY-MM-DD, '' while active).
ALTER TABLE problems ADD COLUMN resolved_on TEXT NOT NULL DEFAULT '';

-- A signed note is a legal record: what it says, who wrote it, when it was
-- signed and which note it amends never change again, whatever program
-- writes to this database. The check compares values rather than naming
-- columns in UPDATE OF, so the writes that must still reach a signed note go
-- through: a merge re-pointing patient_id, and the replica re-applying the
-- same signed row (same values, new origin/hlc). An amendment is a new row.
CREATE TRIGGER notes_signed_immutable BEFORE UPDATE ON notes
WHEN old.status = 'signed' AND (
       new.body         IS NOT old.body
    OR new.status       IS NOT old.status
    OR new.signed_at    IS NOT old.signed_at
    OR new.author_id    IS NOT old.author_id
    OR new.amends_id    IS NOT old.amends_id
    OR new.encounter_id IS NOT old.encounter_id
    OR new.created_at   IS NOT old.created_at
    OR new.deleted      IS NOT old.deleted)
BEGIN
    SELECT RAISE(ABORT, 'a signed note cannot be changed: write an amendment instead');
END;

-- Rows are never removed (tombstones replicate); a signed note least of all.
CREATE TRIGGER notes_signed_kept BEFORE DELETE ON notes
WHEN old.status = 'signed'
BEGIN
    SELECT RAISE(ABORT, 'a signed note cannot be deleted: write an amendment instead');
END;

-- A note is signed only with the time it was signed.
CREATE TRIGGER notes_signed_has_time BEFORE UPDATE OF status ON notes
WHEN new.status = 'signed' AND new.signed_at IS NULL
BEGIN
    SELECT RAISE(ABORT, 'a note is signed only with the time of signing');
END;

-- Amendments are looked up by the note they amend (version chains).
CREATE INDEX notes_by_amends ON notes(amends_id) WHERE amends_id IS NOT NULL;

-- History reads a row's versions from the change log.
CREATE INDEX change_log_by_row ON change_log(table_name, row_id);

-- One clinician's day: equality on the clinician, then the time range.
CREATE INDEX appointments_by_clinician ON appointments(clinician_id, starts_at);
