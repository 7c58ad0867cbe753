package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRecoveryCode(t *testing.T) {
	code, err := NewRecoveryCode()
	if err != nil {
		t.Fatal(err)
	}
	groups := strings.Split(code, "-")
	if len(groups) != 5 {
		t.Fatalf("code %q is not five groups", code)
	}
	norm, err := NormalizeRecoveryCode(strings.ToLower(strings.ReplaceAll(code, "-", " ")))
	if err != nil || norm != strings.ReplaceAll(code, "-", "") {
		t.Fatalf("normalize(%q) = %q, %v", code, norm, err)
	}
	// Read-aloud slips: O for zero, I or L for one.
	if n, _ := NormalizeRecoveryCode("OIL00-11111-22222-33333-44444"); n != "0110011111222223333344444" {
		t.Fatalf("confusables not folded: %q", n)
	}
	for _, bad := range []string{"", "ABCDE", "ABCDE-FGHJK-MNPQR-STVWX-YZ01U", strings.Repeat("A", 26)} {
		if _, err := NormalizeRecoveryCode(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestKitRoundTripAndTamper(t *testing.T) {
	key, _ := NewKey()
	code, _ := NewRecoveryCode()
	kit, err := SealKit(key, code, "Riverside Clinic", "abcdefghijklmnop")
	if err != nil {
		t.Fatal(err)
	}
	data := kit.Marshal()
	parsed, err := ParseKit(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsed.Open(strings.ToLower(code))
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("open: %v", err)
	}
	other, _ := NewRecoveryCode()
	if _, err := parsed.Open(other); !errors.Is(err, ErrWrongRecoveryCode) {
		t.Fatalf("wrong code: %v", err)
	}
	// Editing any header field breaks the seal (it is associated data).
	edited := bytes.Replace(data, []byte("Riverside Clinic"), []byte("Riverside Clinix"), 1)
	k2, err := ParseKit(bytes.NewReader(edited))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Open(code); !errors.Is(err, ErrWrongRecoveryCode) {
		t.Fatalf("edited kit opened: %v", err)
	}
	if bytes.Contains(data, key) || bytes.Contains(data, []byte(strings.ReplaceAll(code, "-", ""))) {
		t.Fatal("kit file contains the key or the code")
	}
}

func TestParseKitRejects(t *testing.T) {
	key, _ := NewKey()
	code, _ := NewRecoveryCode()
	kit, _ := SealKit(key, code, "C", "n")
	good := string(kit.Marshal())
	cases := map[string]string{
		"empty":          "",
		"other magic":    strings.Replace(good, "ward-kit/v1", "age-encryption.org/v1", 1),
		"newer version":  strings.Replace(good, "ward-kit/v1", "ward-kit/v2", 1),
		"weak argon2":    strings.Replace(good, "m=262144", "m=1024", 1),
		"huge argon2":    strings.Replace(good, "m=262144", "m=99999999", 1),
		"no separator":   strings.Replace(good, "---\n", "", 1),
		"truncated seal": good[:len(good)-10] + "\n",
		"extra line":     good + "more\n",
	}
	for name, in := range cases {
		if _, err := ParseKit(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseKit(f *testing.F) {
	key, _ := NewKey()
	code, _ := NewRecoveryCode()
	kit, _ := SealKit(key, code, "C", "n")
	f.Add(kit.Marshal())
	f.Add([]byte("ward-kit/v1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseKit(bytes.NewReader(data)) // must not panic
	})
}
