package app

import (
	"context"
	"errors"
	"os"

	"ward/store"
	"ward/store/audit"
)

// Rekey rotates the database key: the database is re-encrypted under a new
// random key, the keyring gets the new key and the emergency kit is made anew
// with a new recovery code, which is returned to be shown once. Afterwards
// the old key and the old kit no longer open the database.
//
// Crash safety: the new key waits in the keyring's "rekey pending" entry and
// the new kit in ward.kit.pending until the database is re-encrypted; Open
// finishes or abandons a rekey that was cut short.
func (s *Session) Rekey(ctx context.Context) (string, error) {
	c := s.clinic
	if err := s.authorize(ctx, ActClinicRekey, ""); err != nil {
		return "", err
	}
	newKey, err := store.NewKey()
	if err != nil {
		return "", err
	}
	defer wipe(newKey)
	code, err := store.NewRecoveryCode()
	if err != nil {
		return "", err
	}
	kit, err := store.SealKit(newKey, code, c.name, c.db.Self().ID)
	if err != nil {
		return "", err
	}
	if err := c.keyring.Set(store.PendingAccount(c.account), newKey); err != nil {
		return "", err
	}
	if err := store.WriteKitFile(c.pendingKitPath(), kit); err != nil {
		c.abandonPendingRekey()
		return "", err
	}
	if err := c.db.Rekey(ctx, newKey); err != nil {
		c.abandonPendingRekey()
		s.record(ctx, ActClinicRekey, "", audit.OutcomeFailure, "rekey failed; the old key still opens the database")
		return "", err
	}
	if err := c.finishRekey(newKey); err != nil {
		return "", err
	}
	return code, s.record(ctx, ActClinicRekey, "", audit.OutcomeSuccess, "database key rotated; new emergency kit written")
}

func (c *Clinic) pendingKitPath() string { return c.KitPath() + ".pending" }

// finishRekey makes the new key and kit the current ones.
func (c *Clinic) finishRekey(newKey []byte) error {
	if err := c.keyring.Set(c.account, newKey); err != nil {
		return err
	}
	if _, err := os.Stat(c.pendingKitPath()); err == nil {
		if err := os.Rename(c.pendingKitPath(), c.KitPath()); err != nil {
			return err
		}
	}
	return c.keyring.Delete(store.PendingAccount(c.account))
}

// abandonPendingRekey clears what a rekey that never re-encrypted left behind.
func (c *Clinic) abandonPendingRekey() {
	if c.keyring == nil {
		return
	}
	if err := c.keyring.Delete(store.PendingAccount(c.account)); err != nil && !errors.Is(err, store.ErrKeyMissing) {
		return
	}
	os.Remove(c.pendingKitPath())
}
