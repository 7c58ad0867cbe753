package app

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"ward/store"
)

// The emergency kit opened read-only (issue 6): when the keyring or the
// workstation is lost, someone with the recovery code opens this replica to
// read charts. There is no account to sign in to, so the person at the
// keyboard names themselves; every view is audited in this workstation's
// chain as "emergency-kit" with that name in the detail, and replicates
// when the workstation next runs normally. Nothing can be written. The kit
// reads restricted charts too: whoever holds the recovery code holds the
// whole database already, and in a total outage the patient in front of
// the clinic may be one of them; each view is in the chain with the name.

// kitActions are all a kit session may do: find patients, read their
// charts and the schedule.
var kitActions = map[Action]bool{ActPatientRead: true, ActPatientSearch: true, ActAppointmentRead: true, ActChartRead: true}

// ErrKitPersonMissing: the person at the keyboard must say who they are.
var ErrKitPersonMissing = errors.New("type your full name: every chart you open with the emergency kit is recorded under it")

// OpenEmergencyKit opens the clinic in dir with the emergency kit and its
// recovery code, read-only, for person. It changes nothing in the keyring
// and nothing on a wrong code. Close the clinic when done.
func OpenEmergencyKit(ctx context.Context, dir, kitPath, code, person string, kr store.Keyring) (*Clinic, *Session, error) {
	person = strings.Join(strings.Fields(person), " ")
	if person == "" || utf8.RuneCountInString(person) > 100 {
		return nil, nil, ErrKitPersonMissing
	}
	c, err := openWithKit(ctx, dir, kitPath, code, kr, "opened read-only with the emergency kit by "+person)
	if err != nil {
		return nil, nil, err
	}
	s := &Session{clinic: c, signedIn: c.now(), lastActivity: c.now(), method: "emergency-kit",
		idle: defaultIdleMinutes * 60e9, readOnly: true, kitPerson: person,
		user: store.User{ID: EmergencyKitUser, Username: EmergencyKitUser, DisplayName: person + " (emergency kit)",
			Roles: []string{RoleFrontDesk, RoleClinician}}}
	return c, s, nil
}

// ReadOnly tells whether the session only reads (the emergency kit).
func (s *Session) ReadOnly() bool { return s.readOnly }

// KitPerson is the name the person at the keyboard gave when opening the
// emergency kit ("" for any other session).
func (s *Session) KitPerson() string { return s.kitPerson }

// Allowed tells whether the permission table lets the session's roles
// perform act and, in a kit session, whether it is one of the kit's reads.
// Screens use it to offer only what the door would not refuse (emergency
// access is decided apart, see gate).
func (s *Session) Allowed(act Action) bool {
	return (!s.readOnly || kitActions[act]) && Allowed(s.user.Roles, act)
}

// detail is the audit detail of work: in a kit session it names the person
// at the keyboard, since the chain's user is the kit.
func (s *Session) detail(d string) string {
	if !s.readOnly {
		return d
	}
	if d == "" {
		return "emergency kit, read by " + s.kitPerson
	}
	return "emergency kit, read by " + s.kitPerson + "; " + d
}
