package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"ward/store"
	"ward/store/audit"
)

// VerifyAudit checks every audit chain and checkpoint in this database.
// Finding tampering is a result, not an error: the Report names it.
//
// It reads the chains on the connection pool, outside any write transaction,
// so the workstation stays usable while a million entries are checked; the
// audit entry with the result is appended afterwards.
func (s *Session) VerifyAudit(ctx context.Context, progress func(done, total uint64)) (audit.Report, error) {
	if err := s.active(ctx); err != nil {
		return audit.Report{}, err
	}
	if err := s.authorize(ctx, ActAuditVerify, ""); err != nil {
		return audit.Report{}, err
	}
	rep, err := s.clinic.verifyChains(ctx, progress)
	if err != nil {
		s.record(ctx, ActAuditVerify, "", audit.OutcomeFailure, "could not read the chains")
		return rep, err
	}
	return rep, s.record(ctx, ActAuditVerify, "", audit.OutcomeSuccess, reportDetail(rep))
}

func (c *Clinic) verifyChains(ctx context.Context, progress func(done, total uint64)) (audit.Report, error) {
	var keys audit.Keys
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		keys, err = tx.NodeKeys()
		return err
	})
	if err != nil {
		return audit.Report{}, err
	}
	return audit.Verify(ctx, c.db.AuditReader(), keys, progress)
}

func reportDetail(rep audit.Report) string {
	if rep.Problem != nil {
		return "chain NOT intact: " + rep.Problem.Error()
	}
	var n uint64
	for _, c := range rep.Chains {
		n += c.Entries
	}
	return fmt.Sprintf("intact: %d chains, %d entries", len(rep.Chains), n)
}

// ExportAudit writes the audit entries that match flt to path in format f,
// with the signed manifest beside it (path + ".manifest.json"). Both files
// appear whole or not at all. The export itself is audited.
func (s *Session) ExportAudit(ctx context.Context, path string, f audit.Format, flt audit.Filter) (audit.Manifest, error) {
	var man audit.Manifest
	err := s.Do(ctx, ActAuditExport, flt.Patient, func(tx *store.Tx, w *Work) error {
		// The person filter may be given as a username; the chain holds ids.
		if flt.User != "" {
			if u, err := tx.UserByUsername(flt.User); err == nil {
				flt.User = u.ID
			}
		}
		var err error
		man, err = exportTo(ctx, tx, path, f, flt)
		w.Detail = fmt.Sprintf("exported %d entries as %s", man.Entries, f)
		return err
	})
	return man, err
}

func exportTo(ctx context.Context, tx *store.Tx, path string, f audit.Format, flt audit.Filter) (audit.Manifest, error) {
	dir := filepath.Dir(path)
	out, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return audit.Manifest{}, fmt.Errorf("cannot write the export in %s: %w", dir, err)
	}
	defer os.Remove(out.Name())
	keys, err := tx.NodeKeys()
	if err != nil {
		return audit.Manifest{}, err
	}
	man, err := audit.Export(ctx, tx.AuditDB(), out, f, flt, tx.AuditSigner(), keys)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return audit.Manifest{}, err
	}
	mpath := ManifestPath(path)
	mf, err := os.Create(mpath)
	if err != nil {
		return audit.Manifest{}, err
	}
	if err := audit.WriteManifest(mf, man); err != nil {
		mf.Close()
		return audit.Manifest{}, err
	}
	if err := mf.Close(); err != nil {
		return audit.Manifest{}, err
	}
	return man, os.Rename(out.Name(), path)
}

// ManifestPath is where the manifest of an export at path is written.
func ManifestPath(path string) string { return path + ".manifest.json" }

// CheckReport is what `ward check` found.
type CheckReport struct {
	Integrity []string // problems from SQLite and SQLCipher checks; empty = sound
	Audit     audit.Report
}

// OK tells whether everything checked out.
func (r CheckReport) OK() bool { return len(r.Integrity) == 0 && r.Audit.Problem == nil }

// Check runs the database integrity checks and verifies the audit chains.
// It needs no signed-in person (it reads no patient data); it is audited as
// the workstation itself.
func (c *Clinic) Check(ctx context.Context) (CheckReport, error) {
	var rep CheckReport
	var err error
	if rep.Integrity, err = c.db.IntegrityProblems(ctx); err != nil {
		return rep, err
	}
	if rep.Audit, err = c.verifyChains(ctx, nil); err != nil {
		return rep, err
	}
	err = c.db.Update(ctx, func(tx *store.Tx) error {
		user := SystemUser
		if c.viaKit {
			user = EmergencyKitUser
		}
		detail := reportDetail(rep.Audit)
		if len(rep.Integrity) > 0 {
			detail += fmt.Sprintf("; %d integrity problems", len(rep.Integrity))
		}
		_, err = tx.Audit(audit.Event{User: user, Action: string(ActClinicCheck), Outcome: audit.OutcomeSuccess, Detail: detail})
		return err
	})
	return rep, err
}

// ReviewAudit reads one page of the audit log for the security officer's
// viewer (newest first; r.Before pages on). Looking is itself audited: one
// entry per page, naming the filters, never their results. A person filter
// may be a username; the chain holds ids.
//
// Like VerifyAudit it reads on the connection pool, outside any write
// transaction: a filter that matches little in a million entries reads for
// seconds, and the workstation must stay writable meanwhile.
func (s *Session) ReviewAudit(ctx context.Context, r audit.Review) ([]audit.Entry, error) {
	if err := s.active(ctx); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, ActAuditRead, r.Patient); err != nil {
		return nil, err
	}
	if r.User != "" { // staff accounts are not patient data: a short read of its own
		s.clinic.db.Update(ctx, func(tx *store.Tx) error {
			if u, err := tx.UserByUsername(r.User); err == nil {
				r.User = u.ID
			}
			return nil
		})
	}
	page, err := audit.Page(ctx, s.clinic.db.AuditReader(), r)
	if err != nil {
		if ctx.Err() == nil {
			s.record(ctx, ActAuditRead, r.Patient, audit.OutcomeFailure, "could not read the audit log")
		}
		return nil, err
	}
	detail := fmt.Sprintf("reviewed %d entries (user %q, action %q, outcome %q, from %s, to %s)",
		len(page), r.User, r.Action, r.Outcome, timeOrAny(r.From), timeOrAny(r.To))
	return page, s.record(ctx, ActAuditRead, r.Patient, audit.OutcomeSuccess, detail)
}

func timeOrAny(t time.Time) string {
	if t.IsZero() {
		return "any"
	}
	return t.UTC().Format(time.RFC3339)
}
