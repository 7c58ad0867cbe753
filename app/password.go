package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"ward/assets/passwords"
	"ward/store"
)

// kdf is one argon2id cost. Hashes are stored as PHC strings carrying their
// own cost, so a cost can rise later without breaking old hashes.
type kdf struct {
	time, memory uint32 // memory in KiB
	threads      uint8
}

// passwordKDF: argon2id t=5, m=128 MiB, p=2: ≈0.3 s on this 2-core machine
// (BenchmarkSignIn). The password is what stands between a stolen replica
// hash and the account, so a sign-in costs at least 0.2 s (issue 3's floor);
// the design's t=3, m=64 MiB, p=4 took only 0.10 s here. Two lanes: more
// than the cores only adds memory traffic.
var passwordKDF = kdf{time: 5, memory: 128 * 1024, threads: 2}

const (
	hashKeyLen = 32
	// maxKDFMemory bounds what a stored hash may ask for (KiB), so a damaged
	// row cannot make a sign-in allocate gigabytes.
	maxKDFMemory = 1 << 20

	// NIST SP 800-63B §5.1.1.2: at least 8 characters, accept at least 64.
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// ErrBadCredentials is the one answer to a wrong username or password, so
// nobody can learn which usernames exist.
var ErrBadCredentials = errors.New("the username or password is not right")

// Why a new password is refused. Each is a sentence a person can act on; the
// GUI may match them with errors.Is.
var (
	ErrCommonPassword = errors.New("this password is on the list of commonly used passwords, which attackers try first: " +
		"choose another (a few unrelated words make a password that is strong and easy to remember)")
	ErrCommonPasswordVariant = errors.New("this password is a commonly used password with digits or symbols added, " +
		"which attackers try early: choose another (a few unrelated words make a password that is strong and easy to remember)")
	ErrPatternPassword = errors.New("this password is a repeated or sequential pattern (like aaaaaaaa, abcabcabc or 12345678), " +
		"which attackers try first: choose another")
	ErrPasswordIsUsername = errors.New("a password cannot be your username (or your username with digits or symbols added): choose another")
	ErrPasswordIsClinic   = errors.New("a password cannot be the clinic's name, a word of it, or Ward's name (even with digits or symbols added): choose another")
)

// CheckPasswordRules applies NIST SP 800-63B to a new password: its length,
// and that it is not a commonly used password or a trivial pattern. There
// are no composition rules (no "one digit, one symbol"): they make
// passwords harder to remember, not harder to guess.
func CheckPasswordRules(pw string) error {
	pw = normalizeSecret(pw)
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return fmt.Errorf("a password needs at least %d characters (this one has %d); a few words are easy to remember", MinPasswordLen, n)
	case n > MaxPasswordLen:
		return fmt.Errorf("a password can have at most %d characters", MaxPasswordLen)
	}
	lower := strings.ToLower(pw)
	if passwords.Common(lower) {
		return ErrCommonPassword
	}
	// The variants people make of a common password: "Password1!", "pass word 2024".
	if flat := compact(lower); (flat != lower && passwords.Common(flat)) || (trimDecoration(flat) != flat && passwords.Common(trimDecoration(flat))) {
		return ErrCommonPasswordVariant
	}
	if repetitive(lower) || sequential(lower) {
		return ErrPatternPassword
	}
	return nil
}

// CheckNewPassword is CheckPasswordRules plus the words of this context that
// an attacker tries first (NIST: "context-specific words"): the person's
// username, the clinic's name and each longer word of it, and "ward" — with
// digits or symbols added too. Compared without case, spaces or punctuation.
func CheckNewPassword(pw, username, clinicName string) error {
	if err := CheckPasswordRules(pw); err != nil {
		return err
	}
	flat := compact(strings.ToLower(normalizeSecret(pw)))
	core := trimDecoration(flat)
	is := func(word string) bool {
		w := compact(strings.ToLower(normalizeSecret(word)))
		return w != "" && (flat == w || core == w)
	}
	if is(username) {
		return ErrPasswordIsUsername
	}
	if is(clinicName) || is("ward") {
		return ErrPasswordIsClinic
	}
	for _, w := range strings.FieldsFunc(clinicName, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if utf8.RuneCountInString(w) >= 4 && is(w) {
			return ErrPasswordIsClinic
		}
	}
	return nil
}

// normalizeSecret applies NFKC (NIST SP 800-63B §5.1.1.2) so that the same
// typed password hashes the same whichever keyboard or OS composed its
// accents.
func normalizeSecret(s string) string { return norm.NFKC.String(s) }

// compact keeps only letters and digits: "Riverside Clinic!" → "riversideclinic".
func compact(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// trimDecoration takes the digits off both ends: "2024sunshine1990" →
// "sunshine", the way people "strengthen" a common word.
func trimDecoration(s string) string {
	return strings.TrimFunc(s, unicode.IsDigit)
}

// repetitive: one short unit (up to 4 characters) over and over —
// "aaaaaaaa", "abababab", "12341234".
func repetitive(s string) bool {
	r := []rune(s)
	for unit := 1; unit <= 4 && unit*2 <= len(r); unit++ {
		same := true
		for i := unit; i < len(r) && same; i++ {
			same = r[i] == r[i%unit]
		}
		if same {
			return true
		}
	}
	return false
}

// sequential: each character one up (or one down) from the one before —
// "abcdefgh", "98765432".
func sequential(s string) bool {
	r := []rune(s)
	if len(r) < 3 {
		return false
	}
	step := r[1] - r[0]
	if step != 1 && step != -1 {
		return false
	}
	for i := 2; i < len(r); i++ {
		if r[i]-r[i-1] != step {
			return false
		}
	}
	return true
}

// HashPassword returns the PHC string of pw.
func HashPassword(pw string) (string, error) {
	return hashSecret(normalizeSecret(pw), passwordKDF)
}

// VerifyPassword tells whether pw matches the PHC string, in constant time.
func VerifyPassword(phc, pw string) (bool, error) {
	return verifySecret(phc, normalizeSecret(pw))
}

func hashSecret(secret string, k kdf) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(secret), salt, k.time, k.memory, k.threads, hashKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, k.memory, k.time, k.threads,
		enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

// verifySecret checks secret against a PHC string with the cost the string
// names (password and PIN hashes differ in cost).
func verifySecret(phc, secret string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("the stored password hash is not argon2id")
	}
	var version int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("the stored password hash has an unknown argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > maxKDFMemory || t == 0 || p == 0 {
		return false, errors.New("the stored password hash has unreadable parameters")
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, errors.New("the stored password hash is damaged")
	}
	got := argon2.IDKey([]byte(secret), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// ChangePassword changes the signed-in person's own password. The current
// password is asked again (a wrong one counts against the lockout), the new
// one must pass CheckNewPassword. Audited (ActPasswordSet), never a
// password. An administrator's reset of someone else's password is
// useradmin's.
func (s *Session) ChangePassword(ctx context.Context, current, next string) error {
	if err := s.active(ctx); err != nil {
		return err
	}
	if err := CheckNewPassword(next, s.user.Username, s.clinic.Name()); err != nil {
		return err
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	return s.reauthenticate(ctx, ActPasswordSet, current, func(tx *store.Tx) (string, error) {
		return "password changed by its owner", tx.SetPasswordHash(s.user.ID, hash, s.clinic.now())
	})
}
