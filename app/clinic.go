// Package app is Ward's core without a screen: a Clinic is an opened
// workstation database, a Session is a signed-in person, and every record
// operation goes through Session.Do — authorize, one transaction, an audit
// entry in that same transaction.
package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"ward/store"
	"ward/store/audit"
	wsync "ward/sync"
)

// Identities recorded in the audit chain for work no signed-in person did.
const (
	SystemUser       = "system"        // ward init/check at the workstation itself
	EmergencyKitUser = "emergency-kit" // the database was opened with the recovery code
)

// Setting keys.
const (
	SettingClinicName = "clinic.name"
	SettingDemo       = "clinic.demo"
)

// Clinic is one opened workstation database.
type Clinic struct {
	db      *store.DB
	keyring store.Keyring
	account string
	name    string
	viaKit  bool
	clock   Clock // nil = the wall clock

	replicaOnce sync.Once // the replica's segment layer (replica.go)
	repl        *wsync.Replica
}

// InitOptions describe a new clinic.
type InitOptions struct {
	Dir           string
	ClinicName    string
	NodeName      string // this workstation's name; default the host name
	AdminUsername string
	AdminName     string
	AdminPassword string
	Keyring       store.Keyring
}

// Init creates a clinic in an empty data folder: a random database key in
// the keyring, the encrypted database, the first administrator, and the
// emergency kit. It returns the recovery code, which exists nowhere else:
// the caller shows it once.
func Init(ctx context.Context, o InitOptions) (*Clinic, string, error) {
	if strings.TrimSpace(o.ClinicName) == "" {
		return nil, "", errors.New("give the clinic a name (--clinic)")
	}
	if strings.TrimSpace(o.AdminUsername) == "" {
		return nil, "", errors.New("name the first administrator (--admin)")
	}
	if err := CheckNewPassword(o.AdminPassword, o.AdminUsername, o.ClinicName); err != nil {
		return nil, "", err
	}
	if store.Exists(o.Dir) {
		return nil, "", store.ErrDatabaseExists
	}
	if o.NodeName == "" {
		o.NodeName, _ = os.Hostname()
	}
	account, err := store.KeyringAccount(o.Dir)
	if err != nil {
		return nil, "", err
	}
	key, err := store.NewKey()
	if err != nil {
		return nil, "", err
	}
	defer wipe(key)
	// Keyring first: if it is unavailable, nothing has been written yet.
	if err := o.Keyring.Set(account, key); err != nil {
		return nil, "", err
	}
	db, err := store.Create(ctx, o.Dir, key, o.NodeName)
	if err != nil {
		o.Keyring.Delete(account)
		return nil, "", err
	}
	c := &Clinic{db: db, keyring: o.Keyring, account: account, name: o.ClinicName}
	code, err := store.NewRecoveryCode()
	if err != nil {
		c.Close()
		return nil, "", err
	}
	kit, err := store.SealKit(key, code, o.ClinicName, db.Self().ID)
	if err != nil {
		c.Close()
		return nil, "", err
	}
	if err := store.WriteKitFile(c.KitPath(), kit); err != nil {
		c.Close()
		return nil, "", fmt.Errorf("cannot write the emergency kit: %w", err)
	}
	hash, err := HashPassword(o.AdminPassword)
	if err != nil {
		c.Close()
		return nil, "", err
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetSetting(SettingClinicName, o.ClinicName); err != nil {
			return err
		}
		admin, err := tx.AddUser(store.User{Username: o.AdminUsername, DisplayName: firstNonEmpty(o.AdminName, o.AdminUsername),
			PasswordHash: hash, Roles: []string{RoleAdmin, RoleSecurity}})
		if err != nil {
			return err
		}
		_, err = tx.Audit(audit.Event{User: admin.ID, Action: string(ActClinicInit), Outcome: audit.OutcomeSuccess,
			Detail: "clinic created on node " + db.Self().ID})
		return err
	})
	if err != nil {
		c.Close()
		return nil, "", err
	}
	return c, code, nil
}

