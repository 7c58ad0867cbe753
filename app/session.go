package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"ward/store"
	"ward/store/audit"
)

// Session is one signed-in person on this workstation. It locks itself when
// idle (see autolock.go); while locked, Do refuses all record work.
type Session struct {
	clinic   *Clinic
	user     store.User
	signedIn time.Time
	method   string // how it was opened: "password", "password+totp"

	mu           sync.Mutex
	lastActivity time.Time     // wall clock of the last input
	idle         time.Duration // this person's idle timeout (shortest of their roles)
	lockOnBlur   bool          // the clinic locks sessions when the window loses focus
	locked       bool
	ended        bool
	grants       map[string]store.Grant // patient id → the newest grant this session used (for banners)

	// An emergency-kit session (kit.go): no account, read-only, and every
	// entry names the person at the keyboard.
	readOnly  bool
	kitPerson string
}

// ErrLocked is returned for work asked of a locked session.
var ErrLocked = errors.New("this session is locked: unlock it with your PIN or password")

// ErrSignedOut is returned for work asked of a session that has ended.
var ErrSignedOut = errors.New("this session has ended: sign in again")

// openSession starts a session for a person who has just proved who they
// are. The sign-in itself is audited by the caller.
func (c *Clinic) openSession(ctx context.Context, u store.User, method string) (*Session, error) {
	s := &Session{clinic: c, user: u, signedIn: c.now(), lastActivity: c.now(), method: method}
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if s.idle, err = IdleTimeout(tx, u.Roles); err != nil {
			return err
		}
		v, err := tx.Setting(SettingLockOnFocusLoss, settingDefault(SettingLockOnFocusLoss))
		s.lockOnBlur = v == "1"
		return err
	})
	return s, err
}

// LockOnFocusLoss tells whether the window should lock this session when it
// loses focus or is minimised (an administrator's setting, read at sign-in).
func (s *Session) LockOnFocusLoss() bool { return s.lockOnBlur }

// User is the signed-in person.
func (s *Session) User() store.User { return s.user }

// Clinic is the workstation the session is on.
func (s *Session) Clinic() *Clinic { return s.clinic }

// Work describes an operation for the audit entry; the work function may
// fill in what it learns (a new patient's id, a count).
type Work struct {
	Patient string
	Detail  string
	Grant   string // the emergency grant the work ran under, if any
}

// Do is the one door to clinic records: it checks the person's permission
// for act, runs fn in one transaction, and appends the audit entry to the
// chain in that same transaction — so no record is read or written without a
// permission check and an entry, and no entry exists for work that did not
// commit. A denied attempt or a failed one is audited on its own. Work done
// under an emergency grant carries the grant's id in its entry.
func (s *Session) Do(ctx context.Context, act Action, patient string, fn func(tx *store.Tx, w *Work) error) error {
	if err := s.active(ctx); err != nil {
		return err
	}
	grantOnly, err := s.gate(ctx, act, patient)
	if err != nil {
		return err
	}
	w := &Work{Patient: patient}
	var denied *DeniedError
	err = s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		if denied = s.restricted(tx, w, act, patient, grantOnly); denied != nil {
			return denied
		}
		if err := fn(tx, w); err != nil {
			return err
		}
		_, err := tx.Audit(audit.Event{User: s.user.ID, Action: string(act), Patient: w.Patient,
			Outcome: audit.OutcomeSuccess, Detail: s.detail(w.Detail), Grant: w.Grant})
		return err
	})
	var refused *DeniedError // the work's own refusal, e.g. someone else's draft note
	switch {
	case denied != nil:
		s.record(ctx, act, patient, audit.OutcomeDenied, denied.auditDetail())
	case errors.As(err, &refused):
		s.record(ctx, act, w.Patient, audit.OutcomeDenied, "refused: "+refused.Reason)
	case err != nil && !errors.Is(err, context.Canceled):
		s.record(ctx, act, w.Patient, audit.OutcomeFailure, failureDetail(err))
	}
	return err
}

