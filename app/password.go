package app

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password hashing: argon2id t=3, m=64 MiB, p=4 (≈0.3–0.8 s on a clinic
// desktop), stored as a PHC string so the cost can rise later without
// breaking old hashes.
const (
	pwTime    = 3
	pwMemory  = 64 * 1024
	pwThreads = 4
	pwKeyLen  = 32

	// NIST SP 800-63B: at least 8 characters, accept at least 64.
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// ErrBadCredentials is the one answer to a wrong username or password, so
// nobody can learn which usernames exist.
var ErrBadCredentials = errors.New("the username or password is not right")

// CheckPasswordRules applies the length rules of NIST SP 800-63B (no
// composition rules).
func CheckPasswordRules(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLen:
		return fmt.Errorf("a password needs at least %d characters (this one has %d); a few words are easy to remember", MinPasswordLen, n)
	case n > MaxPasswordLen:
		return fmt.Errorf("a password can have at most %d characters", MaxPasswordLen)
	}
	return nil
}

// HashPassword returns the PHC string of pw.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(pw), salt, pwTime, pwMemory, pwThreads, pwKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, pwMemory, pwTime, pwThreads,
		enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

// VerifyPassword tells whether pw matches the PHC string, in constant time.
func VerifyPassword(phc, pw string) (bool, error) {
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
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, errors.New("the stored password hash has unreadable parameters")
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false, errors.New("the stored password hash is damaged")
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
