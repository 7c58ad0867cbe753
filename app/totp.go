package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"rsc.io/qr"

	"ward/store"
	"ward/store/audit"
)

// TOTP second factor, RFC 6238 with the parameters every authenticator app
// understands: HMAC-SHA-1, 30-second steps, 6 digits. A code is accepted
// one step early or late (phone clocks drift) and only once: the accepted
// step is kept in auth_state.last_totp_step, so a code seen over a shoulder
// cannot be replayed on this workstation.
const (
	totpPeriod    = 30
	totpDigits    = 6
	totpSkew      = 1  // steps either side of now
	totpSecretLen = 20 // 160 bits, RFC 4226 §4's recommendation
	totpIssuer    = "Ward"
)

var (
	// ErrSecondFactorNeeded: the password was right, and this account (or
	// its role) uses a second factor; sign in again with the code
	// (Clinic.SignInWithTOTP).
	ErrSecondFactorNeeded = errors.New("this account needs the 6-digit code from your authenticator app as well as the password")
	// ErrWrongCode: a wrong, expired or already used code.
	ErrWrongCode = errors.New("the code from the authenticator app is not right: codes change every 30 seconds and each works only once; " +
		"check that the phone's clock is right and use the next code")
	// ErrTOTPEnrolmentNeeded: the person's role requires a second factor and
	// they have none yet. They set it up as part of signing in (see
	// BeginTOTPAtSignIn and docs/passwords.md).
	ErrTOTPEnrolmentNeeded = errors.New("your role requires a second factor and you have not set one up yet: " +
		"set it up now with an authenticator app (ward --user USERNAME user totp enroll), or ask the clinic's administrator")
	ErrTOTPAlreadyOn = errors.New("a second factor is already set up for this account: to move it to a new phone, turn it off first (ward user totp disable), then set it up again")
	ErrNoTOTPPending = errors.New("there is no second-factor set-up waiting for a code: start it again")
)

// TOTPEnrollment is what a person needs to add Ward to an authenticator
// app: the key as text (to type in by hand), the otpauth:// URI, and the
// URI as a QR code (PNG). The key is a secret: show it once, never log it.
type TOTPEnrollment struct {
	Secret string // base32, no padding
	URI    string // otpauth://totp/Ward:<user>?secret=…&issuer=Ward&algorithm=SHA1&digits=6&period=30
	QRPNG  []byte
}

// hotp is RFC 4226's HOTP value of key at counter, digits long.
func hotp(key []byte, counter uint64, digits int) string {
	mac := hmac.New(sha1.New, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f // dynamic truncation (RFC 4226 §5.3)
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

// totpStep is the RFC 6238 time step T of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// totpAt is the code for the step of t (RFC 6238 Appendix B checks it).
func totpAt(key []byte, t time.Time, digits int) string {
	return hotp(key, uint64(totpStep(t)), digits)
}

// matchTOTP finds the step, within the skew around now and after the last
// accepted step, whose code is code. Every candidate is compared, in
// constant time, so the answer takes as long whichever step matches.
func matchTOTP(key []byte, code string, now time.Time, last int64) (int64, bool) {
	code = strings.Join(strings.Fields(code), "") // "123 456" as apps show it
	if len(code) != totpDigits {
		return 0, false
	}
	found := int64(0)
	ok := false
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := totpStep(now) + d
		if step < 0 {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(hotp(key, uint64(step), totpDigits)), []byte(code)) == 1 && step > last && !ok {
			found, ok = step, true
		}
	}
	return found, ok
}

// newTOTPSecret makes a random key.
func newTOTPSecret() ([]byte, error) {
	key := make([]byte, totpSecretLen)
	_, err := rand.Read(key)
	return key, err
}

// enrollmentFor builds the URI and QR code for a key.
func enrollmentFor(username string, key []byte) (TOTPEnrollment, error) {
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
	uri := fmt.Sprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
		totpIssuer, url.PathEscape(username), secret, totpIssuer, totpDigits, totpPeriod)
	// Level M (15% damage tolerated) keeps the code small for a ~110-byte URI.
	code, err := qr.Encode(uri, qr.M)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	code.Scale = 8 // ≈400 px: a phone reads it from a screen at arm's length
	return TOTPEnrollment{Secret: secret, URI: uri, QRPNG: code.PNG()}, nil
}