// chartActions open or change the chart; a restricted patient's chart is
// open only to the clinicians named for it, or under an emergency grant.
var chartActions = map[Action]bool{ActChartRead: true, ActEncounterWrite: true, ActNoteWrite: true, ActNoteSign: true,
	ActNoteAmend: true, ActAllergyWrite: true, ActMedicationWrite: true, ActProblemWrite: true}

// restricted refuses chart work the person may not do: a restricted
// patient's chart for anyone not named for it, and — when grantOnly — a
// chart their roles do not open at all. A running emergency grant of this
// person for this patient lets the work through and is noted in w.
func (s *Session) restricted(tx *store.Tx, w *Work, act Action, patient string, grantOnly bool) *DeniedError {
	if !chartActions[act] || patient == "" || s.readOnly {
		return nil // the emergency kit reads every chart (kit.go); writes never reach here
	}
	if !grantOnly {
		r, err := tx.PatientRestricted(patient)
		if err != nil || !r {
			return nil // a missing patient is the work's own error to report
		}
		if ok, err := tx.MayOpenRestricted(patient, s.user.ID); err == nil && ok {
			return nil
		}
	}
	if g, err := tx.ActiveGrant(s.user.ID, patient, s.clinic.now()); err == nil {
		w.Grant = g.ID
		s.noteGrant(g)
		return nil
	}
	may := s.mayBreakGlass(tx)
	if grantOnly {
		return &DeniedError{Action: act, Roles: s.user.Roles, BreakGlass: may}
	}
	return &DeniedError{Action: act, Roles: s.user.Roles, BreakGlass: may, restrictedChart: true,
		Reason: "this patient's chart is restricted to named clinicians; in an emergency, use emergency access"}
}

// authorize checks the permission table (and that a kit session only
// reads); a refusal is audited as denied.
func (s *Session) authorize(ctx context.Context, act Action, patient string) error {
	_, err := s.gate(ctx, act, patient)
	return err
}

// gate is authorize for Do. Two actions are decided outside the table:
// break-glass by the clinic's emergency roles, and ending one's own grant
// by anyone (the work checks it is theirs). grantOnly: the roles do not
// open this chart, but the person may use emergency access, so a running
// grant decides inside the transaction.
func (s *Session) gate(ctx context.Context, act Action, patient string) (grantOnly bool, err error) {
	if s.readOnly && !kitActions[act] {
		s.record(ctx, act, patient, audit.OutcomeDenied, s.detail("refused: the emergency kit is read-only"))
		return false, &DeniedError{Action: act, Roles: s.user.Roles, Reason: "this workstation was opened with the emergency kit, which only reads records"}
	}
	switch {
	case Allowed(s.user.Roles, act), act == ActEmergencyEnd:
		return false, nil
	case act == ActEmergencyStart && s.emergencyRole(ctx):
		return false, nil
	case act == ActChartRead && patient != "" && s.emergencyRole(ctx):
		return true, nil
	}
	s.record(ctx, act, patient, audit.OutcomeDenied, "role not permitted")
	return false, &DeniedError{Action: act, Roles: s.user.Roles}
}

// record writes an audit entry on its own, for outcomes with no work to
// commit (denied, failed).
func (s *Session) record(ctx context.Context, act Action, patient, outcome, detail string) error {
	return s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Audit(audit.Event{User: s.user.ID, Action: string(act), Patient: patient, Outcome: outcome, Detail: detail})
		return err
	})
}

func (c *Clinic) recordSystem(ctx context.Context, user string, act Action, outcome, detail string) error {
	if user == "" {
		user = SystemUser
	}
	return c.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Audit(audit.Event{User: user, Action: string(act), Outcome: outcome, Detail: detail})
		return err
	})
}

// failureDetail keeps the audit detail free of patient data: it names the
// kind of failure, never the values that caused it.
func failureDetail(err error) string {
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		return "invalid input: " + ve.Field
	case errors.Is(err, store.ErrNotFound):
		return "not found"
	default:
		return "error"
	}
}