// Open opens the clinic in dir with the database key from the keyring.
func Open(ctx context.Context, dir string, kr store.Keyring) (*Clinic, error) {
	if err := store.CheckFile(dir); err != nil {
		return nil, err
	}
	account, err := store.KeyringAccount(dir)
	if err != nil {
		return nil, err
	}
	key, err := kr.Get(account)
	if errors.Is(err, store.ErrKeyMissing) {
		// A rekey that stopped half-way keeps the new key aside.
		if c, perr := openPending(ctx, dir, kr, account); perr == nil {
			return c, nil
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	defer wipe(key)
	db, err := store.Open(ctx, dir, key)
	if errors.Is(err, store.ErrWrongKey) {
		if c, perr := openPending(ctx, dir, kr, account); perr == nil {
			return c, nil
		}
	}
	if err != nil {
		return nil, err
	}
	c := &Clinic{db: db, keyring: kr, account: account}
	c.abandonPendingRekey()
	return c, c.loadName(ctx)
}

// OpenWithKit opens the clinic with the emergency kit and its recovery code,
// for when the keyring entry (or the whole keyring) is gone.
func OpenWithKit(ctx context.Context, dir, kitPath, code string, kr store.Keyring) (*Clinic, error) {
	return openWithKit(ctx, dir, kitPath, code, kr, "database opened with the emergency kit")
}

func openWithKit(ctx context.Context, dir, kitPath, code string, kr store.Keyring, detail string) (*Clinic, error) {
	if err := store.CheckFile(dir); err != nil {
		return nil, err
	}
	kit, err := store.ReadKitFile(kitPath)
	if err != nil {
		return nil, err
	}
	key, err := kit.Open(code)
	if err != nil {
		return nil, err
	}
	defer wipe(key)
	db, err := store.Open(ctx, dir, key)
	if errors.Is(err, store.ErrWrongKey) {
		return nil, errors.New("the emergency kit opened, but its key does not open this database: " +
			"the kit belongs to another clinic or workstation, or is older than the last key rotation (`ward rekey` makes a new kit)")
	}
	if err != nil {
		return nil, err
	}
	account, _ := store.KeyringAccount(dir)
	c := &Clinic{db: db, keyring: kr, account: account, viaKit: true}
	if err := c.loadName(ctx); err != nil {
		c.Close()
		return nil, err
	}
	err = db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Audit(audit.Event{User: EmergencyKitUser, Action: string(ActKitOpen), Outcome: audit.OutcomeSuccess,
			Detail: detail})
		return err
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// RestoreKey puts the key of a clinic opened with the kit back into the
// keyring, so the workstation opens normally again.
func (c *Clinic) RestoreKey(ctx context.Context, kitPath, code string) error {
	kit, err := store.ReadKitFile(kitPath)
	if err != nil {
		return err
	}
	key, err := kit.Open(code)
	if err != nil {
		return err
	}
	defer wipe(key)
	if err := c.keyring.Set(c.account, key); err != nil {
		return err
	}
	return c.db.Update(ctx, func(tx *store.Tx) error {
		_, err := tx.Audit(audit.Event{User: EmergencyKitUser, Action: "clinic.key-restore", Outcome: audit.OutcomeSuccess,
			Detail: "database key put back in the OS keyring from the emergency kit"})
		return err
	})
}

func openPending(ctx context.Context, dir string, kr store.Keyring, account string) (*Clinic, error) {
	key, err := kr.Get(store.PendingAccount(account))
	if err != nil {
		return nil, err
	}
	defer wipe(key)
	db, err := store.Open(ctx, dir, key)
	if err != nil {
		return nil, err
	}
	c := &Clinic{db: db, keyring: kr, account: account}
	// The database already has the new key: finish what the rekey began.
	if err := c.finishRekey(key); err != nil {
		c.Close()
		return nil, err
	}
	return c, c.loadName(ctx)
}

func (c *Clinic) loadName(ctx context.Context) error {
	return c.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		c.name, err = tx.Setting(SettingClinicName, "")
		return err
	})
}

// Close closes the database and wipes the keys it held.
func (c *Clinic) Close() error { return c.db.Close() }

// Name is the clinic's name.
func (c *Clinic) Name() string { return c.name }

// Node is this workstation.
func (c *Clinic) Node() store.Node { return c.db.Self() }

// Dir is the data folder.
func (c *Clinic) Dir() string { return c.db.Dir() }

// KitPath is where the emergency kit of this clinic is kept.
func (c *Clinic) KitPath() string { return filepath.Join(c.db.Dir(), store.KitFileName) }

// OpenedWithKit tells whether the key came from the emergency kit.
func (c *Clinic) OpenedWithKit() bool { return c.viaKit }

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
