package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"ward/emergency"
	"ward/store"
	"ward/store/audit"
)

// Emergency access (break-glass). A person denied a chart — a restricted
// patient, or a role that does not open charts — whose role the clinic
// allows (SettingEmergencyRoles) opens it by giving a reason. The grant
// covers that one patient, for that person, until it expires (the clinic's
// SettingEmergencyMinutes) or they end it; every access under it carries
// its id in the audit chain; it replicates, and waits for a security
// officer's review. Nothing here needs the network or a second person.

// GrantView is a grant as screens and the CLI show it.
type GrantView struct {
	store.Grant
	Holder      string // the holder's display name
	HolderLogin string
	Patient     string // the patient's name and MRN (officers reviewing need to know whom)
	Reviewer    string
	State       emergency.State
	TimeLeft    time.Duration
	Overdue     bool // unreviewed past the clinic's review window
}

// ErrGrantNotNeeded: the person can already open this chart.
var ErrGrantNotNeeded = errors.New("you can already open this chart; emergency access is only for charts you are denied")

// BreakGlass starts an emergency grant to one patient's chart. reason is a
// code of emergency.Reasons; text is required for "other".
func (s *Session) BreakGlass(ctx context.Context, patientID, reason, text string) (store.Grant, error) {
	text, err := emergency.CheckReason(reason, text)
	if err != nil {
		return store.Grant{}, &ValidationError{"reason", err.(*emergency.InputError).Problem}
	}
	var g store.Grant
	err = s.Do(ctx, ActEmergencyStart, patientID, func(tx *store.Tx, w *Work) error {
		if _, err := tx.LivePatient(patientID); err != nil {
			return err
		}
		if running, err := tx.ActiveGrant(s.user.ID, patientID, s.clinic.now()); err == nil {
			return fmt.Errorf("you already have emergency access to this chart until %s; end it first to start another",
				running.Expires.Local().Format("15:04"))
		}
		restricted, err := tx.PatientRestricted(patientID)
		if err != nil {
			return err
		}
		named, err := tx.MayOpenRestricted(patientID, s.user.ID)
		if err != nil {
			return err
		}
		if Allowed(s.user.Roles, ActChartRead) && (!restricted || named) {
			return ErrGrantNotNeeded
		}
		minutes, err := intSetting(tx, SettingEmergencyMinutes, int(emergency.DefaultLength/time.Minute))
		if err != nil {
			return err
		}
		g, err = tx.AddGrant(store.Grant{UserID: s.user.ID, PatientID: patientID, Reason: reason, ReasonText: text},
			s.clinic.now(), time.Duration(minutes)*time.Minute)
		if err != nil {
			return err
		}
		// The free text stays in the grant (encrypted, replicated); the
		// chain names the code, so an audit export carries no narrative.
		w.Grant = g.ID
		w.Detail = fmt.Sprintf("emergency access started; reason %s; expires %s", reason, g.Expires.UTC().Format(time.RFC3339))
		return nil
	})
	if err == nil {
		s.noteGrant(g)
	}
	return g, err
}

// EndGrant ends the person's own running grant before it expires.
func (s *Session) EndGrant(ctx context.Context, grantID string) (store.Grant, error) {
	var g store.Grant
	err := s.Do(ctx, ActEmergencyEnd, "", func(tx *store.Tx, w *Work) error {
		cur, err := tx.Grant(grantID)
		if err != nil {
			return err
		}
		w.Patient, w.Grant = cur.PatientID, cur.ID
		if cur.UserID != s.user.ID {
			return &DeniedError{Action: ActEmergencyEnd, Roles: s.user.Roles, Reason: "only the person who started an emergency grant ends it early"}
		}
		if !cur.ActiveAt(s.clinic.now()) {
			return fmt.Errorf("this emergency access has already %s", emergency.StateAt(cur, s.clinic.now()))
		}
		g, err = tx.EndGrant(grantID, s.clinic.now(), s.user.ID)
		w.Detail = "emergency access ended early by its holder"
		return err
	})
	if err == nil {
		s.noteGrant(g)
	}
	return g, err
}

// ReviewGrant records a security officer's disposition of a grant. Nobody
// reviews their own.
func (s *Session) ReviewGrant(ctx context.Context, grantID, disposition, note string) (store.Grant, error) {
	note, err := emergency.CheckReview(disposition, note)
	if err != nil {
		ie := err.(*emergency.InputError)
		return store.Grant{}, &ValidationError{ie.Field, ie.Problem}
	}
	var g store.Grant
	err = s.Do(ctx, ActEmergencyReview, "", func(tx *store.Tx, w *Work) error {
		cur, err := tx.Grant(grantID)
		if err != nil {
			return err
		}
		w.Patient, w.Grant = cur.PatientID, cur.ID
		if cur.UserID == s.user.ID {
			return &DeniedError{Action: ActEmergencyReview, Roles: s.user.Roles,
				Reason: "nobody reviews their own emergency access: another security officer must"}
		}
		g, err = tx.ReviewGrant(grantID, store.GrantReview{ReviewerID: s.user.ID, Disposition: disposition, Note: note, At: s.clinic.now()})
		w.Detail = "emergency access reviewed: " + disposition
		return err
	})
	return g, err
}

// GrantFilter chooses grants for EmergencyGrants.
type GrantFilter = store.GrantFilter

