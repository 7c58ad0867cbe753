// Package keyringcheck proves that the test harness (scripts/with-keyring.sh)
// gives the tests a real, unlocked Secret Service: it stores, reads and
// deletes a secret through go-keyring, the same library Ward uses.
package keyringcheck

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"github.com/zalando/go-keyring"
)

const service = "ward-harness-check"

func randomAccount(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("crypto/rand: %v", err)
	}
	return "acct-" + hex.EncodeToString(b)
}

// requireSessionBus stops the test before go-keyring touches D-Bus when no
// session bus is set. Without DBUS_SESSION_BUS_ADDRESS, godbus falls back to
// `dbus-launch --autolaunch` (package dbus-x11), which starts a dbus-daemon
// that outlives the test and bus-activates a gnome-keyring-daemon on the
// user's real ~/.local/share/keyrings.
func requireSessionBus(t *testing.T) {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Fatal("DBUS_SESSION_BUS_ADDRESS is not set: no D-Bus session bus, so no Secret Service. " +
			"Run the tests through the harness: `make test`, or `scripts/with-keyring.sh go test ./...`.")
	}
}

// unavailable explains a keyring error that is not ErrNotFound.
func unavailable(t *testing.T, op string, err error) {
	t.Helper()
	t.Fatalf("keyring.%s failed: %v\n"+
		"The Secret Service (org.freedesktop.secrets) is unavailable or locked on this session bus. "+
		"Run the tests through the harness, which starts and unlocks a private gnome-keyring: "+
		"`make test`, or `scripts/with-keyring.sh go test ./...` (needs: apt-get install dbus dbus-x11 gnome-keyring).",
		op, err)
}

func TestSetGetDelete(t *testing.T) {
	requireSessionBus(t)
	account := randomAccount(t)
	secret := "s3cret-" + randomAccount(t) + "-ünïcødé"

	if err := keyring.Set(service, account, secret); err != nil {
		unavailable(t, "Set", err)
	}
	deleted := false
	t.Cleanup(func() {
		if !deleted {
			_ = keyring.Delete(service, account)
		}
	})

	got, err := keyring.Get(service, account)
	if err != nil {
		unavailable(t, "Get", err)
	}
	if got != secret {
		t.Fatalf("keyring.Get returned %q, want %q", got, secret)
	}

	// Overwrite keeps one item with the new value.
	if err := keyring.Set(service, account, secret+"-2"); err != nil {
		unavailable(t, "Set (overwrite)", err)
	}
	if got, err := keyring.Get(service, account); err != nil || got != secret+"-2" {
		t.Fatalf("after overwrite keyring.Get = %q, %v; want %q, nil", got, err, secret+"-2")
	}

	if err := keyring.Delete(service, account); err != nil {
		unavailable(t, "Delete", err)
	}
	deleted = true

	if _, err := keyring.Get(service, account); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("keyring.Get after Delete: got error %v, want keyring.ErrNotFound", err)
	}
}

func TestMissingIsErrNotFound(t *testing.T) {
	requireSessionBus(t)
	account := randomAccount(t)
	_, err := keyring.Get(service, account)
	if err == nil {
		t.Fatalf("keyring.Get(%q, %q) on a missing account returned no error", service, account)
	}
	if !errors.Is(err, keyring.ErrNotFound) {
		unavailable(t, "Get (missing account; want ErrNotFound)", err)
	}
	if err := keyring.Delete(service, account); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("keyring.Delete on a missing account: got %v, want keyring.ErrNotFound", err)
	}
}
