package store

import (
	"errors"
	"fmt"
)

// The errors a person opening a workstation can meet. Each says what is wrong
// and what to do; none contains a key, a path of a temp file, or patient data.
var (
	ErrNoDatabase = errors.New("there is no Ward database in this data folder: " +
		"check the --data folder (or WARD_DATA), or create a clinic with `ward init`")
	ErrKeyMissing = errors.New("the OS keyring has no database key for this data folder: " +
		"open it with the emergency kit (`ward --data DIR --kit FILE check`, then `ward --data DIR --kit FILE recover` " +
		"to put the key back in the keyring)")
	ErrWrongKey = errors.New("the key does not open this database: it is the wrong key, " +
		"or the database file is damaged; try the emergency kit, or restore from a backup")
	ErrPlaintext = errors.New("the database file is a plain, unencrypted SQLite file; " +
		"Ward only opens encrypted databases: move it away and restore the clinic from a backup or a peer")
	ErrForeignFile = errors.New("the database file is not a Ward database (not an encrypted SQLite file of Ward); " +
		"check the --data folder")
	ErrDatabaseExists = errors.New("this data folder already holds a Ward database; " +
		"choose another --data folder, or use the existing clinic")
	ErrWrongRecoveryCode = errors.New("the recovery code does not open this emergency kit: " +
		"check the code on the printed kit (letters and digits, dashes optional) and that the kit file belongs to this clinic")
)

// KeyringUnavailableError means the OS keyring could not be asked at all:
// no Secret Service on the session bus, or the keyring is locked.
type KeyringUnavailableError struct{ Cause error }

func (e *KeyringUnavailableError) Error() string {
	return fmt.Sprintf("the OS keyring is unavailable or locked (%v): sign in to the desktop session "+
		"and unlock its keyring (GNOME Keyring or KWallet must be running), then try again; "+
		"if the keyring is lost, open the database with the emergency kit (`ward --data DIR --kit FILE check`)", e.Cause)
}

func (e *KeyringUnavailableError) Unwrap() error { return e.Cause }

// ErrKeyringUnavailable matches any KeyringUnavailableError with errors.Is.
var ErrKeyringUnavailable = errors.New("keyring unavailable")

func (e *KeyringUnavailableError) Is(target error) bool { return target == ErrKeyringUnavailable }