// EmergencyGrants lists grants for a security officer, newest first, with
// who held them, for whom, and whether their review is overdue.
func (s *Session) EmergencyGrants(ctx context.Context, f GrantFilter) ([]GrantView, error) {
	var out []GrantView
	err := s.Do(ctx, ActEmergencyList, "", func(tx *store.Tx, w *Work) error {
		gs, err := tx.Grants(f)
		if err != nil {
			return err
		}
		within, err := reviewWindow(tx)
		if err != nil {
			return err
		}
		users, err := tx.Users()
		if err != nil {
			return err
		}
		byID := map[string]store.User{}
		for _, u := range users {
			byID[u.ID] = u
		}
		now := s.clinic.now()
		overdue := 0
		for _, g := range gs {
			v := GrantView{Grant: g, Holder: byID[g.UserID].DisplayName, HolderLogin: byID[g.UserID].Username,
				State: emergency.StateAt(g, now), TimeLeft: emergency.TimeLeft(g, now), Overdue: emergency.ReviewOverdue(g, now, within)}
			if p, err := tx.Patient(g.PatientID); err == nil {
				v.Patient = p.Name + " (MRN " + p.MRN + ")"
			}
			if g.Review != nil {
				v.Reviewer = byID[g.Review.ReviewerID].DisplayName
			}
			if v.Overdue {
				overdue++
			}
			out = append(out, v)
		}
		w.Detail = fmt.Sprintf("emergency grants listed: %d (%d overdue for review)", len(out), overdue)
		return nil
	})
	return out, err
}

// ReviewQueue counts what waits for a security officer: unreviewed grants,
// and how many of them are overdue. It reads no patient data.
type ReviewQueue struct{ Pending, Overdue int }

// EmergencyReviewQueue is the count on the officer's home screen.
func (s *Session) EmergencyReviewQueue(ctx context.Context) (ReviewQueue, error) {
	var q ReviewQueue
	err := s.Do(ctx, ActEmergencyList, "", func(tx *store.Tx, w *Work) error {
		gs, err := tx.Grants(store.GrantFilter{Unreviewed: true})
		if err != nil {
			return err
		}
		within, err := reviewWindow(tx)
		if err != nil {
			return err
		}
		for _, g := range gs {
			q.Pending++
			if emergency.ReviewOverdue(g, s.clinic.now(), within) {
				q.Overdue++
			}
		}
		w.Detail = fmt.Sprintf("emergency review queue: %d pending, %d overdue", q.Pending, q.Overdue)
		return nil
	})
	return q, err
}

func reviewWindow(tx *store.Tx) (time.Duration, error) {
	h, err := intSetting(tx, SettingEmergencyReviewHours, int(emergency.DefaultReviewWithin/time.Hour))
	return time.Duration(h) * time.Hour, err
}

// RunningGrant is this session's grant to a patient's chart while it runs
// (for the banner with the time left). It reads no database: Do notes
// each grant it lets work through.
func (s *Session) RunningGrant(patientID string) (store.Grant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[patientID]
	if !ok || !g.ActiveAt(s.clinic.now()) {
		return store.Grant{}, false
	}
	return g, true
}

func (s *Session) noteGrant(g store.Grant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grants == nil {
		s.grants = map[string]store.Grant{}
	}
	s.grants[g.PatientID] = g
}

// MayUseEmergencyAccess tells whether the clinic lets this person use
// break-glass (SettingEmergencyRoles), for screens that offer it.
func (s *Session) MayUseEmergencyAccess(ctx context.Context) bool { return s.emergencyRole(ctx) }

// emergencyRole: may this person use break-glass (the clinic's setting)?
func (s *Session) emergencyRole(ctx context.Context) bool {
	ok := false
	s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		ok = s.mayBreakGlass(tx)
		return nil
	})
	return ok
}

func (s *Session) mayBreakGlass(tx *store.Tx) bool {
	if s.readOnly {
		return false
	}
	v, err := tx.Setting(SettingEmergencyRoles, RoleClinician)
	if err != nil {
		return false
	}
	for _, r := range strings.Split(v, ",") {
		if s.user.HasRole(strings.TrimSpace(r)) {
			return true
		}
	}
	return false
}

// closeLapsedGrants records the end of this workstation's grants whose time
// ran out, as the workstation's own work (user "system"), each with its
// grant id. Access already stopped at expiry (restricted compares the
// clock); this puts the stop in the chain, as DICOM 110128 in an export.
func (c *Clinic) closeLapsedGrants(ctx context.Context) (int, error) {
	n := 0
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		gs, err := tx.LapsedGrants(c.now())
		if err != nil {
			return err
		}
		for _, g := range gs {
			if _, err := tx.EndGrant(g.ID, g.Expires, store.GrantExpired); err != nil {
				return err
			}
			if _, err := tx.Audit(audit.Event{User: SystemUser, Action: string(ActEmergencyEnd), Patient: g.PatientID,
				Outcome: audit.OutcomeSuccess, Grant: g.ID, Detail: "emergency access expired"}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// grantSweep is how often the workstation looks for expired grants to
// record as stopped. Access itself stops on the second (restricted compares
// the clock); this only bounds how late the stop reaches the chain.
const grantSweep = 30 * time.Second

// RunGrantExpiry is the background job that records the stop of this
// workstation's grants whose time ran out (JobEmergency).
func (c *Clinic) RunGrantExpiry(ctx context.Context, events func(Event)) error {
	t := time.NewTicker(grantSweep)
	defer t.Stop()
	for {
		if n, err := c.closeLapsedGrants(ctx); err != nil && ctx.Err() == nil {
			events(Event{At: time.Now(), Job: JobEmergency, Text: "could not record expired emergency access: " + err.Error(), Failed: true})
		} else if n > 0 {
			events(Event{At: time.Now(), Job: JobEmergency, Text: fmt.Sprintf("%d emergency grant(s) expired and were closed", n)})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
