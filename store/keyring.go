package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/zalando/go-keyring"
)

// KeyringService is the service name under which Ward keeps database keys in
// the OS keyring (Secret Service, Keychain, Credential Manager).
const KeyringService = "ward"

// Keyring holds database keys, one per data folder.
type Keyring interface {
	Get(account string) ([]byte, error)
	Set(account string, key []byte) error
	Delete(account string) error
}

// OSKeyring is the operating system's keyring, through go-keyring.
type OSKeyring struct{}

// Get returns the key kept for account, ErrKeyMissing when there is none, or
// ErrKeyringUnavailable when the keyring cannot be asked.
func (OSKeyring) Get(account string) ([]byte, error) {
	if err := sessionBusPresent(); err != nil {
		return nil, err
	}
	s, err := keyring.Get(KeyringService, account)
	if err != nil {
		return nil, keyringError(err)
	}
	key, err := hex.DecodeString(s)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("%w: the keyring entry %q is not a Ward database key", ErrKeyMissing, account)
	}
	return key, nil
}

// Set stores key for account, replacing any earlier one.
func (OSKeyring) Set(account string, key []byte) error {
	if err := sessionBusPresent(); err != nil {
		return err
	}
	if err := keyring.Set(KeyringService, account, hex.EncodeToString(key)); err != nil {
		return keyringError(err)
	}
	return nil
}

// Delete removes the key for account; a missing entry is not an error.
func (OSKeyring) Delete(account string) error {
	if err := sessionBusPresent(); err != nil {
		return err
	}
	if err := keyring.Delete(KeyringService, account); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return keyringError(err)
	}
	return nil
}

// sessionBusPresent stops a keyring call on Linux when there is no session
// bus: godbus would otherwise auto-launch a stray dbus-daemon (and with it a
// keyring daemon) that outlives Ward.
func sessionBusPresent() error {
	if runtime.GOOS != "linux" || os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	return &KeyringUnavailableError{Cause: errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")}
}

// go-keyring's only sentinel is ErrNotFound; anything else means the keyring
// service could not be reached or is locked. The underlying message names the
// D-Bus problem and never contains the secret.
func keyringError(err error) error {
	if errors.Is(err, keyring.ErrNotFound) {
		return ErrKeyMissing
	}
	return &KeyringUnavailableError{Cause: err}
}

// KeyringAccount names the keyring entry of a data folder: its absolute path,
// so an administrator looking at the keyring can tell which folder a key opens.
func KeyringAccount(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("cannot resolve data folder %q: %w", dataDir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return "database " + abs, nil
}

// PendingAccount holds the new key while a rekey is under way, so a crash
// between re-encrypting the database and updating the keyring loses nothing.
func PendingAccount(account string) string { return account + " (rekey pending)" }

// MemoryKeyring is an in-memory Keyring for unit tests only: it lets a test
// simulate an empty or broken keyring without touching the real one.
type MemoryKeyring struct {
	Keys map[string][]byte
	Err  error // when set, every call fails with it (a locked keyring)
}

func (m *MemoryKeyring) Get(account string) ([]byte, error) {
	if m.Err != nil {
		return nil, &KeyringUnavailableError{Cause: m.Err}
	}
	k, ok := m.Keys[account]
	if !ok {
		return nil, ErrKeyMissing
	}
	return append([]byte(nil), k...), nil
}

func (m *MemoryKeyring) Set(account string, key []byte) error {
	if m.Err != nil {
		return &KeyringUnavailableError{Cause: m.Err}
	}
	if m.Keys == nil {
		m.Keys = map[string][]byte{}
	}
	m.Keys[account] = append([]byte(nil), key...)
	return nil
}

func (m *MemoryKeyring) Delete(account string) error {
	if m.Err != nil {
		return &KeyringUnavailableError{Cause: m.Err}
	}
	delete(m.Keys, account)
	return nil
}