// BeginTOTP starts setting up a second factor for the signed-in person: a
// new key, kept but not yet in force until ConfirmTOTP sees a first code
// from the app (so a mistyped or unscanned key cannot lock them out).
// Audited (ActTOTPEnroll).
func (s *Session) BeginTOTP(ctx context.Context) (TOTPEnrollment, error) {
	if err := s.active(ctx); err != nil {
		return TOTPEnrollment{}, err
	}
	key, err := newTOTPSecret()
	if err != nil {
		return TOTPEnrollment{}, err
	}
	enr, err := enrollmentFor(s.user.Username, key)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	err = s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		cr, err := tx.Credentials(s.user.ID)
		if err != nil {
			return err
		}
		if cr.TOTPEnabled {
			return ErrTOTPAlreadyOn
		}
		if err := tx.SetTOTP(s.user.ID, key, false); err != nil {
			return err
		}
		_, err = tx.Audit(audit.Event{User: s.user.ID, Action: string(ActTOTPEnroll), Outcome: audit.OutcomeSuccess,
			Detail: "second-factor set-up started"})
		return err
	})
	return enr, err
}

// ConfirmTOTP puts the second factor in force once the person types a code
// their app shows for the new key. Audited (ActTOTPEnroll), wrong codes too.
func (s *Session) ConfirmTOTP(ctx context.Context, code string) error {
	if err := s.active(ctx); err != nil {
		return err
	}
	now := s.clinic.now()
	wrong := false
	err := s.clinic.db.Update(ctx, func(tx *store.Tx) error {
		cr, err := tx.Credentials(s.user.ID)
		if err != nil {
			return err
		}
		switch {
		case cr.TOTPEnabled:
			return ErrTOTPAlreadyOn
		case cr.TOTPSecret == nil:
			return ErrNoTOTPPending
		}
		st, err := tx.AuthState(s.user.ID)
		if err != nil {
			return err
		}
		step, ok := matchTOTP(cr.TOTPSecret, code, now, st.LastTOTPStep)
		if !ok {
			wrong = true
			_, err = tx.Audit(audit.Event{User: s.user.ID, Action: string(ActTOTPEnroll), Outcome: audit.OutcomeFailure,
				Detail: "wrong code while setting up the second factor"})
			return err
		}
		st.LastTOTPStep = step
		if err := tx.SaveAuthState(st); err != nil {
			return err
		}
		if err := tx.SetTOTP(s.user.ID, cr.TOTPSecret, true); err != nil {
			return err
		}
		_, err = tx.Audit(audit.Event{User: s.user.ID, Action: string(ActTOTPEnroll), Outcome: audit.OutcomeSuccess,
			Detail: "second factor turned on"})
		return err
	})
	if err == nil && wrong {
		return ErrWrongCode
	}
	return err
}

// DisableTOTP turns the person's second factor off. It asks for the
// password again: an unlocked session left unattended must not be enough to
// weaken the account. If their role requires a second factor, they set one
// up again at their next sign-in. Audited (ActTOTPEnroll).
func (s *Session) DisableTOTP(ctx context.Context, password string) error {
	if err := s.active(ctx); err != nil {
		return err
	}
	return s.reauthenticate(ctx, ActTOTPEnroll, password, func(tx *store.Tx) (string, error) {
		return "second factor turned off", tx.SetTOTP(s.user.ID, nil, false)
	})
}

// ResetTOTP removes another person's second factor (a lost or replaced
// phone): an administrator's or security officer's decision, audited as a
// credential reset. The person sets up a new one after signing in, or at
// their next sign-in if their role requires it.
func (s *Session) ResetTOTP(ctx context.Context, username string) error {
	return s.Do(ctx, ActPasswordReset, "", func(tx *store.Tx, w *Work) error {
		u, err := s.userByName(tx, username)
		if err != nil {
			return err
		}
		w.Detail = "removed the second factor of user " + u.ID
		return tx.SetTOTP(u.ID, nil, false)
	})
}
